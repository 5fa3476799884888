"""Tests for mssnet.model.weights: formats, preset inference, bad files, safety."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from mssnet.model import weights
from mssnet.model.network import PRESETS, MSSNet, MSSNetConfig
from mssnet.model.weights import (
    CheckpointError,
    checkpoint_filter,
    infer_config,
    list_weights,
    load_model,
    read_state_dict,
    save_safetensors,
)

TINY = MSSNetConfig(4, 4, 4)  # a custom width: fast to build and run
OFFICIAL_KEYS = Path(__file__).resolve().parents[1] / "data" / "mssnet_official_keys.json"


@pytest.fixture(scope="module")
def tiny_model() -> MSSNet:
    torch.manual_seed(0)
    return MSSNet(TINY).eval()


def _meta_state_dict(config: MSSNetConfig) -> dict[str, torch.Tensor]:
    """Shapes only, no memory: enough for config inference and key checks."""
    with torch.device("meta"):
        return MSSNet(config).state_dict()


def _same_weights(a: MSSNet, b: MSSNet) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------- formats that load


def test_safetensors_fp16_round_trip(tmp_path):
    torch.manual_seed(0)
    model = MSSNet(PRESETS["small"]).eval()
    path = save_safetensors(model, tmp_path / "small.safetensors", metadata={"zoom": "2-4"})
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        assert f.get_tensor("shallow_feat1.0.weight").dtype == torch.float16
    assert meta["preset"] == "small" and (meta["wf"], meta["scale"], meta["vscale"]) == ("20", "40", "40")
    assert meta["zoom"] == "2-4"

    loaded = load_model(path)
    assert loaded.config == PRESETS["small"] and not loaded.training
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=0)


def test_save_fp32_keeps_values_and_shared_prelu(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    assert _same_weights(load_model(path), tiny_model)
    # the state dict of a model also saves (shared PReLU tensors are cloned)
    path2 = save_safetensors(tiny_model.state_dict(), tmp_path / "tiny2.safetensors", dtype=torch.float32)
    assert _same_weights(load_model(path2), tiny_model)
    assert not list(tmp_path.glob("*.tmp"))


def test_original_checkpoint_with_module_prefix(tmp_path, tiny_model):
    state = {"module." + k: v for k, v in tiny_model.state_dict().items()}
    path = tmp_path / "model_03000E.pt"
    torch.save({"epoch": 3000, "model_state_dict": state, "optimizer_state_dict": {"lr": 1e-6}}, path)
    assert _same_weights(load_model(path), tiny_model)


def test_bare_state_dict(tmp_path, tiny_model):
    path = tmp_path / "bare.pth"
    torch.save(tiny_model.state_dict(), path)
    model = load_model(path)
    assert model.config == TINY and _same_weights(model, tiny_model)


@pytest.mark.parametrize("entry", ["state_dict", "model", "params"])
def test_training_checkpoint_entries(tmp_path, tiny_model, entry):
    path = tmp_path / "ckpt.pt"
    torch.save({entry: tiny_model.state_dict(), "step": 12, "config": {"wf": 4}}, path)
    assert _same_weights(load_model(path), tiny_model)


def test_training_checkpoint_prefers_ema(tmp_path, tiny_model):
    path = tmp_path / "last.pt"
    other = {k: torch.zeros_like(v) for k, v in tiny_model.state_dict().items()}
    torch.save({"model": other, "ema": tiny_model.state_dict(), "step": 3}, path)
    assert _same_weights(load_model(path), tiny_model)


def test_compiled_model_prefix(tmp_path, tiny_model):
    path = tmp_path / "compiled.pt"
    torch.save({"model": {"_orig_mod." + k: v for k, v in tiny_model.state_dict().items()}}, path)
    assert _same_weights(load_model(path), tiny_model)


# ------------------------------------------------------------------- preset inference


@pytest.mark.parametrize("name", ["small", "base", "large"])
def test_infer_preset_from_shapes(name):
    config = infer_config(_meta_state_dict(PRESETS[name]))
    assert config == PRESETS[name] and config.name == name


def test_official_key_manifest_matches_filter():
    if not OFFICIAL_KEYS.exists():
        pytest.skip("official key manifest not available")
    for name, entry in json.loads(OFFICIAL_KEYS.read_text())["configs"].items():
        config = MSSNetConfig(entry["wf"], entry["scale"], entry["vscale"])
        meta = {k: torch.empty(shape, device="meta") for k, shape in entry["keys"].items()}
        assert infer_config(meta) == config == PRESETS[name]
        assert list(checkpoint_filter(meta, config)) == list(_meta_state_dict(config))


def test_custom_width_is_accepted(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors")
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["preset"] == "custom"
    assert load_model(path).config == TINY


def test_preset_that_matches(tmp_path):
    torch.manual_seed(0)
    path = save_safetensors(MSSNet(PRESETS["small"]), tmp_path / "small.safetensors")
    assert load_model(path, preset="small").config == PRESETS["small"]


def test_preset_that_disagrees(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors")
    with pytest.raises(CheckpointError, match=r"tiny\.safetensors.*preset 'small' was requested"):
        load_model(path, preset="small")


def test_unknown_preset(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors")
    with pytest.raises(ValueError, match="unknown MSSNet preset"):
        load_model(path, preset="huge")


# ------------------------------------------------------------------------- bad files


def _one_line(exc: pytest.ExceptionInfo, path: Path) -> str:
    text = str(exc.value)
    assert "\n" not in text and str(path) in text
    assert exc.value.__cause__ is None  # no chained traceback to print
    assert exc.value.__context__ is None or exc.value.__suppress_context__
    return text


def test_text_file_renamed_pt(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights\n")
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert "not a checkpoint" in _one_line(exc, path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_model(path)


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_truncated_file(tmp_path, tiny_model, fmt):
    whole = tmp_path / f"whole.{fmt}"
    if fmt == "pt":
        torch.save({"model_state_dict": tiny_model.state_dict()}, whole)
    else:
        save_safetensors(tiny_model, whole)
    data = whole.read_bytes()
    path = tmp_path / f"half.{fmt}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert "truncated or corrupt" in _one_line(exc, path)


def test_empty_state_dict(tmp_path):
    path = tmp_path / "empty.pt"
    torch.save({"model_state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="empty state dict"):
        load_model(path)


def test_not_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_model(path)


def test_other_architecture(tmp_path):
    path = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert "not an MSSNet state dict" in _one_line(exc, path)


def test_missing_extra_and_misshaped_keys(tmp_path, tiny_model):
    good = tiny_model.state_dict()
    key = "E2_1.csff_enc2.weight"
    cases = {
        "missing": ({k: v for k, v in good.items() if k != key}, f"missing key '{key}'"),
        "extra": ({**good, "extra.weight": torch.zeros(1)}, "unexpected key 'extra.weight'"),
        "shape": ({**good, key: torch.zeros(3, 8, 1, 1)}, rf"shape mismatch for '{key}': expected \[8, 8, 1, 1\]"),
    }
    for name, (state, message) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save({"model_state_dict": state}, path)
        with pytest.raises(CheckpointError, match=message) as exc:
            load_model(path)
        _one_line(exc, path)
        with pytest.raises(CheckpointError, match=message):
            checkpoint_filter(state, TINY)


def test_prelu_values_must_agree(tiny_model):
    state = dict(tiny_model.state_dict())
    key = "D3_3.decoder_level1.1.body.1.weight"
    state[key] = torch.tensor([0.5])
    with pytest.raises(CheckpointError, match=f"PReLU weights differ.*{key}"):
        checkpoint_filter(state, TINY)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        load_model("/nonexistent/weights.safetensors")


def test_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="folder"):
        load_model(tmp_path)


# ---------------------------------------------------------------------------- safety


class _Exploit:
    """Unpickling this would create a marker file."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_arbitrary_objects_are_refused_not_run(tmp_path, container):
    exploit = _Exploit()
    exploit.marker = str(tmp_path / "PWNED")
    path = tmp_path / "evil.pt"
    if container == "torch.save":
        torch.save({"model_state_dict": {"w": torch.zeros(1)}, "payload": exploit}, path)
    else:
        path.write_bytes(pickle.dumps({"payload": exploit}, protocol=2))
    with pytest.raises(CheckpointError, match="refused to load") as exc:
        load_model(path)
    _one_line(exc, path)
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------ default, device, list


