"""MSSNet fidelity: parameter names/shapes and outputs of the original implementation."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mssnet.model.network import PRESETS, MSSNet, MSSNetConfig

# Reference data of the original MSSNet (parameter manifest and outputs for closed-form
# weights); see tests/data/README.md.
DATA = Path(__file__).resolve().parents[1] / "data"
KEYS = DATA / "mssnet_official_keys.json"
FIXTURE = DATA / "mssnet_reference.npz"


def closed_form_state_dict(keys: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The fixture's weights: PReLU 0.25; else 0.05·sin(0.37·arange(n) + 0.11·(i+1))."""
    sd = {}
    for i, (name, shape) in enumerate(keys.items()):
        n = int(np.prod(shape))
        values = np.full(1, 0.25) if n == 1 else 0.05 * np.sin(0.37 * np.arange(n) + 0.11 * (i + 1))
        sd[name] = torch.from_numpy(values.astype(np.float32).reshape(shape))
    return sd


@pytest.mark.parametrize("preset", ["small", "base", "large"])
def test_state_dict_matches_original(preset):
    ref = json.loads(KEYS.read_text())["configs"][preset]
    model = MSSNet(MSSNetConfig.preset(preset))
    sd = model.state_dict()
    assert list(sd) == list(ref["keys"])
    for name, shape in ref["keys"].items():
        assert list(sd[name].shape) == shape, name
    assert sum(p.numel() for p in model.parameters()) == ref["num_params"]


def test_outputs_match_original():
    keys = json.loads(KEYS.read_text())["configs"]["small"]["keys"]
    ref = np.load(FIXTURE)
    model = MSSNet(MSSNetConfig.preset("small")).eval()
    model.load_state_dict(closed_form_state_dict(keys))
    with torch.no_grad():
        outs = model.forward_stages(torch.from_numpy(ref["input"]))
        final = model(torch.from_numpy(ref["input"]))
    assert len(outs) == 6
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out.numpy(), ref[f"small_out{i}"], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(final, outs[-1])


def test_shapes_and_presets():
    model = MSSNet(MSSNetConfig(wf=4, scale=4, vscale=4)).eval()
    with torch.no_grad():
        outs = model.forward_stages(torch.rand(2, 3, 32, 48))
    assert outs[0].shape == (2, 3, 16, 24)
    assert all(o.shape == (2, 3, 32, 48) for o in outs[1:])
    assert MSSNetConfig.preset("base") == PRESETS["base"] == MSSNetConfig(54, 42, 42)
    assert PRESETS["large"].name == "large" and MSSNetConfig(4, 4, 4).name is None


def test_prelu_is_shared():
    model = MSSNet(MSSNetConfig(wf=4, scale=4, vscale=4))
    prelus = {id(m) for m in model.modules() if isinstance(m, torch.nn.PReLU)}
    assert len(prelus) == 1


def test_zero_heads_give_identity():
    """Every head predicts a correction added to the input: zero heads -> the input."""
    model = MSSNet(MSSNetConfig(wf=4, scale=4, vscale=4)).eval()
    for name in ("tail1_1.tail", "tail2_1.tail", "tail2_2.tail", "tail3_1", "tail3_2", "tail3_3"):
        model.get_submodule(name).weight.data.zero_()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        outs = model.forward_stages(x)
    torch.testing.assert_close(outs[-1], x)
    half = torch.nn.functional.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)
    torch.testing.assert_close(outs[0], half)


@pytest.mark.parametrize("shape", [(1, 3, 30, 32), (1, 1, 32, 32), (3, 32, 32)])
def test_bad_input(shape):
    model = MSSNet(MSSNetConfig(wf=4, scale=4, vscale=4))
    with pytest.raises(ValueError, match="MSSNet"):
        model(torch.rand(*shape))


def test_unknown_preset():
    with pytest.raises(ValueError, match="huge"):
        MSSNetConfig.preset("huge")


def test_tiny_preset_costs_at_most_a_fifth_of_small():
    """The live-view preset: same architecture, narrower, ≤ 1/5 of small's multiply-adds."""
    from torch.utils.flop_counter import FlopCounterMode

    def flops(config: MSSNetConfig) -> int:
        model = MSSNet(config).eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.rand(1, 3, 64, 64))
        return counter.get_total_flops()

    assert PRESETS["tiny"].name == "tiny"
    assert flops(PRESETS["tiny"]) <= flops(PRESETS["small"]) / 5
