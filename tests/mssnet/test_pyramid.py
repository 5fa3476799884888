"""Tests for mssnet.pyramid: views = regions of the whole-image zoom, seams, cache, tile counts, fill."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from corpus import photo
from PIL import Image
from torch import nn

from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.pyramid.cache import TileCache
from mssnet.pyramid.fill import FillWorker
from mssnet.pyramid.levels import pyramid_level, pyramid_zoom_image
from mssnet.pyramid.pyramid import ZoomPyramid
from mssnet.pyramid.resampling import downsample
from mssnet.pyramid.tiles import TileId
from mssnet.runtime.inference import sharpen


@pytest.fixture(scope="module")
def model() -> MSSNet:
    """Tiny random MSSNet with its heads scaled to a trained model's correction size (see test_inference)."""
    torch.manual_seed(0)
    net = MSSNet(MSSNetConfig(4, 4, 4)).eval()
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.startswith("tail"):
                param.mul_(0.1)
    return net


class Slow(nn.Module):
    """Identity 'network' that takes ``seconds`` per pass and logs (thread name, start, end)."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.seconds = seconds
        self.log: list[tuple[str, float, float]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t0 = time.perf_counter()
        time.sleep(self.seconds)
        self.log.append((threading.current_thread().name, t0, time.perf_counter()))
        return x


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return photo(40, 56)


def test_pyramid_level():
    assert [pyramid_level(z) for z in (1.0, 1.01, 1.5, 2.0, 2.01, 3.0, 4.0, 5.0, 8.0)] == [0, 1, 1, 1, 2, 2, 2, 3, 3]
    with pytest.raises(ValueError):
        pyramid_level(0.0)


@pytest.mark.parametrize("scale", [1.3, 1.75, 2.0])
def test_downsample_filters_match_libraries(scale):
    """Antialiased bicubic = F.interpolate(antialias=True), area = cv2.INTER_AREA, Lanczos = PIL."""
    img = photo(96, 112, seed=1)
    w, h = round(112 / scale), round(96 / scale)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    ref = {
        "bicubic": F.interpolate(t, size=(h, w), mode="bicubic", antialias=True, align_corners=False)[0]
        .permute(1, 2, 0).numpy(),
        "area": cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA),
        "lanczos": np.stack([np.asarray(Image.fromarray(img[..., c], mode="F").resize((w, h), Image.LANCZOS))
                             for c in range(3)], axis=-1),
    }
    for name, expected in ref.items():
        got = downsample(img, (w, h), name)
        assert got.shape == (h, w, 3)
        np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=2e-4, err_msg=name)


def test_downsample_identity_at_scale_one():
    img = photo(32, 48)
    for name in ("bicubic", "area", "lanczos"):
        np.testing.assert_array_equal(downsample(img, (48, 32), name), img)


@pytest.mark.parametrize("zoom", [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 8.0])
def test_view_is_region_of_whole_image_zoom(model, image, zoom):
    """Determinism: a view equals the same pixels of the whole-image pyramid zoom (W·z, H·z integral)."""
    pyr = ZoomPyramid(image, model, tile=64, margin=32)
    whole = pyramid_zoom_image(model, image, zoom, tile=64, margin=32)
    assert whole.shape == (round(40 * zoom), round(56 * zoom), 3)
    for center in [None, (3.0, 4.0), (50.0, 37.0), (21.3, 17.7)]:
        v = pyr.view(zoom, center, (40, 24))
        assert v.sharpened.shape == v.bicubic.shape == (24, 40, 3) and v.sharpened.dtype == np.float32
        u0, v0 = round(v.rect[0] * zoom), round(v.rect[1] * zoom)
        assert v.rect[0] * zoom == pytest.approx(u0) and v.level == pyramid_level(zoom)
        region = whole[v0 : v0 + 24, u0 : u0 + 40]
        assert np.abs(v.sharpened - region).max() <= 1e-5  # ≤ 1/255 asked; the same tiles give the same pixels
        if zoom == 1.0:
            np.testing.assert_array_equal(v.sharpened, image[v0 : v0 + 24, u0 : u0 + 40])


def test_panning_never_changes_a_pixel(model, image):
    pyr = ZoomPyramid(image, model, tile=64, margin=16)
    a = pyr.view(2.5, (20.0, 20.0), (48, 40))
    b = pyr.view(2.5, (23.2, 21.7), (48, 40))  # moves the canvas by whole output pixels
    du, dv = round((b.rect[0] - a.rect[0]) * 2.5), round((b.rect[1] - a.rect[1]) * 2.5)
    assert (du, dv) != (0, 0)
    np.testing.assert_array_equal(a.sharpened[dv:, du:], b.sharpened[: 40 - dv, : 48 - du])


def test_view_bicubic_is_plain_zoom(model, image):
    from mssnet import zoom as plain_zoom

    v = ZoomPyramid(image, model, tile=64, margin=0).view(2.0, (28.0, 20.0), (32, 32))
    ref = plain_zoom(image, 2.0, center=(v.rect[0] + v.rect[2] / 2, v.rect[1] + v.rect[3] / 2), viewport=(32, 32))
    np.testing.assert_allclose(v.bicubic, np.clip(ref.view, 0, 1), atol=1e-6)


def test_tiles_are_seamless(model):
    """Tiled levels approach one untiled MSSNet pass on the whole 2× enlargement as the margin grows;
    with the default margin no pixel is off by more than a few 8-bit levels."""
    img = photo(96, 96, seed=2)
    bicubic = np.clip(cv2.resize(img, (192, 192), interpolation=cv2.INTER_CUBIC), 0, 1)
    untiled = sharpen(model, bicubic, precision="fp32")  # 192² in one pass (no strength table: α = 1)
    inner = (slice(8, -8), slice(8, -8))
    err = {m: np.abs(pyramid_zoom_image(model, img, 2.0, tile=64, margin=m, precision="fp32") - untiled)[inner]
           for m in (0, 16, 32, 64)}
    peak = {m: float(e.max()) * 255 for m, e in err.items()}
    assert peak[0] > peak[16] > peak[32] > peak[64]
    assert peak[0] > 20 * peak[32]  # without context the tile edges show
    assert peak[32] <= 3 and float(err[32].mean()) * 255 <= 0.25 and peak[64] <= 1.5


def test_tile_counts_and_cached(model, image):
    pyr = ZoomPyramid(image, model, tile=64, margin=16)
    args = (3.0, (30.0, 20.0), (48, 48))
    assert not pyr.cached(*args)
    missing = pyr.missing_tiles(*args)
    assert missing == pyr.needed_tiles(*args) and all(t.level == 2 for t in missing)
    v1 = pyr.view(*args)
    assert v1.reused == 0 and set(v1.tiles_needed) <= set(v1.tiles_computed)
    assert {t.level for t in v1.tiles_computed} == {1, 2}  # level 1 computed on the way
    assert pyr.cached(*args) and pyr.missing_tiles(*args) == []
    v2 = pyr.view(*args)
    assert v2.computed == 0 and v2.tiles_reused == v1.tiles_needed
    np.testing.assert_array_equal(v1.sharpened, v2.sharpened)
    assert set(v2.seconds) == {"bicubic", "tiles", "downsample", "total"}
    # zoom 1 needs nothing
    assert pyr.cached(1.0, None, (16, 16)) and pyr.view(1.0, None, (16, 16)).computed == 0


def test_shared_cache_keys(model, image):
    cache = TileCache()
    a = ZoomPyramid(image, model, tile=64, margin=16, cache=cache)
    a.view(2.0, None, (32, 32))
    assert ZoomPyramid(image.copy(), model, tile=64, margin=16, cache=cache).view(2.0, None, (32, 32)).computed == 0
    other_image = ZoomPyramid(photo(40, 56, seed=5), model, tile=64, margin=16, cache=cache)
    assert not other_image.cached(2.0, None, (32, 32))
    other_weights = MSSNet(MSSNetConfig(4, 4, 4)).eval()
    assert not ZoomPyramid(image, other_weights, tile=64, margin=16, cache=cache).cached(2.0, None, (32, 32))
    assert not ZoomPyramid(image, model, tile=64, margin=16, cache=cache, strength=0.5).cached(2.0, None, (32, 32))


def test_cache_lru_eviction_and_byte_bound():
    item = np.zeros((4, 4, 3), np.float32)  # 192 bytes
    cache = TileCache(max_bytes=3 * item.nbytes)
    for k in "abc":
        cache.put(k, item.copy())
    assert cache.get("a") is not None  # a used: b is now the oldest
    cache.put("d", item.copy())
    assert "b" not in cache and all(k in cache for k in "acd")
    assert cache.nbytes == 3 * item.nbytes and cache.evictions == 1
    cache.put("huge", np.zeros((100, 100, 3), np.float32))  # larger than the budget: not kept
    assert "huge" not in cache and len(cache) == 3
    with pytest.raises(ValueError, match="read-only"):
        cache.get("a")[0, 0, 0] = 1


def test_cache_bounds_a_pyramid(model, image):
    cache = TileCache(max_bytes=5 * 64 * 64 * 3 * 4)  # five full tiles
    pyr = ZoomPyramid(image, model, tile=64, margin=16, cache=cache)
    ref = pyr.view(8.0, (28.0, 20.0), (64, 64)).sharpened
    assert cache.nbytes <= cache.max_bytes and cache.evictions > 0
    np.testing.assert_array_equal(pyr.view(8.0, (28.0, 20.0), (64, 64)).sharpened, ref)  # recomputed alike


def test_one_computation_per_tile_across_threads():
    cache, calls = TileCache(), []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return np.ones((2, 2, 3), np.float32)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and sorted(here for _, here in results) == [False, False, False, True]


def test_view_preempts_background_fill():
    net = Slow(0.01)
    worker = FillWorker()
    try:
        pyr = ZoomPyramid(photo(64, 64), net, tile=64, margin=0, fill=worker)
        pyr.start_fill(levels=(1, 2, 3))
        deadline = time.time() + 5
        while sum(name == "pyramid-fill" for name, _, _ in net.log) < 2 and time.time() < deadline:
            time.sleep(0.005)
        t0 = time.perf_counter()
        v = pyr.view(8.0, (2.0, 2.0), (96, 96))  # a corner of level 3: not filled yet
        t1 = time.perf_counter()
        assert v.computed >= 4
        started = [s for name, s, _ in net.log if name == "pyramid-fill" and t0 < s < t1]
        assert len(started) <= 1  # at most the tile that had already passed the check
        assert worker.pending() > 0  # the view re-planned the fill around itself
    finally:
        worker.stop(timeout=5)
    assert not worker.errors


def test_two_images_take_turns():
    net = Slow()
    worker = FillWorker()
    try:
        a = ZoomPyramid(photo(32, 32, seed=1), net, tile=64, margin=0, fill=worker)
        b = ZoomPyramid(photo(32, 32, seed=2), net, tile=64, margin=0, fill=worker)
        with worker.foreground():  # nothing starts until both are queued
            a.start_fill(levels=(1, 2))
            b.start_fill(levels=(1, 2))
        assert worker.wait_idle(timeout=10)
        order = [key for key, _ in worker.done]
        assert len(order) == 2 * (1 + 4)
        assert order[0::2] == [a.image_key] * 5 and order[1::2] == [b.image_key] * 5
        assert a.cached(4.0, None, (64, 64)) and b.cached(4.0, None, (64, 64))
    finally:
        worker.stop(timeout=5)


def test_fill_budget_and_order(image, model):
    pyr = ZoomPyramid(image, model, tile=64, margin=16)
    order = pyr.fill_order((0.0, 0.0), levels=(1, 3), budget_pixels=64 * 64 + 1)
    assert order[0] == TileId(1, 0, 0)  # nearest the centre first
    assert sum(1 for t in order if t.level == 1) == 2  # the budget stops level 1 after the tile that crosses it
    assert all(t.level == 1 for t in order)  # and leaves nothing for level 3
    full = pyr.fill_order(None, levels=(1, 2), budget_pixels=10**9)
    assert len(full) == 4 + 12
    for i, t in enumerate(full):  # dependencies come first
        assert all(full.index(d) < i for d in pyr.dependencies(t))


def test_bad_input(model, image):
    with pytest.raises(ValueError, match="NaN"):
        ZoomPyramid(np.full((8, 8, 3), np.nan, np.float32), model)
    with pytest.raises(ValueError, match="shape"):
        ZoomPyramid(np.zeros((8, 8), np.float32), model)
    with pytest.raises(TypeError, match="float32"):
        ZoomPyramid(np.zeros((8, 8, 3), np.uint8), model)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ZoomPyramid(np.full((8, 8, 3), 255.0, np.float32), model)
    for kwargs, match in [({"tile": 100}, "tile"), ({"margin": 8}, "margin"), ({"filter": "nearest"}, "filter"),
                          ({"strength": 9.0}, "strength")]:
        with pytest.raises(ValueError, match=match):
            ZoomPyramid(image, model, **kwargs)
    with pytest.raises(TypeError, match="TileCache"):
        ZoomPyramid(image, model, cache={})
    pyr = ZoomPyramid(image, model, tile=64)
    for zoom in (0.5, 8.5, float("nan")):
        with pytest.raises(ValueError, match="zoom"):
            pyr.view(zoom, None, (16, 16))
    with pytest.raises(ValueError, match="viewport"):
        pyr.view(2.0, None, (0, 16))
    with pytest.raises(ValueError, match="center"):
        pyr.view(2.0, (float("inf"), 0.0), (16, 16))
    with pytest.raises(ValueError, match="no tile"):
        pyr.get_tile(TileId(4, 0, 0))
    with pytest.raises(ValueError, match="FillWorker"):
        pyr.start_fill()
    for factor in (0.0, 9.0, float("nan")):
        with pytest.raises(ValueError, match="zoom"):
            pyramid_zoom_image(model, image, factor)


def test_process_with_a_filling_worker_exits_cleanly(tiny_weights, tmp_path):
    """A Studio never closed, its fill thread busy at exit: the process still ends with status 0 and
    no "terminate called" abort (the worker is stopped and joined at interpreter exit)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from PIL import Image\n"
        "from mssnet.serve.session import Studio\n"
        "from mssnet.serve.source import load_source\n"
        f"path = {str(tmp_path / 'img.png')!r}\n"
        "Image.fromarray(np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)).save(path)\n"
        f"studio = Studio({str(tiny_weights)!r}, tile=64)\n"
        "studio.view(load_source(path), 2.0, None, 32)\n"
        "assert studio.fill.pending() > 0, 'the fill should still be busy at exit'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
