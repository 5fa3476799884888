"""A sharpened zoom pyramid: every zoom and pan served from cached power-of-two levels.

Levels follow :mod:`mssnet.pyramid.levels` and are computed tile by tile (:mod:`mssnet.pyramid.tiles`).
A view at zoom z crops level ⌈log2 z⌉ (level 0 for z = 1) and downsamples it to the
viewport with an antialiased filter (:data:`~mssnet.pyramid.resampling.DEFAULT_FILTER`). On held-out
photographs this beats one bicubic + MSSNet pass per zoom (``bench/pyramid_quality.py``; bench/README.md),
and a level computed once serves every zoom and pan in it. The canvas of a view is snapped to whole
output pixels, so a view is exactly a region of the whole-image zoom
(:func:`~mssnet.pyramid.levels.pyramid_zoom_image`).

* :class:`ZoomPyramid` — one image and one model: ``view``, ``cached``, ``missing_tiles``; its tiles
  live in a :class:`~mssnet.pyramid.cache.TileCache` and are filled in the background by a
  :class:`~mssnet.pyramid.fill.FillWorker`;
* :class:`PyramidView` — what a view returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..image.checks import check_viewport, check_zoom
from ..image.zoom import resample, source_rect
from ..model.keys import fingerprint as _fingerprint
from ..model.keys import weights_key
from ..runtime.inference import resolve_precision
from .cache import TileCache
from .fill import FILL_BUDGET_PIXELS, FillWorker
from .levels import MAX_LEVEL, _check_image, _strengths, pyramid_level
from .resampling import DEFAULT_FILTER, FILTERS, _apply_taps, _enlarge, resample_taps
from .tiles import DEFAULT_MARGIN, DEFAULT_TILE, RING, TileId, _check_grid, _grid, _pass_box, _step_tile

__all__ = ["PyramidView", "ZoomPyramid"]


def _check_center(center: object) -> tuple[float, float] | None:
    if center is None:
        return None
    if not isinstance(center, Sequence) or len(center) != 2:
        raise TypeError(f"center must be (x, y) or None; got {center!r}")
    cx, cy = float(center[0]), float(center[1])
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValueError(f"center must be finite; got {center}")
    return cx, cy


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
        self.ring = min(RING, margin)  # px around each cached tile from its own pass
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

    def ringed_box(self, tid: TileId) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), level px: a tile and the :attr:`ring` around it that its own pass keeps."""
        return _pass_box(self.tile_box(tid), self.ring, self.level_size(tid.level))

    def _ringed_tile(self, tid: TileId, computed: list[TileId] | None) -> np.ndarray:
        """The cached pixels of ``ringed_box(tid)``: one pass, after the tile's dependencies."""
        rows, cols = self.grid(tid.level) if 1 <= tid.level <= MAX_LEVEL else (0, 0)
        if not (0 <= tid.row < rows and 0 <= tid.col < cols):
            raise ValueError(f"no tile {tid} in this pyramid (levels 1…{MAX_LEVEL})")

        def compute() -> np.ndarray:
            box = self._source_box(tid)
            src = self.region(tid.level - 1, box, computed)
            return _step_tile(self.model, src, box[:2], self.level_size(tid.level - 1), self.tile_box(tid),
                              self.margin, self.alphas[tid.level - 1], self.precision, self.ring)

        value, here = self.cache.get_or_compute(self._key(tid), compute)
        if here and computed is not None:
            computed.append(tid)
        return value

    def _crop(self, tid: TileId, box: tuple[int, int, int, int], computed: list[TileId] | None) -> np.ndarray:
        """``box`` (level px, inside ``ringed_box(tid)``) cut from the tile's own pass, read-only."""
        rx0, ry0 = self.ringed_box(tid)[:2]
        x0, y0, x1, y1 = box
        return self._ringed_tile(tid, computed)[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]

    def get_tile(self, tid: TileId, computed: list[TileId] | None = None) -> np.ndarray:
        """A tile (h, w, 3) float32, read-only: from the cache or computed (with its dependencies).
        Tiles computed here are appended to ``computed``."""
        tid = TileId(*tid)
        return self._crop(tid, self.tile_box(tid), computed)

    def own_pass_tiles(self, level: int, box: tuple[int, int, int, int]) -> list[TileId]:
        """The tiles :meth:`own_pass_region` reads for ``box``: the one tile when ``box`` lies within
        that tile and its ring, else every tile under ``box``."""
        tid = self.tile_at(level, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
        rx0, ry0, rx1, ry1 = self.ringed_box(tid)
        if rx0 <= box[0] and ry0 <= box[1] and box[2] <= rx1 and box[3] <= ry1:
            return [tid]
        return self.tiles_under(level, box)

    def own_pass_region(self, level: int, box: tuple[int, int, int, int], computed: list[TileId] | None = None
                        ) -> np.ndarray:
        """Pixels ``box`` of a level (1…3) like :meth:`region`, except that a box within one tile and its
        ring (a Deep Zoom tile with its overlap) comes from that tile's own pass alone: one pass instead
        of up to nine. Inside the tile the pixels are :meth:`region`'s; on the ring they are the same
        pass's output past the tile's edge, which differs from the neighbours' passes only by the
        context each pass saw (measured in ``bench/deepzoom.py``)."""
        tiles = self.own_pass_tiles(level, box)
        if len(tiles) > 1:
            return self.region(level, box, computed)
        return self._crop(tiles[0], box, computed)

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
