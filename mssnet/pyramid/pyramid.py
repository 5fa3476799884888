"""A sharpened zoom pyramid: every zoom and pan served from cached power-of-two levels.

Level 0 is the image; level k (1…3) is the image enlarged 2^k times and sharpened,
built from level k−1 by a 2× bicubic enlargement (OpenCV's)
and MSSNet applied with the strength calibrated for that level (:mod:`mssnet.model.strength`)::

    level k = clip(x + α_k·(MSSNet(x) − x)),   x = clip(bicubic_2×(level k−1))

(from level 2 on, ``x`` enlarges an already sharpened level, so α_k is calibrated for it).

A view at zoom z crops level ⌈log2 z⌉ (level 0 for z = 1) and downsamples it to the
viewport with an antialiased filter (:data:`DEFAULT_FILTER`). On held-out photographs
this beats one bicubic + MSSNet pass per zoom (``bench/pyramid_quality.py``; bench/README.md),
and a level computed once serves every zoom and pan in it.

Levels are cut into tiles of ``tile`` px on a fixed grid. Tile (k, row, col) is MSSNet's
output on the bicubic enlargement of the level-(k−1) region under it plus ``margin`` px of
context on each side (cut off afterwards), so MSSNet sees padding only at the image's own
borders, exactly where the whole-image computation pads too: tiles show no seams and a
view is the same region of the whole-image zoom (:func:`pyramid_zoom_image`) — panning
never changes what a pixel looks like. The canvas of a view is snapped to whole output
pixels for the same reason.

* :class:`TileCache` — LRU in bytes, shared by any number of pyramids (images, weights),
  thread-safe, one computation per tile even when several threads ask for it;
* :class:`ZoomPyramid` — one image and one model: ``view``, ``cached``, ``missing_tiles``;
* :class:`FillWorker` — one background thread filling the tiles around the last view of
  every pyramid attached to it, round-robin, yielding to views between tiles;
* :func:`pyramid_zoom_image` — the whole image at any zoom by the same rule (command line,
  download, benchmarks); :func:`resample_taps` / :func:`downsample` — the antialiased
  filters (bicubic as ``F.interpolate(antialias=True)``, area as ``cv2.INTER_AREA``,
  Lanczos-3 as PIL).
"""

from __future__ import annotations

import atexit
import math
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torch import nn

from ..image.checks import MAX_FACTOR, check_number, check_rgb_float, check_tile, check_viewport, check_zoom
from ..image.zoom import resample, source_rect
from ..model.keys import fingerprint as _fingerprint
from ..model.keys import weights_key
from ..model.strength import LIMITS, level_strengths
from ..runtime.inference import Progress, resolve_precision, sharpen_tensor

__all__ = [
    "DEFAULT_FILTER", "DEFAULT_MARGIN", "DEFAULT_TILE", "FILTERS", "MAX_LEVEL",
    "TileId", "TileCache", "PyramidView", "ZoomPyramid", "FillWorker",
    "enlarge_2x", "pyramid_level", "pyramid_zoom_image", "resample_taps", "downsample",
]

#: Highest level: 2³ = 8, the largest zoom.
MAX_LEVEL = 3
#: Output tile side at every level (px of that level).
DEFAULT_TILE = 256
#: Context around a tile at the level's MSSNet input, cut off after the pass. MSSNet's coarse
#: stages see far, so a tiled level approaches one untiled pass only gradually; a wider margin
#: narrows the difference at the cost of a larger pass per tile (``bench/tile_margin.py``;
#: bench/README.md). The difference is spread over the tiles, not gathered at their borders. Every view is exactly a
#: region of the tiled whole-image zoom whatever the margin: this trades fidelity to an untiled
#: pass against speed.
DEFAULT_MARGIN = 32
#: Antialiased downsampling filters from a level to a view.
FILTERS = ("bicubic", "area", "lanczos")
#: Best of :data:`FILTERS` on held-out photographs below ×2; above ×2 the three are nearly equal
#: (``bench/pyramid_quality.py``; bench/README.md).
DEFAULT_FILTER = "lanczos"
#: Default byte budget of a :class:`TileCache` (a 256² tile is 0.75 MiB).
DEFAULT_CACHE_BYTES = 384 * 2**20
#: Tiles the background fill computes per image at most, in pixels.
FILL_BUDGET_PIXELS = 8_000_000
_ALIGN = 16  # MSSNet's grid: tile and margin multiples of it keep every tile on the whole image's grid


class TileId(NamedTuple):
    """One tile: ``level`` 1…3, ``row`` and ``col`` on that level's grid."""

    level: int
    row: int
    col: int


# --------------------------------------------------------------------------- checks


