"""The measured choice between the bundled fast (tiny) and quality (small) weights."""

import time

import pytest
import torch
from torch import nn

from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.runtime import speed


class Slow(nn.Module):
    """Stands in for MSSNet: the identity, taking ``seconds`` per pass."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        time.sleep(self.seconds)
        return x


def test_pass_seconds_measures_the_model():
    assert 0.05 <= speed.pass_seconds(Slow(0.05), side=32) < 0.5


def test_fast_cpu_keeps_quality_slow_cpu_gets_fast(monkeypatch):
    monkeypatch.delenv(speed.ENV, raising=False)
    # 0.05 s per 192² pass -> 0.2 s per 384² view: within budget (the pass long enough that the few ms of
    # padding and conversion around it on a busy machine do not decide the check)
    quick = speed.choose_preset(Slow(0.05), budget_s=1.0)
    assert quick.preset == "small" and quick.seconds_384 == pytest.approx(0.2, rel=0.5)
    slow = speed.choose_preset(Slow(0.1), budget_s=0.2)  # ~0.4 s per 384² view
    assert slow.preset == "tiny" and slow.seconds_384 > 0.2 and "fast weights" in slow.reason


def test_environment_overrides_the_measurement(monkeypatch):
    monkeypatch.setenv(speed.ENV, "fast")
    choice = speed.choose_preset(Slow(10.0))  # would take 40 s if it were measured
    assert choice.preset == "tiny" and choice.seconds_384 is None
    monkeypatch.setenv(speed.ENV, "quality")
    assert speed.choose_preset(Slow(10.0)).preset == "small"
    monkeypatch.setenv(speed.ENV, "huge")
    with pytest.raises(ValueError, match="ZS_MODEL"):
        speed.choose_preset(Slow(0.0))


def test_pass_seconds_refuses_bad_sides():
    with pytest.raises(ValueError, match="multiple of 16"):
        speed.pass_seconds(MSSNet(MSSNetConfig(4, 4, 4)), side=20)


@pytest.mark.parametrize(("env", "preset"), [("fast", "tiny"), ("quality", "small")])
def test_registry_offers_both_bundled_weights_and_names_the_choice(tmp_path, monkeypatch, tiny_weights, env, preset):
    import shutil

    from mssnet.model import weights
    from mssnet.serve import registry as weights_registry

    bundled = {p: tmp_path / f"mssnet-{p}-zoom.safetensors" for p in ("small", "tiny")}
    for path in bundled.values():
        shutil.copy(tiny_weights, path)
    monkeypatch.setattr(weights_registry, "BUNDLED_WEIGHTS", bundled)
    monkeypatch.setattr(weights_registry, "list_weights", lambda: [])
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setenv(speed.ENV, env)
    registry = weights_registry.ModelRegistry()
    assert registry.labels == ["MSSNet-small · quality (bundled)", "MSSNet-tiny · fast (bundled)"]
    assert registry.choice.preset == preset and registry.default_label.startswith(f"MSSNet-{preset}")
    assert registry.paths[registry.default_label] == bundled[preset]
    other = next(label for label in registry.labels if label != registry.default_label)
    assert registry.why(None) == registry.why(registry.default_label) == registry.choice.reason
    assert registry.why(other) is None  # only the default says why it is in use


def test_the_default_weights_say_why_they_are_in_use():
    from pathlib import Path

    from explain import report

    note = report.weights_note(Path("mssnet-tiny-zoom.safetensors"), "a 384² view would take about 3.1 s")
    assert "mssnet-tiny-zoom.safetensors" in note and "In use by default: a 384² view" in note
    assert "In use" not in report.weights_note(Path("x.pt")) and report.weights_note(None) == ""


def test_choice_names_the_backend_it_measured(monkeypatch):
    monkeypatch.delenv(speed.ENV, raising=False)
    choice = speed.choose_preset(Slow(0.01), budget_s=10.0, side=32, backend="torch")
    assert choice.backend.startswith("PyTorch ") and choice.backend in choice.reason


def test_pass_seconds_runs_on_the_backend_it_is_given(monkeypatch):
    pytest.importorskip("openvino")
    from mssnet.runtime import backend, compiled

    monkeypatch.delenv(speed.ENV, raising=False)
    monkeypatch.delenv(backend.ENV, raising=False)
    monkeypatch.setattr(compiled, "_CACHE", compiled.CompiledCache())
    model = MSSNet(MSSNetConfig(4, 4, 4)).eval()
    speed.pass_seconds(model, side=32, repeats=1, backend="torch")
    assert compiled.compiled_cache().compiles == 0
    speed.pass_seconds(model, side=32, repeats=1)  # the default: OpenVINO where installed
    assert compiled.compiled_cache().compiles == 1
    assert speed.choose_preset(model, side=32).backend.startswith("OpenVINO ")
