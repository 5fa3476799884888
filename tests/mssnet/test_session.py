"""The studio core without Gradio: sources, the model registry, views and their cache, the
sweep, the download limit and the memory helpers. Numbers on result objects, not text."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mssnet
from mssnet.serve import memory
from mssnet.serve.registry import ModelRegistry
from mssnet.serve.session import MAX_DOWNLOAD_PIXELS, Studio, check_download_size
from mssnet.serve.source import load_source
from mssnet.serve.views import ResultCache, View, check_view_request

SMALL = 32


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


def test_check_view_request_limits_and_defaults(source):
    assert check_view_request(source, "2", None, 64.0) == (2.0, (40.0, 24.0), 64)
    with pytest.raises(ValueError, match="zoom must be between 1 and 8; got 9"):
        check_view_request(source, 9, None, 64)
    with pytest.raises(ValueError, match="viewport must be between 16 and 1024 px; got 8"):
        check_view_request(source, 2, None, 8)


def test_view_is_cached_per_model_and_geometry(studio, source):
    hits, misses = studio.cache.hits, studio.cache.misses
    assert studio.cached_view(source, 3.0, None, SMALL) is None  # nothing computed yet
    assert studio.missing_tiles(source, 3.0, None, SMALL) == 1
    view, cached = studio.view(source, 3.0, None, SMALL)
    assert not cached and view.model_label == studio.default_label and len(view.stages) == 6
    assert view.level == 2 and view.steps == (2.0, 2.0) and view.rect[2] == pytest.approx(SMALL / 3)
    assert view.tiles_computed == 2 and view.tiles_reused == 0  # level 2's tile and the level-1 tile under it
    again, cached = studio.view(source, 3.0, (40.0, 24.0), SMALL)  # the same rectangle
    assert cached and again is view
    assert (studio.cache.hits - hits, studio.cache.misses - misses) == (1, 1)
    assert studio.cached_view(source, 3.0, None, SMALL) is view
    other = studio.cached_view(source, 3.5, None, SMALL)  # another zoom of the same level: tiles reused
    assert other is not None and other.tiles_computed == 0 and other.tiles_reused == 1
    assert studio.cached_view(source, 5.0, None, SMALL) is None  # level 3 is not there


def test_views_come_from_the_pyramid_and_panning_reuses_tiles(tiny_weights, source):
    studio = Studio(tiny_weights, fill=False, tile=64)
    first, cached = studio.view(source, 2.0, (20.0, 12.0), SMALL)
    assert not cached and first.level == 1 and first.tiles_computed == 1 and first.tiles_reused == 0
    pyramid = studio.pyramid(source)
    expected = mssnet.pyramid_zoom_image(pyramid.model, source.rgb, 2.0, tile=64)
    x0, y0 = round(first.rect[0] * 2), round(first.rect[1] * 2)
    np.testing.assert_allclose(first.sharpened, expected[y0:y0 + SMALL, x0:x0 + SMALL], atol=1e-5)
    pan, _ = studio.view(source, 2.0, (22.0, 12.0), SMALL)  # two pixels to the right: the same tile
    assert pan.tiles_computed == 0 and pan.tiles_reused == 1
    far, _ = studio.view(source, 2.0, (44.0, 12.0), SMALL)  # the next tile
    assert far.tiles_computed == 1 and far.tiles_reused == 0
    assert studio.missing_tiles(source, 2.0, (30.0, 12.0), SMALL) == 0  # between both: all cached
    assert studio.is_cached(source, 1.0, None, SMALL)  # ×1 is the image itself
    tile_pass = far.tile_pass()
    assert tile_pass.tile == (1, 0, 1) and tile_pass.box == (32, 0, 160, 96)  # the tile plus its 32 px margin
    np.testing.assert_allclose(tile_pass.model_input, pyramid.model_input(1, tile_pass.box), atol=0)
    assert len(tile_pass.stages) == 6 and tile_pass.stages[0].shape == tile_pass.model_input.shape
    assert far.tile_pass((SMALL / 2, SMALL / 2)) is tile_pass  # computed once per tile


def test_studio_memory_is_bounded_by_its_caches(tiny_weights, source):
    studio = Studio(tiny_weights, fill=False, tile=64, tile_bytes=2 * 64 * 64 * 3 * 4, max_pyramids=1)
    for zoom in (2.0, 4.0, 8.0):
        studio.view(source, zoom, None, SMALL)
    assert studio.tiles.nbytes <= studio.tiles.max_bytes and len(studio._pyramids) == 1


def test_background_fill_makes_nearby_views_cached(tiny_weights, source):
    studio = Studio(tiny_weights, tile=64)
    try:
        studio.view(source, 2.0, None, SMALL)
        assert studio.fill.wait_idle(timeout=60)
        assert studio.cached_view(source, 1.5, (10.0, 10.0), SMALL) is not None  # level 1 is filled
    finally:
        studio.close()


def test_sweep_yields_every_factor_and_reuses_the_cache(studio, source):
    steps = list(studio.sweep(source, None, SMALL, factors=(1.0, 2.0)))
    assert [s.factor for s in steps] == [1.0, 2.0] and all(s.view.viewport == SMALL for s in steps)
    assert all(s.cached for s in studio.sweep(source, None, SMALL, factors=(1.0, 1.5, 2.0)))  # level 1 reused


def test_views_apply_the_calibrated_strength(tiny_weights, tmp_path, source):
    model = mssnet.load_model(tiny_weights)
    model.zoom_strength = {1.0: 0.0, 2.0: 0.5}
    studio = Studio(mssnet.save_safetensors(model, tmp_path / "cal.safetensors"), fill=False)
    plain, _ = studio.view(source, 1.0, None, SMALL)
    assert plain.strengths == () and plain.last_strength == 0.0 and plain.level == 0
    np.testing.assert_allclose(plain.sharpened, plain.bicubic, atol=1e-6)
    view, _ = studio.view(source, 2.0, None, SMALL)
    assert view.strengths == pytest.approx((0.5,)) and view.last_strength == pytest.approx(0.5)
    tile_pass = view.tile_pass()
    final = tile_pass.stages[-1].astype(np.float32) / 255
    expected = np.clip(tile_pass.model_input + 0.5 * (final - tile_pass.model_input), 0, 1)
    level = studio.pyramid(source).region(1, tile_pass.box)
    np.testing.assert_allclose(level, expected, atol=2.5 / 255)  # stages are stored as uint8
    stepped, _ = studio.view(source, 4.0, None, SMALL)
    assert stepped.strengths == pytest.approx((0.5, 0.5)) and stepped.level == 2


def _view(side=4):
    a = np.zeros((side, side, 3), np.float32)
    return View("k", "m", 1.0, side, (0, 0, side, side), a, a, 0, 0, 0, {})


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


# --------------------------------------------------------------------------- opening view


def _source(tmp_path, rgb: np.ndarray, name: str = "img.png"):
    Image.fromarray(rgb).save(tmp_path / name)
    return load_source(str(tmp_path / name))


def test_opening_zoom_is_the_first_real_enlargement_or_the_fit():
    from mssnet.serve.source import MIN_OPENING_ZOOM, opening_zoom

    assert opening_zoom((4000, 3000), 256) == MIN_OPENING_ZOOM == 2.0  # a large photo: ×2, not "fit" (0.064)
    assert opening_zoom((512, 512), 256) == 2.0
    assert opening_zoom((64, 64), 256) == 4.0  # a small image fills the view
    assert opening_zoom((100, 80), 256) == 2.55  # on the slider's 0.05 steps, never past the fit
    assert opening_zoom((1, 1), 256) == 8.0  # at most ×8


def test_strongest_edges_center_finds_the_busy_corner(tmp_path):
    from mssnet.serve.source import opening_view, strongest_edges_center

    rgb = np.full((300, 400, 3), 90, np.uint8)
    rgb[200:280, 300:380] = (np.indices((80, 80)).sum(0) % 8 < 4)[..., None] * 255  # a checkerboard, lower right
    source = _source(tmp_path, rgb)
    x, y = strongest_edges_center(source, 4.0, 128)  # a 32 px view: inside the checkerboard
    assert 300 <= x - 16 and x + 16 <= 380 and 200 <= y - 16 and y + 16 <= 280
    x, y = strongest_edges_center(source, 1.0, 256)  # a view larger than the pattern: it covers the pattern
    assert x - 128 <= 300 and 380 <= x + 128 and y - 128 <= 200 and 280 <= y + 128
    flat = _source(tmp_path, np.full((50, 70, 3), 128, np.uint8), "flat.png")
    assert strongest_edges_center(flat, 2.0, 32) == (35.0, 25.0)  # nothing to find: the centre
    assert opening_view(source, 128) == (2.0, strongest_edges_center(source, 2.0, 128))
    assert opening_view(source, 128, 3.0, (1.0, 2.0)) == (3.0, (1.0, 2.0))  # given values win


def test_center_from_optional_coordinates(tmp_path):
    source = _source(tmp_path, np.zeros((48, 80, 3), np.uint8))
    assert source.middle == (40.0, 24.0) and source.center_at(None, None) is None
    assert source.center_at(10, None) == (10.0, 24.0) and source.center_at(None, 5) == (40.0, 5.0)
    assert source.center_at(1.5, 2.5) == (1.5, 2.5)


def test_view_rendering_is_made_once_and_again_when_its_file_is_gone(studio, tmp_path):
    from mssnet.image.io import png_by_content

    source = _source(tmp_path, np.random.default_rng(4).integers(0, 256, (24, 24, 3), dtype=np.uint8))
    view, _ = studio.view(source, 2.0, None, SMALL)
    made = []

    def make():
        made.append(1)
        return str(png_by_content(view.sharpened, tmp_path / "png")), "text"

    first = view.rendering("x", make)
    assert view.rendering("x", make) == first and len(made) == 1
    assert png_by_content(view.sharpened, tmp_path / "png") == Path(first[0])  # named by its pixels
    Path(first[0]).unlink()
    assert view.rendering("x", make) == first and len(made) == 2 and Path(first[0]).is_file()


def test_cache_counts_a_view_as_it_was_put_and_drops_by_prefix():
    cache = ResultCache(max_bytes=10 * _view().nbytes)
    a, b = _view(), _view()
    cache.put(("img", "m1", 1), a)
    cache.put(("img", "m2", 1), b)
    before = cache.nbytes
    a.rendered["maps"] = np.zeros(10_000, np.uint8)  # a rendering added after the view was cached
    cache.put(("img", "m1", 1), a)  # replaced: counted anew
    cache.drop(("img", "m2"))
    assert cache.nbytes == a.nbytes >= 0 and ("img", "m2", 1) not in cache and before > 0
    cache.drop(("img",))
    assert cache.nbytes == 0 and len(cache) == 0


def test_closed_studio_still_answers_without_a_fill(tiny_weights, source):
    studio = Studio(tiny_weights)
    studio.view(source, 2.0, None, 64)
    studio.close()
    assert studio.fill is None and not studio.outdir.exists()
    view, _ = studio.view(source, 3.0, None, 64)  # no RuntimeError from a stopped worker
    assert view.level == 2
    assert studio.zoom_full(source, 1.5).exists()


def test_view_identity_names_image_weights_and_region(studio, source):
    a, _ = studio.view(source, 2.0, None, SMALL)
    b, _ = studio.view(source, 2.5, None, SMALL)
    assert a.identity == (source.key, studio.default_label, 2.0, SMALL, tuple(a.rect)) and a.identity != b.identity


def test_shown_views_tell_a_page_s_stale_results():
    from types import SimpleNamespace

    from mssnet.serve.views import ShownViews

    a, b = SimpleNamespace(identity=("img", "m", 2.0)), SimpleNamespace(identity=("img", "m", 3.0))
    shown = ShownViews(max_pages=2)
    assert not shown.stale("p1", a)  # nothing recorded yet: nothing to drop
    shown.record("p1", a)
    assert not shown.stale("p1", a)
    shown.record("p1", b)
    assert shown.stale("p1", a) and not shown.stale("p1", b) and not shown.stale("p2", a)
    shown.record(None, a)  # no page: nothing kept
    shown.record("p2", a)
    shown.record("p3", a)  # max_pages=2: p1, the least recent, is forgotten
    assert not shown.stale("p1", a)