def _check_image(image: object) -> np.ndarray:
    """(H, W, 3) float in [0, 1] (small overshoot clipped) -> C-contiguous float32 copy."""
    check_rgb_float(image)
    lo, hi = float(image.min()), float(image.max())
    if lo < -0.5 or hi > 1.5:
        raise ValueError(f"image values must be in [0, 1]; got [{lo:g}, {hi:g}]")
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)


def _check_center(center: object) -> tuple[float, float] | None:
    if center is None:
        return None
    if not isinstance(center, Sequence) or len(center) != 2:
        raise TypeError(f"center must be (x, y) or None; got {center!r}")
    cx, cy = float(center[0]), float(center[1])
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValueError(f"center must be finite; got {center}")
    return cx, cy


def _strengths(model: nn.Module, strength: float | None) -> tuple[float, ...]:
    """α of levels 1…:data:`MAX_LEVEL`: ``strength`` at every level when given, else the model's
    calibrated per-level strengths (:func:`mssnet.model.strength.level_strengths`)."""
    if strength is None:
        return level_strengths(model, MAX_LEVEL)
    strength = float(strength)
    lo, hi = LIMITS
    if not lo <= strength <= hi:  # also refuses NaN
        raise ValueError(f"strength must be between {lo:g} and {hi:g}; got {strength}")
    return (strength,) * MAX_LEVEL


def _check_grid(tile: int, margin: int) -> None:
    check_tile(tile, 64, 512, multiple=_ALIGN)
    check_tile(margin, 0, 64, multiple=_ALIGN, name="margin")


def pyramid_level(zoom: float) -> int:
    """The level a zoom is served from: ⌈log2 zoom⌉, 0 up to ×1.

    >>> [pyramid_level(z) for z in (1.0, 1.1, 2.0, 2.5, 4.0, 8.0)]
    [0, 1, 1, 2, 2, 3]
    """
    zoom = check_number(zoom, "zoom", 0, low_open=True)
    return max(0, math.ceil(math.log2(zoom) - 1e-9))


# --------------------------------------------------------------------------- antialiased resampling


def _kernel(name: str, t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    if name == "bicubic":  # Keys a = -0.5, as PyTorch's and PIL's antialiased bicubic
        a = -0.5
        return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))
    return np.where(t < 3, np.sinc(t) * np.sinc(t / 3), 0.0)  # Lanczos-3


