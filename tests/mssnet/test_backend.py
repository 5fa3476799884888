"""Tests for mssnet.runtime backend, graph and compiled: OpenVINO parity with PyTorch, the fallback, the cache."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pytest
import torch
from fakes import Identity

from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.runtime import backend, compiled, graph
from mssnet.runtime.compiled import CompiledCache
from mssnet.runtime.inference import sharpen, sharpen_tensor, sharpen_tensor_stages


def random_model(seed: int = 0, config: MSSNetConfig = MSSNetConfig(4, 4, 4)) -> MSSNet:
    torch.manual_seed(seed)
    return MSSNet(config).eval()


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """A private compiled-model cache and no memory of earlier warnings in every test."""
    monkeypatch.setattr(compiled, "_CACHE", CompiledCache())
    monkeypatch.setattr(backend, "_warned", set())
    monkeypatch.delenv(backend.ENV, raising=False)


def rand(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def needs_openvino():
    pytest.importorskip("openvino")


# --------------------------------------------------------------------------- parity with PyTorch


@pytest.mark.parametrize("shape", [(1, 3, 48, 80), (1, 3, 17, 33), (2, 3, 32, 16), (1, 3, 1, 5)])
def test_fp32_matches_pytorch(shape):
    needs_openvino()
    model = random_model()
    x = rand(*shape)
    ov = sharpen_tensor(model, x, precision="fp32", backend="openvino")
    pt = sharpen_tensor(model, x, precision="fp32", backend="torch")
    assert ov.shape == pt.shape == shape
    assert (ov - pt).abs().max().item() < 1e-4
    assert compiled.compiled_cache().compiles == 1  # it really ran in OpenVINO


def test_stages_match_pytorch():
    needs_openvino()
    model = random_model(config=MSSNetConfig.preset("tiny"))
    x = rand(1, 3, 40, 56)
    out_ov, stages_ov = sharpen_tensor_stages(model, x, precision="fp32", backend="openvino")
    out_pt, stages_pt = sharpen_tensor_stages(model, x, precision="fp32", backend="torch")
    assert len(stages_ov) == 6
    for a, b in zip(stages_ov, stages_pt, strict=True):
        assert a.shape == b.shape == (1, 3, 40, 56)
        assert (a - b).abs().max().item() < 1e-4
    torch.testing.assert_close(out_ov, stages_ov[-1])
    # the raw stage outputs too: the first at half resolution, before the bicubic upsampling
    xp = rand(1, 3, 32, 48)
    raw = compiled.run_openvino(model, xp, "fp32", stages=True)
    with torch.no_grad():
        ref = model.forward_stages(xp)
    assert [tuple(r.shape) for r in raw] == [(1, 3, 16, 24)] + [(1, 3, 32, 48)] * 5
    for a, b in zip(raw, ref, strict=True):
        assert (a - b).abs().max().item() < 1e-4


def test_original_checkpoint_fidelity_through_openvino():
    """The fixture of the original implementation (tests/mssnet/test_model.py) through the OpenVINO graph."""
    needs_openvino()
    from test_model import FIXTURE, KEYS, closed_form_state_dict

    keys = json.loads(KEYS.read_text())["configs"]["small"]["keys"]
    ref = np.load(FIXTURE)
    model = MSSNet(MSSNetConfig.preset("small")).eval()
    model.load_state_dict(closed_form_state_dict(keys))
    x = torch.from_numpy(ref["input"])
    outs = compiled.run_openvino(model, x, "fp32", stages=True)
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out.numpy(), ref[f"small_out{i}"], atol=1e-4, rtol=1e-4)
    final = compiled.run_openvino(model, x, "fp32", stages=False)
    np.testing.assert_allclose(final[0].numpy(), ref["small_out5"], atol=1e-4, rtol=1e-4)


def test_bf16_no_further_from_fp32_than_autocast():
    needs_openvino()
    model = random_model(config=MSSNetConfig.preset("tiny"))
    x = rand(1, 3, 48, 64)
    fp32 = sharpen_tensor(model, x, precision="fp32", backend="torch")
    ov = sharpen_tensor(model, x, precision="bf16", backend="openvino")
    autocast = sharpen_tensor(model, x, precision="bf16", backend="torch")
    ov_err, autocast_err = (ov - fp32).abs().mean().item(), (autocast - fp32).abs().mean().item()
    assert ov_err <= 1.5 * autocast_err + 1e-6, (ov_err, autocast_err)


def test_numpy_edge_and_tiles_run_in_openvino():
    needs_openvino()
    model = random_model()
    image = (rand(1, 3, 70, 90)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    ov = sharpen(model, image, precision="fp32", tile=64, overlap=16, backend="openvino")
    pt = sharpen(model, image, precision="fp32", tile=64, overlap=16, backend="torch")
    assert ov.dtype == np.uint8 and ov.shape == image.shape
    assert np.abs(ov.astype(int) - pt.astype(int)).max() <= 1
    assert len(compiled.compiled_cache()) >= 1


# --------------------------------------------------------------------------- choosing and falling back


def test_missing_openvino_falls_back_and_says_so_once(monkeypatch, caplog):
    """Runs without openvino too: an import that fails is the same as a missing package."""
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    model = random_model()
    x = rand(1, 3, 20, 24)
    with caplog.at_level(logging.WARNING, logger="mssnet.runtime.backend"):
        assert backend.resolve_backend(model, "auto") == "torch"
        y = sharpen_tensor(model, x, precision="fp32", backend="openvino")
        sharpen_tensor(model, x, precision="fp32")
    warnings = [r for r in caplog.records if r.name == "mssnet.runtime.backend"]
    assert len(warnings) == 1 and "OpenVINO is not available" in warnings[0].getMessage()
    torch.testing.assert_close(y, sharpen_tensor(model, x, precision="fp32", backend="torch"))
    assert compiled.backend_name(model, "fp32").startswith("PyTorch ")
    assert len(compiled.compiled_cache()) == 0


def test_compile_failure_runs_in_pytorch(monkeypatch, caplog):
    needs_openvino()
    model = random_model()
    calls = []

    def failing(model, stages, precision, threads, shape=None):
        calls.append((stages, precision))
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(compiled, "_compile", failing)
    x = rand(1, 3, 32, 32)
    with caplog.at_level(logging.WARNING, logger="mssnet.runtime.backend"):
        y1 = sharpen_tensor(model, x, precision="fp32", backend="openvino")
        y2 = sharpen_tensor(model, rand(1, 3, 48, 16), precision="fp32", backend="openvino")
    torch.testing.assert_close(y1, sharpen_tensor(model, x, precision="fp32", backend="torch"))
    assert y2.shape == (1, 3, 48, 16)
    assert calls == [(False, "fp32")]  # a failed key is not compiled again
    warnings = [r.getMessage() for r in caplog.records if r.name == "mssnet.runtime.backend"]
    assert len(warnings) == 1 and "could not compile" in warnings[0] and "unsupported operation" in warnings[0]
    assert "OpenVINO failed: 1" in compiled.backend_name(model, "fp32", "openvino")


def test_a_shape_that_fails_to_run_falls_back_alone(monkeypatch, caplog):
    needs_openvino()
    model = random_model()
    real = compiled._Compiled.__call__

    def picky(self, x):
        if x.shape[-1] == 48:
            raise RuntimeError("no kernel for this shape")
        return real(self, x)

    monkeypatch.setattr(compiled._Compiled, "__call__", picky)
    bad, good = rand(1, 3, 32, 48), rand(1, 3, 32, 32)
    with caplog.at_level(logging.WARNING, logger="mssnet.runtime.backend"):
        for _ in range(2):
            y = sharpen_tensor(model, bad, precision="fp32", backend="openvino")
    torch.testing.assert_close(y, sharpen_tensor(model, bad, precision="fp32", backend="torch"))
    assert compiled.run_openvino(model, bad, "fp32", False) is None
    assert compiled.run_openvino(model, good, "fp32", False) is not None  # other shapes still run
    warnings = [r.getMessage() for r in caplog.records if r.name == "mssnet.runtime.backend"]
    assert len(warnings) == 1 and "(1, 3, 32, 48)" in warnings[0]


def test_what_runs_where(monkeypatch):
    model = random_model()
    assert backend.resolve_backend(model, "torch") == "torch"
    assert backend.resolve_backend(Identity(), "auto") == "torch"  # not an MSSNet
    assert compiled.backend_name(model, "fp32", "torch") == f"PyTorch {torch.__version__.split('+')[0]} · fp32"
    assert compiled.backend_name(model, "bf16", "torch").endswith("· bf16 autocast")
    with backend.using("torch"):
        assert backend.default_backend() == "torch" and backend.resolve_backend(model) == "torch"
    assert backend.default_backend() == "auto"
    monkeypatch.setenv(backend.ENV, "torch")
    assert backend.resolve_backend(model) == "torch"
    monkeypatch.setenv(backend.ENV, "fast")
    with pytest.raises(ValueError, match="ZS_BACKEND"):
        backend.default_backend()


def test_openvino_is_chosen_when_installed():
    needs_openvino()
    import openvino

    model = random_model()
    assert backend.resolve_backend(model, "auto") == backend.resolve_backend(model, "openvino") == "openvino"
    assert compiled.backend_name(model, "fp32") == f"OpenVINO {openvino.__version__.split('-')[0]} · fp32"


@pytest.mark.parametrize(("value", "error"), [("onnx", ValueError), (1, TypeError), ("Torch", ValueError)])
def test_bad_backend(value, error):
    with pytest.raises(error, match="backend"):
        sharpen_tensor(random_model(), rand(1, 3, 16, 16), backend=value)
    with pytest.raises(error, match="backend"):
        with backend.using(value):
            pass


def test_graph_refuses_other_modules_and_bad_shapes():
    needs_openvino()
    with pytest.raises(TypeError, match="MSSNet"):
        graph.openvino_graph(Identity(), None, False)
    with pytest.raises(ValueError, match="multiples of 16"):
        graph.openvino_graph(random_model(), (1, 3, 20, 32), False)


def test_graph_is_derived_from_the_module():
    """A layer changed in the module is in the graph: a final head with a bias gives OpenVINO the
    same output as PyTorch (a second, hand-written graph would miss it)."""
    needs_openvino()
    model = random_model()
    head = torch.nn.Conv2d(4, 3, 3, padding=1, bias=True)
    torch.nn.init.uniform_(head.bias, 0.2, 0.4)
    model.tail3_3 = head
    x = rand(1, 3, 32, 48)
    ov = sharpen_tensor(model, x, precision="fp32", backend="openvino")
    pt = sharpen_tensor(model, x, precision="fp32", backend="torch")
    assert (ov - pt).abs().max().item() < 1e-4 and compiled.compiled_cache().compiles == 1


def test_graph_names_a_layer_it_cannot_translate():
    needs_openvino()
    model = random_model()
    model.fusion23 = torch.nn.Sequential(model.fusion23, torch.nn.Tanh())
    with pytest.raises(NotImplementedError, match="Tanh"):
        graph.openvino_graph(model, None, False)


# --------------------------------------------------------------------------- the cache


def test_different_weights_get_different_compiled_models():
    needs_openvino()
    a, b = random_model(0), random_model(1)
    x = rand(1, 3, 32, 32)
    ya = sharpen_tensor(a, x, precision="fp32", backend="openvino")
    yb = sharpen_tensor(b, x, precision="fp32", backend="openvino")
    assert len(compiled.compiled_cache()) == 2
    assert (ya - yb).abs().max().item() > 1e-3
    # the same weights in another module object share one compiled model
    c = random_model(0)
    sharpen_tensor(c, x, precision="fp32", backend="openvino")
    assert len(compiled.compiled_cache()) == 2
    # new weights loaded into a model in place: a new graph, never the stale one
    a.load_state_dict(b.state_dict())
    torch.testing.assert_close(sharpen_tensor(a, x, precision="fp32", backend="openvino"), yb)
    assert compiled.compiled_cache().compiles == 2


def test_weights_key_follows_in_place_changes():
    """The remembered key is the hash of the current weights: an in-place change gives a new one."""
    import copy

    from mssnet.model.keys import weights_key

    model = random_model()
    first = weights_key(model)
    assert weights_key(model) == first == weights_key(copy.deepcopy(model))
    with torch.no_grad():
        model.tail3_3.weight.add_(1e-3)
    assert weights_key(model) != first
    assert weights_key(model) == weights_key(copy.deepcopy(model))


def test_cache_is_an_lru_bounded_in_count():
    cache = CompiledCache(maxsize=2)

    class Fake:
        outputs = ()

        def create_infer_request(self):
            return None

    made = []

    def make(name):
        def build():
            made.append(name)
            return Fake()
        return build

    for key in ("a", "b", "a", "c", "b"):
        assert cache.get((key,), make(key)) is not None
    # a, b built; a used again (most recent); c evicts b; b rebuilt, evicting a
    assert made == ["a", "b", "c", "b"]
    assert cache.keys() == [("c",), ("b",)] and len(cache) == 2
    with pytest.raises(ValueError, match="maxsize"):
        CompiledCache(0)


def test_shapes_share_one_compilation_and_the_cache_stays_bounded(monkeypatch):
    needs_openvino()
    monkeypatch.setattr(compiled, "_CACHE", CompiledCache(maxsize=2))
    model = random_model()
    for side in (16, 32, 48, 17):  # one dynamic-shape graph serves every shape
        sharpen_tensor(model, rand(1, 3, side, side), precision="fp32", backend="openvino")
    cache = compiled.compiled_cache()
    assert cache.compiles == 1
    sharpen_tensor_stages(model, rand(1, 3, 16, 16), precision="fp32", backend="openvino")  # stages: a 2nd graph
    sharpen_tensor(model, rand(1, 3, 16, 16), precision="bf16", backend="openvino")  # bf16: a 3rd, evicts fp32
    assert cache.compiles == 3 and len(cache) == 2
    assert [(k[1], k[2]) for k in cache.keys()] == [(True, "fp32"), (False, "bf16")]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_pyramid_tiles_unchanged(precision):
    """The pyramid's tiles call sharpen_tensor: OpenVINO gives PyTorch's tiles (fp32: to 1e-4; bf16:
    no further from PyTorch fp32 than PyTorch's own bf16 autocast, plus a little)."""
    needs_openvino()
    from mssnet.pyramid.pyramid import ZoomPyramid
    from mssnet.pyramid.tiles import TileId

    model = random_model()
    image = rand(1, 3, 40, 56)[0].permute(1, 2, 0).numpy()  # (40, 56, 3)
    tiles = {}
    for name, chosen, prec in (("ov", "openvino", precision), ("pt", "torch", precision), ("ref", "torch", "fp32")):
        with backend.using(chosen):
            pyramid = ZoomPyramid(image, model, tile=64, margin=16, precision=prec)
            tiles[name] = np.concatenate([pyramid.get_tile(TileId(1, r, c)).ravel()
                                          for r in range(pyramid.grid(1)[0]) for c in range(pyramid.grid(1)[1])])
    assert compiled.compiled_cache().compiles == 1
    if precision == "fp32":
        assert np.abs(tiles["ov"] - tiles["pt"]).max() < 1e-4
    else:
        ov_err = np.abs(tiles["ov"] - tiles["ref"]).mean()
        assert ov_err <= 1.5 * np.abs(tiles["pt"] - tiles["ref"]).mean() + 1e-6


def test_subclasses_run_in_pytorch():
    class Passthrough(MSSNet):
        def forward(self, x):
            return super().forward(x) * 0 + x  # a changed forward the OpenVINO graph would not know

    model = Passthrough(MSSNetConfig(4, 4, 4)).eval()
    assert backend.resolve_backend(model, "auto") == "torch"
    x = rand(1, 3, 16, 16)
    torch.testing.assert_close(sharpen_tensor(model, x, backend="auto"), x)


def test_two_threads_share_one_compiled_model():
    """The pyramid's background fill and a view may run passes at once: each gets its own result."""
    needs_openvino()
    import threading

    model = random_model()
    inputs = [rand(1, 3, 32, 48, seed=s) for s in range(4)]
    expected = [sharpen_tensor(model, x, precision="fp32", backend="torch") for x in inputs]
    results: dict[int, torch.Tensor] = {}

    def work(i: int) -> None:
        for _ in range(3):
            results[i] = sharpen_tensor(model, inputs[i], precision="fp32", backend="openvino")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert compiled.compiled_cache().compiles == 1
    for i, want in enumerate(expected):
        assert (results[i] - want).abs().max().item() < 1e-4


def test_prepare_compiles_ahead_what_the_passes_use():
    model = random_model()
    assert compiled.prepare(model, "fp32", backend="torch") is False
    assert compiled.compiled_cache().compiles == 0
    if not backend.openvino_available():
        assert compiled.prepare(model, "fp32") is False
        return
    assert compiled.prepare(model, "fp32") is True
    # final output, stages, and in a precision with per-shape graphs the final output of each static side
    expected = 2 + len(compiled.STATIC_SIDES) * ("fp32" in compiled.STATIC_PRECISIONS)
    assert compiled.compiled_cache().compiles == expected
    sharpen_tensor(model, rand(1, 3, 32, 32), precision="fp32")
    sharpen_tensor_stages(model, rand(1, 3, 16, 48), precision="fp32")
    for side in compiled.STATIC_SIDES:
        sharpen_tensor(model, rand(1, 3, side, side), precision="fp32")
    assert compiled.compiled_cache().compiles == expected  # the passes found them compiled


# --------------------------------------------------------------------------- graphs for one shape


@pytest.fixture
def static_fp32(monkeypatch):
    """Per-shape graphs in fp32 too, so that the tests of them run on any CPU (bf16 needs native bf16)."""
    monkeypatch.setattr(compiled, "STATIC_PRECISIONS", ("fp32", "bf16"))


def test_prepare_compiles_the_static_sides_in_their_precisions(static_fp32):
    model = random_model()
    if not backend.openvino_available():
        pytest.skip("OpenVINO is not installed")
    assert compiled.prepare(model, "fp32", stages=False) is True
    dynamic = [k[-1] is None for k in compiled.compiled_cache().keys()]
    assert sorted(dynamic) == [False] * len(compiled.STATIC_SIDES) + [True]


def test_the_hot_shapes_are_the_pyramid_tile_and_the_studio_view():
    from mssnet.pyramid.tiles import DEFAULT_MARGIN, DEFAULT_TILE

    assert DEFAULT_TILE + 2 * DEFAULT_MARGIN in compiled.STATIC_SIDES  # every interior tile's pass
    side = compiled.STATIC_SIDES[0]

    def own(shape, stages=False):  # the graph a bf16 pass of this shape runs in
        return compiled.static_shape(shape, stages, "bf16")

    assert own((1, 3, side, side)) == (1, 3, side, side)
    assert own((1, 3, side, side), stages=True) is None  # the stages: one graph, any shape
    assert own((2, 3, side, side)) is None  # batches
    assert own((1, 3, side, side - 16)) is None  # edge tiles
    assert own((1, 3, side + 16, side + 16)) is None
    assert compiled.STATIC_PRECISIONS == ("bf16",)  # fp32 graphs per shape were no faster (bench/speed.py --dynamic)
    assert compiled.static_shape((1, 3, side, side), stages=False, precision="fp32") is None


def test_a_static_side_runs_in_its_own_graph_and_matches_pytorch(static_fp32):
    needs_openvino()
    model = random_model()
    side = compiled.STATIC_SIDES[0]
    x = rand(1, 3, side, side)
    ov = sharpen_tensor(model, x, precision="fp32", backend="openvino")
    assert (ov - sharpen_tensor(model, x, precision="fp32", backend="torch")).abs().max().item() < 1e-4
    edge = rand(1, 3, side, 176)  # an edge tile: the graph for any shape
    assert (sharpen_tensor(model, edge, precision="fp32", backend="openvino")
            - sharpen_tensor(model, edge, precision="fp32", backend="torch")).abs().max().item() < 1e-4
    assert [k[-1] for k in compiled.compiled_cache().keys()] == [(1, 3, side, side), None]
    # the same shape again, bf16 included: no new compilation for fp32, one per precision
    sharpen_tensor(model, rand(1, 3, side, side, seed=2), precision="fp32", backend="openvino")
    assert compiled.compiled_cache().compiles == 2


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_graph_depends_only_on_the_shape(static_fp32, precision):
    """A tile's pixels must not depend on what ran before it: a static-side pass gives the same
    result whether it runs first, after other shapes, or after its graph was evicted."""
    needs_openvino()
    model = random_model()
    side = compiled.STATIC_SIDES[0]
    x = rand(1, 3, side, side)
    first = sharpen_tensor(model, x, precision=precision, backend="openvino")
    sharpen_tensor(model, rand(1, 3, 48, 48), precision=precision, backend="openvino")
    compiled.compiled_cache().clear()
    sharpen_tensor(model, rand(1, 3, 48, 48), precision=precision, backend="openvino")
    again = sharpen_tensor(model, x, precision=precision, backend="openvino")
    assert torch.equal(first, again)


def test_a_static_graph_that_fails_runs_in_the_graph_for_any_shape(monkeypatch, caplog, static_fp32):
    needs_openvino()
    model = random_model()
    real = compiled._compile
    calls = []

    def no_static(model, stages, precision, threads, shape=None):
        calls.append(shape)
        if shape is not None:
            raise RuntimeError("no static graph today")
        return real(model, stages, precision, threads, shape)

    monkeypatch.setattr(compiled, "_compile", no_static)
    side = compiled.STATIC_SIDES[0]
    x = rand(1, 3, side, side)
    with caplog.at_level(logging.WARNING, logger="mssnet.runtime.backend"):
        for _ in range(2):
            y = sharpen_tensor(model, x, precision="fp32", backend="openvino")
    assert (y - sharpen_tensor(model, x, precision="fp32", backend="torch")).abs().max().item() < 1e-4
    assert calls == [(1, 3, side, side), None]  # tried once, then the dynamic graph
    warnings = [r.getMessage() for r in caplog.records if r.name == "mssnet.runtime.backend"]
    assert len(warnings) == 1 and "graph for any shape" in warnings[0]
    assert "failed" not in compiled.backend_name(model, "fp32", "openvino")  # still all OpenVINO
