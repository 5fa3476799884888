"""The studio's views: what one is, how it is asked for, computed and kept.

* :class:`View` — one zoomed viewport served by the sharpened zoom pyramid (:mod:`mssnet.pyramid.pyramid`):
  bicubic, MSSNet, the level, tiles computed and reused, and (on demand, :meth:`View.tile_pass`) the
  MSSNet pass that produced the tile under a point (:class:`TilePass`);
* :func:`check_view_request` / :func:`compute_view` — a request checked, and the view computed through the
  pyramid;
* :func:`rest_view` — the square the panels explain, from the map at rest (the page's JSON);
* :class:`ResultCache` — finished views in a small LRU bounded in bytes (exact repeats keep their rendered
  heat maps); :class:`ShownViews` — which view each page shows now.

Images here are (H, W, 3) float32 RGB in [0, 1] (NumPy, as :mod:`mssnet.pyramid`).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..image.checks import MAX_FACTOR, MIN_FACTOR, check_int, check_zoom
from ..image.io import to_uint8
from ..pyramid.pyramid import ZoomPyramid
from ..pyramid.tiles import TileId
from ..runtime.inference import sharpen_stages
from .source import Source

__all__ = [
    "CACHE_BYTES", "VIEWPORT_LIMITS", "ResultCache", "ShownViews", "TilePass", "View", "check_view_request",
    "compute_view", "rest_view",
]


#: Budget of the finished views (exact repeats), in bytes.
CACHE_BYTES = 64 * 2**20
#: Smallest and largest viewport side (px).
VIEWPORT_LIMITS = (16, 1024)


@dataclass(frozen=True, eq=False)
class TilePass:
    """The MSSNet pass that produced the pyramid tile under a point of a view.

    ``model_input``: what MSSNet saw — the 2× bicubic enlargement of level k−1 over the tile
    plus its context margin (``box``, level-k px); ``stages``: its six stage outputs (uint8,
    shaped like ``model_input``); ``tile``: the tile (None at level 0, where the view itself is
    the input). A view pixel ``(u, v)`` lies at level px ``(origin[0] + u·scale, origin[1] + v·scale)``.
    """

    tile: TileId | None
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of model_input, level px
    model_input: np.ndarray
    stages: list[np.ndarray]
    strength: float
    origin: tuple[float, float]
    scale: float  # level px per view px

    def to_input(self, point: tuple[float, float]) -> tuple[float, float]:
        """A view point (x, y) -> the same point in ``model_input`` px."""
        return (self.origin[0] + point[0] * self.scale - self.box[0],
                self.origin[1] + point[1] * self.scale - self.box[1])


@dataclass(eq=False)
class View:
    """One zoomed viewport served by the pyramid. Images (vh, vw, 3) float32 in [0, 1].

    ``sharpened`` is level ``level`` (the image enlarged 2^level× in 2× bicubic + MSSNet steps)
    cropped and downsampled to the viewport; ``tiles_computed`` / ``tiles_reused``: the level's
    tiles this view computed (dependencies included) and found cached. :meth:`tile_pass`
    explains the MSSNet pass behind a pixel; ``model_input`` and ``stages`` are that pass's for
    the view's centre (computed on first use).
    """

    source_key: str
    model_label: str
    zoom: float
    viewport: int
    rect: tuple[float, float, float, float]  # source rectangle (x0, y0, w, h)
    bicubic: np.ndarray
    sharpened: np.ndarray
    level: int
    tiles_computed: int
    tiles_reused: int
    seconds: dict[str, float]  # "bicubic zoom", "MSSNet" (tiles), "downsample" (and what a UI adds)
    strengths: tuple[float, ...] = ()  # α of levels 1…level (mssnet.model.strength)
    rendered: dict[str, Any] = field(default_factory=dict)  # a UI's renderings of this view (see rendering)
    pyramid: ZoomPyramid | None = field(default=None, repr=False)
    _passes: dict = field(default_factory=dict, repr=False)
    _files: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> tuple[float, ...]:
        """The 2× steps from the image to the view's level (empty at ×1)."""
        return (2.0,) * self.level

    @property
    def last_strength(self) -> float:
        """α of the pass the tabs explain, the view's level (0 at ×1: no pass, nothing to undo)."""
        return self.strengths[-1] if self.level else 0.0

    @property
    def scale(self) -> float:
        """Level px per view px."""
        return (1 << self.level) / self.zoom

    @property
    def origin(self) -> tuple[float, float]:
        """Level px of the view's top-left corner."""
        return self.rect[0] * self.zoom * self.scale, self.rect[1] * self.zoom * self.scale

    @property
    def identity(self) -> tuple:
        """What tells this view from another (image, weights, zoom, viewport, region); unlike the object's
        id it is never reused, so results kept for a view can be matched to it."""
        return self.source_key, self.model_label, self.zoom, self.viewport, tuple(self.rect)

    @property
    def tiles(self) -> int:
        return self.tiles_computed + self.tiles_reused

    def tile_pass(self, point: tuple[float, float] | None = None) -> TilePass:
        """The MSSNet pass that produced the tile under ``point`` ((x, y) view px; None: the centre),
        with its six stage outputs; computed once per tile (one MSSNet pass on tile + margin)."""
        vh, vw = self.sharpened.shape[:2]
        x, y = (vw / 2, vh / 2) if point is None else (float(point[0]), float(point[1]))
        if self.level == 0 or self.pyramid is None:
            key = None
        else:
            ox, oy = self.origin
            key = self.pyramid.tile_at(self.level, (ox + x * self.scale, oy + y * self.scale))
        found = self._passes.get(key)
        if found is not None:
            return found
        if key is None:  # ×1: the view is the image itself; MSSNet's stages on it, for comparison
            box, x_in, origin, scale = (0, 0, vw, vh), self.bicubic, (0.0, 0.0), 1.0
            model = self.pyramid.model if self.pyramid is not None else None
        else:
            box = self.pyramid.pass_box(key)
            x_in, origin, scale = self.pyramid.model_input(self.level, box), self.origin, self.scale
            model = self.pyramid.model
        stages = [] if model is None else [to_uint8(st) for st in sharpen_stages(model, x_in)[1]]
        found = self._passes[key] = TilePass(key, box, x_in, stages, self.last_strength, origin, scale)
        return found

    @property
    def model_input(self) -> np.ndarray:
        """MSSNet's input for the tile under the view's centre (see :meth:`tile_pass`)."""
        return self.tile_pass().model_input

    @property
    def stages(self) -> list[np.ndarray]:
        """The six stage outputs of the pass under the view's centre, uint8."""
        return self.tile_pass().stages

    def rendering(self, key: str, make: Callable[[], Any]) -> Any:
        """What ``make()`` returns, made once per view and kept in :attr:`rendered` under ``key``; made
        again when a file it names (a string that is an existing path when made) has since been deleted."""
        kept = self.rendered.get(key)
        if kept is not None and all(os.path.exists(p) for p in self._files.get(key, ())):
            return kept
        kept = self.rendered[key] = make()
        values = kept if isinstance(kept, tuple | list) else (kept,)
        self._files[key] = [v for v in values if isinstance(v, str) and os.path.isfile(v)]
        return kept

    @property
    def nbytes(self) -> int:
        extra = sum(t.model_input.nbytes + sum(st.nbytes for st in t.stages) for t in self._passes.values())
        return self.bicubic.nbytes + self.sharpened.nbytes + extra + 2**20