def test_bundled_default_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", tmp_path / "mssnet-small-zoom.safetensors")
    with pytest.raises(FileNotFoundError, match="no bundled weights.*--weights"):
        load_model()


def test_bundled_default_present(tmp_path, monkeypatch, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "default.safetensors", dtype=torch.float32)
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", path)
    assert _same_weights(load_model(), tiny_model)


def test_device_argument(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors")
    assert next(load_model(path).parameters()).device.type == "cpu"
    assert next(load_model(path, device="cpu").parameters()).device.type == "cpu"
    assert next(load_model(path, device=torch.device("meta")).parameters()).is_meta
    with pytest.raises(ValueError, match="unknown device"):
        load_model(path, device="warp-drive")
    with pytest.raises(TypeError, match="device"):
        load_model(path, device=3.5)


def test_checkpoint_filter_is_pure(tiny_model):
    state = {"module." + k: v.half() for k, v in tiny_model.state_dict().items()}
    before = dict(state)
    out = checkpoint_filter(state, TINY)
    assert state == before
    assert list(out) == list(tiny_model.state_dict())
    assert all(v.dtype == torch.float32 for v in out.values())
    with pytest.raises(CheckpointError, match="empty state dict"):
        checkpoint_filter({}, TINY)
    with pytest.raises(TypeError, match="MSSNetConfig"):
        checkpoint_filter(state, "small")


def test_read_state_dict_returns_metadata(tmp_path, tiny_model):
    path = save_safetensors(tiny_model, tmp_path / "tiny.safetensors", metadata={"note": "hi"})
    state, meta = read_state_dict(path)
    assert meta["note"] == "hi" and set(state) == set(tiny_model.state_dict())


def test_save_checks_its_input(tmp_path, tiny_model):
    with pytest.raises(ValueError, match="dtype"):
        save_safetensors(tiny_model, tmp_path / "x.safetensors", dtype=torch.int8)
    with pytest.raises(TypeError, match="metadata"):
        save_safetensors(tiny_model, tmp_path / "x.safetensors", metadata={"step": 3})
    with pytest.raises(TypeError, match="MSSNet or a state dict"):
        save_safetensors([1, 2], tmp_path / "x.safetensors")
    with pytest.raises(CheckpointError, match="not an MSSNet"):
        save_safetensors({"w": torch.zeros(1)}, tmp_path / "x.safetensors")


def test_list_weights(tmp_path):
    for name in ["b.safetensors", "a.pt", "c.PTH", "readme.md", "d.onnx"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.pt").mkdir()
    assert [p.name for p in list_weights(tmp_path)] == ["a.pt", "b.safetensors", "c.PTH"]
    assert list_weights(tmp_path / "missing") == []
    assert all(isinstance(p, Path) for p in list_weights())


@pytest.mark.parametrize("preset", ["small", "tiny"])
def test_bundled_files_record_how_they_were_made_and_the_model_card_agrees(preset):
    """Each bundled file's metadata says how many steps and crops trained its last run and on what;
    the model card quotes the same steps and crops for that file."""
    _, meta = weights.read_state_dict(weights.BUNDLED_WEIGHTS[preset])
    assert meta["preset"] == preset and meta["device"] and float(meta["minutes"]) > 0
    steps, crops = int(meta["steps"]), int(meta["crops"])
    assert crops % steps == 0 and crops // steps >= 1  # crops = steps × batch
    card = (weights.WEIGHTS_DIR / "README.md").read_text()
    assert f"+ {steps} (128², batch {crops // steps}" in card and f"{crops:,} crops" in card