def resample_taps(n_out: int, start: float, scale: float, n_in: int, filter: str = DEFAULT_FILTER
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Taps of a 1-D antialiased resampling: ``(idx, w)``, both ``(n_out, K)``, w rows summing to 1.

    Output pixel u shows the input interval centred at ``(start + u + 0.5)·scale`` (input
    pixel i covers [i, i+1); ``scale`` input px per output px). Bicubic and Lanczos kernels are
    stretched by ``max(scale, 1)``; ``"area"`` weighs each input pixel by its overlap with the
    output pixel's footprint. Taps outside the input are dropped and the rest renormalised
    (as PyTorch and PIL do); centres outside the input are clamped to its edge.
    """
    if filter not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}; got {filter!r}")
    centre = np.clip((np.arange(n_out, dtype=np.float64) + start + 0.5) * scale, 0.0, float(n_in))
    if filter == "area":
        lo, hi = centre - scale / 2, centre + scale / 2
        idx = np.floor(lo)[:, None].astype(np.int64) + np.arange(math.ceil(scale) + 2)
        w = np.clip(np.minimum(hi[:, None], idx + 1) - np.maximum(lo[:, None], idx), 0.0, None)
    else:
        stretch = max(scale, 1.0)
        radius = (2 if filter == "bicubic" else 3) * stretch
        idx = np.floor(centre - radius)[:, None].astype(np.int64) + np.arange(math.ceil(2 * radius) + 2)
        w = _kernel(filter, (idx + 0.5 - centre[:, None]) / stretch)
    w = np.where((idx >= 0) & (idx < n_in), w, 0.0)
    w /= w.sum(axis=1, keepdims=True)
    keep = np.flatnonzero(np.abs(w).max(axis=0) > 0)  # drop columns that are zero for every output
    return np.clip(idx[:, keep], 0, n_in - 1), w[:, keep].astype(np.float32)


def _apply_taps(x: np.ndarray, rows: tuple[np.ndarray, np.ndarray], cols: tuple[np.ndarray, np.ndarray]
                ) -> np.ndarray:
    """x: (h, w, 3) -> (len(rows), len(cols), 3): separable sum over the taps, float32."""
    (iy, wy), (ix, wx) = rows, cols
    t = np.zeros((iy.shape[0], x.shape[1], x.shape[2]), np.float32)  # (out_h, w, 3)
    for k in range(iy.shape[1]):
        t += wy[:, k, None, None] * x[iy[:, k]]
    out = np.zeros((iy.shape[0], ix.shape[0], x.shape[2]), np.float32)  # (out_h, out_w, 3)
    for k in range(ix.shape[1]):
        out += wx[None, :, k, None] * t[:, ix[:, k]]
    return out


def downsample(image: np.ndarray, size: tuple[int, int], filter: str = DEFAULT_FILTER) -> np.ndarray:
    """The whole ``image`` (H, W, 3) resampled to ``size = (w, h)`` with an antialiased filter, clipped."""
    h_in, w_in = image.shape[:2]
    w, h = size
    rows = resample_taps(h, 0.0, h_in / h, h_in, filter)
    cols = resample_taps(w, 0.0, w_in / w, w_in, filter)
    return np.clip(_apply_taps(image.astype(np.float32, copy=False), rows, cols), 0.0, 1.0)


# --------------------------------------------------------------------------- one pyramid step


def _enlarge(src: np.ndarray, origin: tuple[int, int], src_size: tuple[int, int],
             box: tuple[int, int, int, int]) -> np.ndarray:
    """The 2× bicubic enlargement of level k−1 over ``box = (xa, ya, xb, yb)`` (level-k px, inside
    the level) -> (yb−ya, xb−xa, 3) float32 clipped: MSSNet's input for a level-k pass.

    ``src``: a region of level k−1 (of size ``src_size = (W, H)``) whose top-left pixel is
    ``origin = (x, y)``; it must hold the level-(k−1) pixels under the box plus 2 on each side.
    """
    xa, ya, xb, yb = box
    w_prev, h_prev = src_size
    sa, sb = max(xa // 2 - 2, 0), min(xb // 2 + 2, w_prev)  # bicubic support, level-(k−1) px
    ta, tb = max(ya // 2 - 2, 0), min(yb // 2 + 2, h_prev)
    ox, oy = origin
    assert ox <= sa and oy <= ta and sb - ox <= src.shape[1] and tb - oy <= src.shape[0], "region too small"
    crop = np.ascontiguousarray(src[ta - oy : tb - oy, sa - ox : sb - ox])
    up = cv2.resize(crop, (2 * (sb - sa), 2 * (tb - ta)), interpolation=cv2.INTER_CUBIC)
    return np.clip(up[ya - 2 * ta : yb - 2 * ta, xa - 2 * sa : xb - 2 * sa], 0.0, 1.0)  # (yb−ya, xb−xa, 3)


def enlarge_2x(level: np.ndarray) -> np.ndarray:
    """A whole level (h, w, 3) -> its clipped 2× bicubic enlargement (2h, 2w, 3) float32: MSSNet's
    input for the next level, as every tile's pass computes it."""
    h, w = level.shape[:2]
    return _enlarge(np.ascontiguousarray(level, dtype=np.float32), (0, 0), (w, h), (0, 0, 2 * w, 2 * h))


def _pass_box(box: tuple[int, int, int, int], margin: int, level_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """MSSNet's input region for a tile ``box`` (level-k px): the tile plus ``margin``, inside the level."""
    x0, y0, x1, y1 = box
    w, h = level_size
    return max(x0 - margin, 0), max(y0 - margin, 0), min(x1 + margin, w), min(y1 + margin, h)


def _step_tile(
    model: nn.Module,
    src: np.ndarray,
    origin: tuple[int, int],
    src_size: tuple[int, int],
    box: tuple[int, int, int, int],
    margin: int,
    alpha: float,
    precision: str,
) -> np.ndarray:
    """One tile of level k from level k−1: ``box = (x0, y0, x1, y1)`` in level-k px -> (y1−y0, x1−x0, 3).

    ``src``, ``origin``, ``src_size`` as :func:`_enlarge`; ``src`` must hold the level-(k−1)
    pixels under the box plus margin/2 + 2.
    """
    x0, y0, x1, y1 = box
    w_prev, h_prev = src_size
    xa, ya, xb, yb = _pass_box(box, margin, (2 * w_prev, 2 * h_prev))  # MSSNet input, level-k px
    x = _enlarge(src, origin, src_size, (xa, ya, xb, yb))
    if alpha != 0:
        xt = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # (1, 3, h, w)
        y = sharpen_tensor(model, xt, precision=precision)[0].permute(1, 2, 0).numpy()  # (h, w, 3)
        x = y if alpha == 1 else np.clip(x + alpha * (y - x), 0.0, 1.0)
    return np.ascontiguousarray(x[y0 - ya : y1 - ya, x0 - xa : x1 - xa], dtype=np.float32)


def _grid(length: int, tile: int) -> int:
    return -(-length // tile)


def _tile_boxes(width: int, height: int, tile: int) -> Iterator[tuple[int, int, tuple[int, int, int, int]]]:
    for r in range(_grid(height, tile)):
        for c in range(_grid(width, tile)):
            yield r, c, (c * tile, r * tile, min((c + 1) * tile, width), min((r + 1) * tile, height))


def _grow_level(model: nn.Module, prev: np.ndarray, tile: int, margin: int, alpha: float, precision: str,
                report: Callable[[], None]) -> np.ndarray:
    """The whole level k from the whole level k−1 (H, W, 3) -> (2H, 2W, 3), tile by tile."""
    h, w = prev.shape[:2]
    out = np.empty((2 * h, 2 * w, 3), np.float32)
    for _, _, (x0, y0, x1, y1) in _tile_boxes(2 * w, 2 * h, tile):
        out[y0:y1, x0:x1] = _step_tile(model, prev, (0, 0), (w, h), (x0, y0, x1, y1), margin, alpha, precision)
        report()
    return out


def pyramid_zoom_image(
    model: nn.Module,
    image: np.ndarray,
    factor: float,
    size: tuple[int, int] | None = None,
    *,
    tile: int = DEFAULT_TILE,
    margin: int = DEFAULT_MARGIN,
    filter: str = DEFAULT_FILTER,
    precision: str = "auto",
    strength: float | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The whole ``image`` (H, W, 3) float zoomed ``factor`` times by the pyramid rule.

    Sharpened to level ⌈log2 factor⌉ (tile by tile, exactly as :class:`ZoomPyramid`), then
    resampled with the antialiased ``filter`` to ``(round(H·f), round(W·f), 3)``, or to
    ``size = (w, h)``. ``factor`` in (0, 8]; up to ×1 no network runs. ``strength``: α of
    every 2× step (None: the calibrated α of each level). ``progress(done, total)`` counts
    tiles. -> float32 in [0, 1].
    """
    image = _check_image(image)
    factor = check_zoom(factor, 0, MAX_FACTOR, low_open=True)
    _check_grid(tile, margin)
    alphas = _strengths(model, strength)
    if filter not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}; got {filter!r}")
    height, width = image.shape[:2]
    out_w, out_h = size if size is not None else (max(1, round(width * factor)), max(1, round(height * factor)))
    if int(out_w) < 1 or int(out_h) < 1:
        raise ValueError(f"size must be (w, h) >= 1 px; got {size}")
    levels = pyramid_level(factor)
    precision = resolve_precision(precision, next(model.parameters(), torch.empty(0)).device)
    total = sum(_grid(width << k, tile) * _grid(height << k, tile) for k in range(1, levels + 1))
    done = 0

    def report() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    x = image
    for level in range(levels):
        x = _grow_level(model, x, tile, margin, alphas[level], precision, report)
    if x.shape[:2] == (int(out_h), int(out_w)):
        return x
    return downsample(x, (int(out_w), int(out_h)), filter)


# --------------------------------------------------------------------------- cache


class TileCache:
    """Thread-safe LRU of arrays bounded in bytes, shared by any number of pyramids.

    Keys are any hashables (a pyramid uses image hash, weights hash, settings, tile id).
    :meth:`get_or_compute` runs ``compute`` once per key even when several threads ask at
    once; the others wait for that result. Arrays are stored read-only. An array larger
    than the whole budget is returned but not kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an int >= 0; got {max_bytes!r}")
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = self.misses = self.evictions = 0
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._inflight: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        """Present, without counting as a use."""
        with self._lock:
            return key in self._items

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        value.setflags(write=False)
        with self._lock:
            self._put(key, value)

    def _put(self, key: Hashable, value: np.ndarray) -> None:
        if key in self._items:
            self.nbytes -= self._items.pop(key).nbytes
        if value.nbytes > self.max_bytes:
            return
        self._items[key] = value
        self.nbytes += value.nbytes
        while self.nbytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.nbytes -= old.nbytes
            self.evictions += 1

    def get_or_compute(self, key: Hashable, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """``(value, computed_here)``: the cached value, another thread's result, or ``compute()``'s."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return value, False
            self.misses += 1
            future = self._inflight.get(key)
            owner = future is None
            if owner:
                future = self._inflight[key] = Future()
        if not owner:
            return future.result(), False
        try:
            value = compute()
            value.setflags(write=False)
            with self._lock:
                self._put(key, value)
            future.set_result(value)
            return value, True
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._inflight[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


# --------------------------------------------------------------------------- pyramid


@dataclass(frozen=True)
class PyramidView:
    """One view. Images are (h, w, 3) float32 in [0, 1].

    ``bicubic``: plain bicubic of the image at ``zoom`` (what every viewer shows);
    ``sharpened``: level ``level`` cropped and downsampled to the viewport; ``rect``: source
    rectangle ``(x0, y0, w, h)`` in image px (snapped to whole output pixels); ``tiles_needed``:
    the level's tiles under the view; ``tiles_computed``: every tile computed for this view (all
    levels, dependencies first); ``tiles_reused``: needed tiles that were already there;
    ``seconds``: ``"bicubic"``, ``"tiles"``, ``"downsample"``, ``"total"``; ``strengths``: α of levels 1…``level``.
    """

    bicubic: np.ndarray
    sharpened: np.ndarray
    rect: tuple[float, float, float, float]
    zoom: float
    level: int
    tiles_needed: tuple[TileId, ...]
    tiles_computed: tuple[TileId, ...]
    tiles_reused: tuple[TileId, ...]
    seconds: dict[str, float] = field(default_factory=dict)
    strengths: tuple[float, ...] = ()

    @property
    def computed(self) -> int:
        return len(self.tiles_computed)

    @property
    def reused(self) -> int:
        return len(self.tiles_reused)


class _Plan(NamedTuple):
    """Where a view samples its level: output origin (u0, v0) and size, level px per output px."""

    level: int
    u0: int
    v0: int
    size: tuple[int, int]
    scale: float
    rows: tuple[np.ndarray, np.ndarray]
    cols: tuple[np.ndarray, np.ndarray]
    box: tuple[int, int, int, int]  # level px (x0, y0, x1, y1) the taps read


class ZoomPyramid:
    """Sharpened levels 1…3 of one image for one model, computed lazily in tiles and cached.

    Args:
        image: (H, W, 3) float in [0, 1].
        model: MSSNet (or anything with its ``forward``) in eval mode.
        tile: output tile side at every level (multiple of 16 in [64, 512]).
        margin: context around a tile at the level's MSSNet input (multiple of 16 in [0, 64]).
        cache: a :class:`TileCache` shared with other pyramids (default: a private one).
        filter: antialiased filter from a level to a view (:data:`FILTERS`).
        precision: as :func:`mssnet.sharpen_tensor`; resolved once.
        strength: α of every 2× step (None: the model's calibrated α of each level).
        fill: a :class:`FillWorker`; after every view it fills the tiles around it.
    """

    def __init__(
        self,
        image: np.ndarray,
        model: nn.Module,
        *,
        tile: int = DEFAULT_TILE,
        margin: int = DEFAULT_MARGIN,
        cache: TileCache | None = None,
        filter: str = DEFAULT_FILTER,
        precision: str = "auto",
        strength: float | None = None,
        fill: FillWorker | None = None,
    ) -> None:
        self.image = _check_image(image)
        _check_grid(tile, margin)
        if filter not in FILTERS:
            raise ValueError(f"filter must be one of {FILTERS}; got {filter!r}")
        if cache is not None and not isinstance(cache, TileCache):
            raise TypeError(f"cache must be a TileCache; got {type(cache).__name__}")
        self.model, self.tile, self.margin, self.filter = model, tile, margin, filter
        self.cache = cache if cache is not None else TileCache()
        self.alphas = _strengths(model, strength)  # α of levels 1…MAX_LEVEL
        self.precision = resolve_precision(precision, next(model.parameters(), torch.empty(0)).device)
        self.fill = fill
        h, w = self.image.shape[:2]
        self.size = (w, h)
        self.image_key = _fingerprint([str(self.image.shape).encode(), self.image.tobytes()])
        self._prefix = (self.image_key, weights_key(model), tile, margin, self.precision, self.alphas)

    # ---- geometry

    def level_size(self, level: int) -> tuple[int, int]:
        """(w, h) of a level."""
        return self.size[0] << level, self.size[1] << level

    def grid(self, level: int) -> tuple[int, int]:
        """(rows, cols) of a level's tile grid."""
        w, h = self.level_size(level)
        return _grid(h, self.tile), _grid(w, self.tile)

    def tile_box(self, tid: TileId) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of a tile in its level's px."""
        w, h = self.level_size(tid.level)
        t = self.tile
        return tid.col * t, tid.row * t, min((tid.col + 1) * t, w), min((tid.row + 1) * t, h)

    def tiles_under(self, level: int, box: tuple[int, int, int, int]) -> list[TileId]:
        """Tiles of ``level`` that intersect ``box = (x0, y0, x1, y1)`` (level px), row by row."""
        x0, y0, x1, y1 = box
        t = self.tile
        return [TileId(level, r, c)
                for r in range(y0 // t, (y1 - 1) // t + 1) for c in range(x0 // t, (x1 - 1) // t + 1)]

    def _source_box(self, tid: TileId) -> tuple[int, int, int, int]:
        """Level-(k−1) px a tile's computation reads."""
        x0, y0, x1, y1 = self.tile_box(tid)
        w, h = self.level_size(tid.level - 1)
        m = self.margin
        return (max(max(x0 - m, 0) // 2 - 2, 0), max(max(y0 - m, 0) // 2 - 2, 0),
                min(min(x1 + m, 2 * w) // 2 + 2, w), min(min(y1 + m, 2 * h) // 2 + 2, h))

    def dependencies(self, tid: TileId) -> list[TileId]:
        """Level-(k−1) tiles a tile is computed from (none for level 1: the image)."""
        return [] if tid.level == 1 else self.tiles_under(tid.level - 1, self._source_box(tid))

    def tile_at(self, level: int, point: tuple[float, float]) -> TileId:
        """The level-``level`` tile (1…3) holding ``point = (x, y)`` (level px; clamped into the level)."""
        if not 1 <= level <= MAX_LEVEL:
            raise ValueError(f"level must be 1…{MAX_LEVEL}; got {level}")
        w, h = self.level_size(level)
        x = min(max(int(math.floor(point[0])), 0), w - 1)
        y = min(max(int(math.floor(point[1])), 0), h - 1)
        return TileId(level, y // self.tile, x // self.tile)

    def pass_box(self, tid: TileId) -> tuple[int, int, int, int]:
        """(xa, ya, xb, yb), level px: the region MSSNet saw to produce a tile (the tile plus its margin)."""
        return _pass_box(self.tile_box(tid), self.margin, self.level_size(tid.level))

    def model_input(self, level: int, box: tuple[int, int, int, int], computed: list[TileId] | None = None
                    ) -> np.ndarray:
        """MSSNet's input at ``level`` (1…3) over ``box = (x0, y0, x1, y1)`` (level px): the 2× bicubic
        enlargement of level−1, exactly as a tile's pass sees it -> (y1−y0, x1−x0, 3) float32.
        ``model_input(k, pass_box(tile))`` is the input of the pass that produced ``tile``."""
        if not 1 <= level <= MAX_LEVEL:
            raise ValueError(f"level must be 1…{MAX_LEVEL}; got {level}")
        x0, y0, x1, y1 = box
        w, h = self.level_size(level)
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"box {box} is not inside level {level} ({w}×{h})")
        pw, ph = self.level_size(level - 1)
        src_box = (max(x0 // 2 - 2, 0), max(y0 // 2 - 2, 0), min(x1 // 2 + 2, pw), min(y1 // 2 + 2, ph))
        src = self.region(level - 1, src_box, computed)
        return _enlarge(src, src_box[:2], (pw, ph), box)

    def _plan(self, zoom: float, center: tuple[float, float] | None, viewport: tuple[int, int]) -> _Plan:
        vw, vh = viewport
        w, h = self.size
        x0, y0, _, _ = source_rect((w, h), zoom, viewport, center)
        u0, v0 = round(x0 * zoom), round(y0 * zoom)  # whole output pixels: panning only shifts the canvas
        level = pyramid_level(zoom)
        lw, lh = self.level_size(level)
        scale = (1 << level) / zoom
        cols = resample_taps(vw, u0, scale, lw, self.filter)
        rows = resample_taps(vh, v0, scale, lh, self.filter)
        box = (int(cols[0].min()), int(rows[0].min()), int(cols[0].max()) + 1, int(rows[0].max()) + 1)
        return _Plan(level, u0, v0, (vw, vh), scale, rows, cols, box)

    # ---- tiles

    def _key(self, tid: TileId) -> tuple:
        return (*self._prefix, *tid)

    def is_cached(self, tid: TileId) -> bool:
        return self._key(tid) in self.cache

    def get_tile(self, tid: TileId, computed: list[TileId] | None = None) -> np.ndarray:
        """A tile (h, w, 3) float32, read-only: from the cache or computed (with its dependencies).
        Tiles computed here are appended to ``computed``."""
        tid = TileId(*tid)
        rows, cols = self.grid(tid.level) if 1 <= tid.level <= MAX_LEVEL else (0, 0)
        if not (0 <= tid.row < rows and 0 <= tid.col < cols):
            raise ValueError(f"no tile {tid} in this pyramid (levels 1…{MAX_LEVEL})")

        def compute() -> np.ndarray:
            box = self._source_box(tid)
            src = self.region(tid.level - 1, box, computed)
            return _step_tile(self.model, src, box[:2], self.level_size(tid.level - 1), self.tile_box(tid),
                              self.margin, self.alphas[tid.level - 1], self.precision)

        value, here = self.cache.get_or_compute(self._key(tid), compute)
        if here and computed is not None:
            computed.append(tid)
        return value

    def region(self, level: int, box: tuple[int, int, int, int], computed: list[TileId] | None = None
               ) -> np.ndarray:
        """Pixels ``box = (x0, y0, x1, y1)`` of a level, (y1−y0, x1−x0, 3) float32."""
        x0, y0, x1, y1 = box
        if level == 0:
            return self.image[y0:y1, x0:x1]
        out = np.empty((y1 - y0, x1 - x0, 3), np.float32)
        for tid in self.tiles_under(level, box):
            tx0, ty0, tx1, ty1 = self.tile_box(tid)
            ix0, iy0, ix1, iy1 = max(tx0, x0), max(ty0, y0), min(tx1, x1), min(ty1, y1)
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = self.get_tile(tid, computed)[iy0 - ty0 : iy1 - ty0,
                                                                                     ix0 - tx0 : ix1 - tx0]
        return out

    # ---- views

    def _check_view(self, zoom, center, viewport) -> tuple[float, tuple[float, float] | None, tuple[int, int]]:
        return check_zoom(zoom), _check_center(center), check_viewport(viewport)

    def needed_tiles(self, zoom: float, center: tuple[float, float] | None = None,
                     viewport: tuple[int, int] = (384, 384)) -> list[TileId]:
        """Tiles of level ⌈log2 zoom⌉ a view reads (none at level 0)."""
        plan = self._plan(*self._check_view(zoom, center, viewport))
        return [] if plan.level == 0 else self.tiles_under(plan.level, plan.box)

    def missing_tiles(self, zoom: float, center: tuple[float, float] | None = None,
                      viewport: tuple[int, int] = (384, 384)) -> list[TileId]:
        """Needed tiles that are not cached (no computation)."""
        return [t for t in self.needed_tiles(zoom, center, viewport) if not self.is_cached(t)]

    def cached(self, zoom: float, center: tuple[float, float] | None = None,
               viewport: tuple[int, int] = (384, 384)) -> bool:
        """True when every tile the view needs is cached: :meth:`view` would compute nothing."""
        return not self.missing_tiles(zoom, center, viewport)

    def view(self, zoom: float, center: tuple[float, float] | None = None,
             viewport: tuple[int, int] = (384, 384)) -> PyramidView:
        """The ``viewport = (w, h)`` window at ``zoom`` (1…8) around ``center`` ((x, y) image px,
        default the image centre; clamped to the image like :func:`mssnet.zoom`)."""
        zoom, center, viewport = self._check_view(zoom, center, viewport)
        t0 = time.perf_counter()
        plan = self._plan(zoom, center, viewport)
        rect = (plan.u0 / zoom, plan.v0 / zoom, viewport[0] / zoom, viewport[1] / zoom)
        bicubic = np.clip(resample(self.image, rect[0], rect[1], zoom, viewport), 0.0, 1.0)
        t1 = time.perf_counter()
        needed = [] if plan.level == 0 else self.tiles_under(plan.level, plan.box)
        computed: list[TileId] = []
        with self.fill.foreground() if self.fill is not None else _nothing():
            src = self.region(plan.level, plan.box, computed)
        t2 = time.perf_counter()
        x0, y0 = plan.box[:2]
        rows, cols = (plan.rows[0] - y0, plan.rows[1]), (plan.cols[0] - x0, plan.cols[1])
        sharpened = np.clip(_apply_taps(src, rows, cols), 0.0, 1.0)
        t3 = time.perf_counter()
        if self.fill is not None:
            self.start_fill(center=(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2), levels=(1, plan.level))
        seconds = {"bicubic": t1 - t0, "tiles": t2 - t1, "downsample": t3 - t2, "total": t3 - t0}
        reused = [t for t in needed if t not in computed]  # cached, or computed meanwhile by the fill
        return PyramidView(bicubic, sharpened, rect, zoom, plan.level, tuple(needed), tuple(computed),
                           tuple(reused), seconds, self.alphas[: plan.level])

    # ---- background fill

    def fill_order(self, center: tuple[float, float] | None, levels: Sequence[int],
                   budget_pixels: int = FILL_BUDGET_PIXELS) -> list[TileId]:
        """Tiles of ``levels`` nearest ``center`` first (image px), each after its dependencies,
        until ``budget_pixels`` of tiles; cached ones included in the count, left out of the list."""
        cx, cy = center if center is not None else (self.size[0] / 2, self.size[1] / 2)
        order: list[TileId] = []
        seen: set[TileId] = set()
        spent = 0

        def add(tid: TileId) -> None:
            nonlocal spent
            if tid in seen:
                return
            for dep in self.dependencies(tid):
                add(dep)
            seen.add(tid)
            x0, y0, x1, y1 = self.tile_box(tid)
            spent += (x1 - x0) * (y1 - y0)
            order.append(tid)

        for level in dict.fromkeys(k for k in levels if 1 <= k <= MAX_LEVEL):
            s = 1 << level
            rows, cols = self.grid(level)
            by_distance = sorted(
                (TileId(level, r, c) for r in range(rows) for c in range(cols)),
                key=lambda t: math.hypot((t.col + 0.5) * self.tile - cx * s, (t.row + 0.5) * self.tile - cy * s))
            for tid in by_distance:
                if spent >= budget_pixels:
                    break
                add(tid)
        return [t for t in order if not self.is_cached(t)]

    def start_fill(self, center: tuple[float, float] | None = None, levels: Sequence[int] = (1,)) -> None:
        """(Re)plan this pyramid's background fill around ``center`` on its :class:`FillWorker`."""
        if self.fill is None:
            raise ValueError("this pyramid has no FillWorker; pass fill=FillWorker() to ZoomPyramid")
        self.fill.submit(self, _check_center(center), levels)

    def stop_fill(self) -> None:
        """Drop this pyramid's pending background tiles."""
        if self.fill is not None:
            self.fill.cancel(self)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# --------------------------------------------------------------------------- background fill


#: Workers whose thread runs; stopped at interpreter exit (see :func:`_stop_fill_workers`).
_RUNNING_WORKERS: weakref.WeakSet[FillWorker] = weakref.WeakSet()


@atexit.register
def _stop_fill_workers(timeout: float = 60.0) -> None:
    """Stop every running :class:`FillWorker` and join its thread before the interpreter tears down.

    A daemon thread left inside a PyTorch call while the process exits aborts it ("terminate
    called without an active exception"): the worker finishes its tile in progress and ends."""
    for worker in list(_RUNNING_WORKERS):
        worker.stop(timeout)


class FillWorker:
    """One background thread that fills pyramids' tiles while no view is waiting.

    After each view a pyramid attached to the worker (``ZoomPyramid(fill=worker)``) hands
    it the tiles around that view (:meth:`ZoomPyramid.fill_order`: level 1, then the level in
    use, nearest first, at most ``budget_pixels`` per image). The worker computes one tile at
    a time, taking the pyramids in turn (round-robin: no image starves another), and before
    each tile waits while any view is being computed (:meth:`foreground`): a view waits at
    most for the one tile in progress. The thread starts on the first job; :meth:`stop` ends it.
    """

    def __init__(self, budget_pixels: int = FILL_BUDGET_PIXELS) -> None:
        self.budget_pixels = int(budget_pixels)
        self._jobs: OrderedDict[int, tuple[ZoomPyramid, deque[TileId]]] = OrderedDict()
        self._cond = threading.Condition()
        self._foreground = 0
        self._stopping = False
        self._busy = False
        self._thread: threading.Thread | None = None
        # the latest (image key, tile) the fill computed, in order, and the latest errors (bounded)
        self.done: deque[tuple[str, TileId]] = deque(maxlen=4096)
        self.errors: deque[BaseException] = deque(maxlen=64)

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Held while a view computes: the fill starts no tile meanwhile."""
        with self._cond:
            self._foreground += 1
        try:
            yield
        finally:
            with self._cond:
                self._foreground -= 1
                self._cond.notify_all()

    def submit(self, pyramid: ZoomPyramid, center: tuple[float, float] | None, levels: Sequence[int]) -> None:
        """Replace the pyramid's pending tiles with those around ``center``."""
        order = pyramid.fill_order(center, levels, self.budget_pixels)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the FillWorker was stopped")
            self._jobs.pop(id(pyramid), None)
            if order:
                self._jobs[id(pyramid)] = (pyramid, deque(order))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pyramid-fill", daemon=True)
                self._thread.start()
                _RUNNING_WORKERS.add(self)
            self._cond.notify_all()

    def cancel(self, pyramid: ZoomPyramid) -> None:
        with self._cond:
            self._jobs.pop(id(pyramid), None)

    def pending(self) -> int:
        """Tiles still planned, all pyramids together."""
        with self._cond:
            return sum(len(q) for _, q in self._jobs.values())

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is planned or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Drop all jobs and end the thread (after the tile in progress)."""
        with self._cond:
            self._stopping = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        _RUNNING_WORKERS.discard(self)

    def _next(self) -> tuple[ZoomPyramid, TileId] | None:
        """Next tile, round-robin over pyramids; waits for work and for no foreground view."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._stopping or (self._jobs and self._foreground == 0))
            if self._stopping:
                return None
            key, (pyramid, queue) = next(iter(self._jobs.items()))
            tid = queue.popleft()
            self._jobs.pop(key)
            if queue:
                self._jobs[key] = (pyramid, queue)  # to the back: the next pyramid goes first
            self._busy = True
            return pyramid, tid

    def _run(self) -> None:
        while (job := self._next()) is not None:
            pyramid, tid = job
            try:
                if not pyramid.is_cached(tid):
                    computed: list[TileId] = []
                    pyramid.get_tile(tid, computed)
                    with self._cond:
                        self.done.extend((pyramid.image_key, t) for t in computed)
            except Exception as exc:  # a failing job must not end the worker; kept for inspection
                with self._cond:
                    self.errors.append(exc)
                    self._jobs.pop(id(pyramid), None)