class ResultCache:
    """Thread-safe LRU of :class:`View` objects bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, View] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        """Present, without counting as a use."""
        with self._lock:
            return key in self._items

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: tuple) -> View | None:
        with self._lock:
            view = self._items.get(key)
            if view is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return view

    def put(self, key: tuple, view: View) -> None:
        """Keep ``view``; its size is counted as it is now (later renderings do not move the total)."""
        with self._lock:
            self._forget(key)
            self._items[key] = view
            self._sizes[key] = view.nbytes
            self._bytes += self._sizes[key]
            while self._bytes > self.max_bytes and len(self._items) > 1:
                self._forget(next(iter(self._items)))

    def drop(self, prefix: tuple) -> None:
        """Forget every view whose key starts with ``prefix`` (e.g. an image and model whose pyramid went)."""
        with self._lock:
            for key in [k for k in self._items if k[: len(prefix)] == prefix]:
                self._forget(key)

    def _forget(self, key: tuple) -> None:
        if key in self._items:
            del self._items[key]
            self._bytes -= self._sizes.pop(key)


def check_view_request(
    source: Source, zoom: float, center: tuple[float, float] | None, viewport: int
) -> tuple[float, tuple[float, float], int]:
    """Checked (zoom, centre, viewport): zoom in [1, 8], viewport in :data:`VIEWPORT_LIMITS`,
    centre defaulting to the image centre. Raises ``ValueError`` with the limits."""
    zoom = check_zoom(zoom)
    viewport = check_int(viewport, "viewport", *VIEWPORT_LIMITS, unit="px")
    w, h = source.size
    center = (w / 2, h / 2) if center is None else (float(center[0]), float(center[1]))
    return zoom, center, viewport


def compute_view(pyramid: ZoomPyramid, model_label: str, source: Source, zoom: float,
                 center: tuple[float, float], viewport: int) -> View:
    """The view through the pyramid: crop level ⌈log2 zoom⌉, downsample; only missing tiles are computed.

    Arguments as :func:`check_view_request` returns them; ``pyramid`` is the source's for the model.
    """
    v = pyramid.view(zoom, center, (viewport, viewport))
    seconds = {"bicubic zoom": v.seconds["bicubic"], "MSSNet": v.seconds["tiles"],
               "downsample": v.seconds["downsample"]}
    return View(source.key, model_label, zoom, viewport, v.rect, v.bicubic, v.sharpened, v.level,
                v.computed, v.reused, seconds, v.strengths, pyramid=pyramid)


def rest_view(source: Source | None, request: str | None, side_max: int, shown: str | None = None
              ) -> tuple[float, tuple[float, float], int] | None:
    """The map at rest (``request``: JSON with ``id, zoom, center_x, center_y, width, height``; image px, screen
    px) -> (zoom, centre, side) of the square the panels explain: the middle of the visible region, ``side_max``
    px at most and no larger than the zoomed image, zoom clamped to 1…8, centre to the image; None for a
    request that does not parse or has no image, or, with ``shown`` (the page's map JSON, as from
    :meth:`mssnet.serve.tile_service.TileService.info`), a rest of another map (an image replaced meanwhile)."""
    try:
        r = json.loads(request or "")
        zoom, cx, cy = float(r["zoom"]), float(r["center_x"]), float(r["center_y"])
        side = int(min(float(r["width"]), float(r["height"]), side_max))
        if shown and r.get("id") != json.loads(shown).get("id"):
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if source is None or not all(map(math.isfinite, (zoom, cx, cy))) or zoom <= 0:
        return None
    w, h = source.size
    zoom = min(max(zoom, MIN_FACTOR), MAX_FACTOR)
    side = max(VIEWPORT_LIMITS[0], min(side, math.ceil(max(w, h) * zoom)))
    return zoom, (min(max(cx, 0.0), w), min(max(cy, 0.0), h)), side


class ShownViews:
    """Which view each page (a user interface's session) shows now, for the ``max_pages`` most recent pages.

    A panel computed for a view the page has left since is stale: :meth:`stale` tells, so the interface
    drops it instead of showing it beside the newer view's panels. Thread-safe."""

    def __init__(self, max_pages: int = 256) -> None:
        self.max_pages = max_pages
        self._views: OrderedDict[str, tuple] = OrderedDict()  # page -> View.identity
        self._images: OrderedDict[str, str | None] = OrderedDict()  # page -> Source.key of the image it shows
        self._lock = threading.Lock()

    def show_image(self, page: str | None, key: str | None) -> bool:
        """``page`` shows the image ``key`` now (None: no image) -> whether it showed another one before (True for
        no page). One check and record under the lock: of two events that open the same image on one page at once
        (an upload fires its change event twice), exactly one gets True."""
        if page is None:
            return True
        with self._lock:
            before = self._images.get(page, ...)
            self._images[page] = key
            self._images.move_to_end(page)
            while len(self._images) > self.max_pages:
                self._images.popitem(last=False)
        return before != key

    def record(self, page: str | None, view: View) -> None:
        """``page`` shows ``view`` now (None: no page, nothing kept)."""
        if page is None:
            return
        with self._lock:
            self._views[page] = view.identity
            self._views.move_to_end(page)
            while len(self._views) > self.max_pages:
                self._views.popitem(last=False)

    def stale(self, page: str | None, view: View) -> bool:
        """True when ``page`` has shown another view since ``view`` (False for no page or an unknown one)."""
        with self._lock:
            current = self._views.get(page) if page is not None else None
        return current is not None and current != view.identity
