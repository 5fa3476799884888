"""The studio core without Gradio: sources, the model registry, views and their cache, the
sweep, the download limit and the memory helpers. Numbers on result objects, not text."""

import numpy as np
import pytest
import torch
from PIL import Image

import mssnet
from mssnet import memory
from mssnet.studio import (
    MAX_DOWNLOAD_PIXELS,
    ModelRegistry,
    ResultCache,
    Studio,
    View,
    check_download_size,
    check_view_request,
    load_source,
)

SMALL = 32


@pytest.fixture(scope="module")
def studio(tiny_weights):
    return Studio(tiny_weights)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("img") / "test.png"
    Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(path)
    return load_source(str(path))


def test_load_source_keys_by_pixels_and_sizes_the_overview(source, tmp_path):
    assert source.size == (80, 48) and source.name == "test.png" and source.overview.shape == (307, 512, 3)
    again = tmp_path / "copy.png"
    Image.fromarray(mssnet.to_uint8(source.rgb)).save(again)
    assert load_source(str(again)).key == source.key
    assert load_source(again.read_bytes()).name == "pasted image"
    x, y = source.overview_center(64 * source.overview_scale, 0)
    assert (x, y) == pytest.approx((64 + 0.5 / source.overview_scale, 0.5 / source.overview_scale))
    boxed = source.overview_with_box(2.0, None, SMALL)
    assert boxed.shape == source.overview.shape and (boxed != source.overview).any()


def test_check_view_request_limits_and_defaults(source):
    assert check_view_request(source, "2", None, 64.0) == (2.0, (40.0, 24.0), 64)
    with pytest.raises(ValueError, match="zoom must be between 1 and 8; got 9"):
        check_view_request(source, 9, None, 64)
    with pytest.raises(ValueError, match="viewport must be between 16 and 1024 px; got 8"):
        check_view_request(source, 2, None, 8)


def test_view_is_cached_per_model_and_geometry(studio, source):
    hits, misses = studio.cache.hits, studio.cache.misses
    view, cached = studio.view(source, 3.0, None, SMALL)
    assert not cached and view.model_label == studio.default_label and len(view.stages) == 6
    assert view.steps == pytest.approx((2.0, 1.5)) and view.rect[2] == pytest.approx(SMALL / 3)
    again, cached = studio.view(source, 3.0, (40.0, 24.0), SMALL)  # the same rectangle
    assert cached and again is view
    assert (studio.cache.hits - hits, studio.cache.misses - misses) == (1, 1)
    assert studio.cached_view(source, 3.0, None, SMALL) is view
    assert studio.cached_view(source, 3.5, None, SMALL) is None
    bicubic, seconds = studio.bicubic_view(source, 3.0, None, SMALL)
    np.testing.assert_allclose(np.clip(bicubic, 0, 1), view.bicubic, atol=1e-6)
    assert seconds >= 0


def test_sweep_yields_every_factor_and_reuses_the_cache(studio, source):
    steps = list(studio.sweep(source, None, SMALL, factors=(1.0, 2.0)))
    assert [s.factor for s in steps] == [1.0, 2.0] and all(s.view.viewport == SMALL for s in steps)
    assert all(s.cached for s in studio.sweep(source, None, SMALL, factors=(1.0, 2.0)))


def test_views_apply_the_calibrated_strength(tiny_weights, tmp_path, source):
    model = mssnet.load_model(tiny_weights)
    model.zoom_strength = {1.0: 0.0, 2.0: 1.0}
    studio = Studio(mssnet.save_safetensors(model, tmp_path / "cal.safetensors"))
    plain, _ = studio.view(source, 1.0, None, SMALL)
    assert plain.strengths == (0.0,) and plain.last_strength == 0.0
    np.testing.assert_allclose(plain.sharpened, plain.bicubic, atol=1e-6)
    view, _ = studio.view(source, 2 ** 0.5, None, SMALL)
    assert view.strengths == pytest.approx((0.5,))
    final = view.stages[-1].astype(np.float32) / 255
    expected = np.clip(view.model_input + 0.5 * (final - view.model_input), 0, 1)
    np.testing.assert_allclose(view.sharpened, expected, atol=2.5 / 255)  # stages are stored as uint8
    stepped, _ = studio.view(source, 4.0, None, SMALL)
    assert stepped.strengths == pytest.approx((1.0, 1.0)) and stepped.model_input is not stepped.bicubic


def _view(side=4):
    a = np.zeros((side, side, 3), np.float32)
    return View("k", "m", 1.0, side, (0, 0, side, side), a, a, a, (1.0,), [], {})


def test_cache_is_bounded_in_bytes_and_least_recent_goes_first():
    cache = ResultCache(max_bytes=3 * _view().nbytes)
    for i in range(3):
        cache.put(("key", i), _view())
    assert cache.get(("key", 0)) is not None  # now the most recent
    cache.put(("key", 3), _view())
    assert len(cache) == 3 and cache.get(("key", 1)) is None and cache.get(("key", 0)) is not None
    assert cache.nbytes == 3 * _view().nbytes and (cache.hits, cache.misses) == (2, 1)


def test_model_registry_keeps_at_most_max_models(tiny_weights, tmp_path):
    torch.manual_seed(1)
    other = mssnet.save_safetensors(mssnet.MSSNet(mssnet.MSSNetConfig(4, 4, 4)), tmp_path / "other.safetensors")
    registry = ModelRegistry(tiny_weights, max_models=1)
    default = registry.default_label
    assert default.startswith("tiny.safetensors") and registry.is_loaded(default)
    label, model = registry.add(other)
    assert label.startswith("uploaded: other.safetensors") and label in registry.labels
    assert registry.get(label) is model and not registry.is_loaded(default)  # one kept: the newest
    assert registry.get(None) is not model and not registry.is_loaded(label)
    assert registry.add(other)[0] == label  # the same file keeps its label
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        registry.get("nope")


def test_download_size_limit_and_the_whole_image(studio, source):
    assert check_download_size((80, 48), 1.5) == (120, 72)
    side = int(MAX_DOWNLOAD_PIXELS ** 0.5)
    assert check_download_size((side, side), 1.0) == (side, side)
    with pytest.raises(ValueError, match=r"4001×4001 px .* limit is 4.2 MP"):
        check_download_size((1000, 1000), 4.001)
    path = studio.zoom_full(source, 1.5)
    with Image.open(path) as im:
        assert im.size == (120, 72) and im.mode == "RGB"


def test_memory_helpers_call_glibc_or_do_nothing(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append(("mallopt", option, value))

        def malloc_trim(self, pad):
            calls.append(("malloc_trim", pad))

    monkeypatch.setattr(memory, "_LIBC", FakeLibc())
    memory.limit_malloc_arenas(3)
    memory.release_memory()
    assert calls == [("mallopt", -8, 3), ("malloc_trim", 0)]
    monkeypatch.setattr(memory, "_LIBC", None)  # not glibc: nothing is called, nothing fails
    calls.clear()
    assert memory.limit_malloc_arenas() is None and memory.release_memory() is None
    assert calls == []
