"""The studio's state without a user interface: loaded images, models, views and their cache.

``app.py`` (Gradio) and the tests use the same objects:

* :class:`Source` — a loaded image (float RGB, alpha, a small overview);
* :class:`ModelRegistry` — weights files by label, loaded on first use, at most
  :data:`MAX_MODELS` kept (least recently used first out);
* :class:`View` — one zoomed viewport served by the sharpened zoom pyramid
  (:mod:`mssnet.pyramid.pyramid`): bicubic, MSSNet, the level, tiles computed and reused, and
  (on demand, :meth:`View.tile_pass`) the MSSNet pass that produced the tile under a point;
* :class:`ResultCache` — finished views in a small LRU bounded in bytes (exact repeats keep
  their rendered heat maps);
* :class:`Studio` — all of the above together: one :class:`~mssnet.pyramid.pyramid.ZoomPyramid` per
  (image, model) in an LRU, one shared :class:`~mssnet.pyramid.cache.TileCache` with a byte budget,
  one shared :class:`~mssnet.pyramid.fill.FillWorker`. :meth:`Studio.view` is the one place a view
  is computed or found (:func:`compute_view` does the work), :meth:`Studio.cached_view` serves
  it only when every tile is cached, :meth:`Studio.sweep` runs every zoom level,
  :meth:`Studio.zoom_full` writes the whole image for download (the same pyramid rule).

Images here are (H, W, 3) float32 RGB in [0, 1] (NumPy, as :mod:`mssnet.pyramid.pyramid`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from torch import nn

from ..image.checks import MAX_FACTOR, MIN_FACTOR, check_int, check_zoom
from ..image.io import load_image, save_image, to_uint8
from ..image.zoom import source_rect
from ..image.zoom import zoom as bicubic_zoom
from ..model.weights import BUNDLED_WEIGHTS, DEFAULT_WEIGHTS, list_weights, load_model
from ..pyramid.cache import TileCache
from ..pyramid.fill import FillWorker
from ..pyramid.levels import pyramid_zoom_image
from ..pyramid.pyramid import ZoomPyramid
from ..pyramid.tiles import DEFAULT_TILE, TileId
from ..runtime import speed
from ..runtime.inference import sharpen_stages
from ..runtime.speed import PresetChoice
from .memory import release_memory

__all__ = [
    "CACHE_BYTES", "FILL_PIXELS", "MAX_DOWNLOAD_PIXELS", "MAX_MODELS", "MAX_PYRAMIDS", "MIN_OPENING_ZOOM",
    "SWEEP_FACTORS", "TILE_BYTES", "VIEWPORT_LIMITS", "ModelRegistry", "ResultCache", "Source", "Studio",
    "ShownViews", "SweepStep", "TilePass", "View",
    "check_download_size", "check_view_request", "compute_view", "draw_box", "load_source", "opening_view",
    "opening_zoom", "rest_view", "strongest_edges_center", "weights_label",
]

#: Budget of the finished views (exact repeats), of the pyramids' shared tiles (float tiles and the map's
#: encoded PNG tiles together), and how many loaded models and pyramids ((image, model) pairs) are kept.
#: With 512 MiB of tiles, a crowd asking for the ×4 and ×8 tiles of five images took the server to 1495 MiB
#: (``python bench/load.py --tiles --rounds 5``); 384 MiB leaves room under 1.5 GB.
CACHE_BYTES = 64 * 2**20
TILE_BYTES = 384 * 2**20
MAX_MODELS = 2
MAX_PYRAMIDS = 8
#: Tiles the background fill computes per image at most (pixels): level 1 of a 1 MP image, then more.
FILL_PIXELS = 8_000_000
#: Largest output of the whole-image download (pixels); beyond it the command line is the tool.
MAX_DOWNLOAD_PIXELS = 2048 * 2048
#: Smallest and largest viewport side (px).
VIEWPORT_LIMITS = (16, 1024)
#: Zooms of the "every zoom level" sweep.
SWEEP_FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
#: Longest side of the overview image.
OVERVIEW_SIDE = 512
#: Smallest zoom a loaded image opens at: every pixel becomes 2×2, the first sharpened pyramid level.
MIN_OPENING_ZOOM = 2.0
#: Zoom slider step (the opening zoom is a multiple of it).
ZOOM_STEP = 0.05


# --------------------------------------------------------------------------- images


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded image. rgb: (H, W, 3) float32 in [0, 1]; overview: small uint8 copy (where the opening view
    looks for edges)."""

    key: str  # hash of the pixels: the same image uploaded twice shares its cached views
    name: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    mode: str
    overview: np.ndarray
    overview_scale: float  # overview pixels per source pixel

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def middle(self) -> tuple[float, float]:
        """The image's centre (x, y) in source pixels."""
        return self.size[0] / 2, self.size[1] / 2

    def center_at(self, x: float | None, y: float | None) -> tuple[float, float] | None:
        """A zoom centre from optional coordinates (source px): both None -> None (the caller's default
        centre); one None -> the image's middle on that axis."""
        if x is None and y is None:
            return None
        return self.middle[0] if x is None else float(x), self.middle[1] if y is None else float(y)


def _overview(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 copy of the image for the overview, longest side about OVERVIEW_SIDE."""
    h, w = rgb.shape[:2]
    scale = OVERVIEW_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST  # tiny images: show the pixels
    return to_uint8(cv2.resize(rgb, size, interpolation=interp)), size[0] / w


def load_source(file: str | os.PathLike | bytes, name: str | None = None) -> Source:
    """An image file (path or encoded bytes) -> :class:`Source`. Bad files raise ``ImageError``."""
    img = load_image(file)
    digest = hashlib.sha1(np.ascontiguousarray(img.rgb).data)  # no copy of a large image
    if img.alpha is not None:
        digest.update(np.ascontiguousarray(img.alpha).data)
    if name is None:
        name = "pasted image" if isinstance(file, bytes) else Path(file).name
    overview, scale = _overview(img.rgb)
    return Source(digest.hexdigest()[:16], name, img.rgb, img.alpha, img.bit_depth, img.mode, overview, scale)


def opening_zoom(size: tuple[int, int], viewport: int) -> float:
    """The zoom a newly loaded image opens at: the smallest that shows real enlargement
    (:data:`MIN_OPENING_ZOOM`, the first sharpened level, whatever the photo's size), or, for an
    image smaller than half the viewport, the largest zoom (≤ ×8) at which it still fits the view."""
    fit = int(viewport) / max(size)
    fit = math.floor(fit / ZOOM_STEP + 1e-9) * ZOOM_STEP  # on the slider's steps, never past the fit
    return round(min(MAX_FACTOR, max(MIN_OPENING_ZOOM, fit)), 2)


def strongest_edges_center(source: Source, zoom: float, viewport: int) -> tuple[float, float]:
    """Centre (source px) of the view with the most edge energy: the Sobel magnitude of the overview's
    luminance summed over every view-sized window inside the image, the largest sum wins. Cheap for any
    image (the overview has at most :data:`OVERVIEW_SIDE` px a side); a flat image gives its centre."""
    gray = cv2.cvtColor(source.overview, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))  # (h, w)
    h, w = magnitude.shape
    side = int(viewport) / max(float(zoom), MIN_FACTOR) * source.overview_scale  # the view, overview px
    kw, kh = (max(1, min(n, round(side))) for n in (w, h))
    s = cv2.integral(magnitude, sdepth=cv2.CV_64F)  # (h + 1, w + 1)
    sums = s[kh:, kw:] - s[:-kh, kw:] - s[kh:, :-kw] + s[:-kh, :-kw]  # (h - kh + 1, w - kw + 1): window at (y, x)
    if sums.max() <= 1e-6 * kw * kh:
        return source.middle
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    scale = source.overview_scale
    return float((x + kw / 2) / scale), float((y + kh / 2) / scale)


def opening_view(source: Source, viewport: int, zoom: float | None = None,
                 center: tuple[float, float] | None = None) -> tuple[float, tuple[float, float]]:
    """(zoom, centre) a newly loaded image opens at: ``zoom`` None -> :func:`opening_zoom`; ``center``
    None -> the view with the strongest edges at that zoom (:func:`strongest_edges_center`)."""
    zoom = opening_zoom(source.size, viewport) if zoom is None else float(zoom)
    return zoom, strongest_edges_center(source, zoom, viewport) if center is None else center


def draw_box(image: np.ndarray, box: tuple[float, float, float, float], color=(255, 200, 0)) -> np.ndarray:
    """uint8 image with the rectangle ``(x0, y0, w, h)`` (image pixels) outlined twice (dark, then bright)."""
    out = image.copy()
    x0, y0, w, h = box
    p0 = (int(round(x0)), int(round(y0)))
    p1 = (int(round(x0 + w)) - 1, int(round(y0 + h)) - 1)
    cv2.rectangle(out, p0, p1, (0, 0, 0), 3, lineType=cv2.LINE_AA)
    cv2.rectangle(out, p0, p1, color, 1, lineType=cv2.LINE_AA)
    return out


# --------------------------------------------------------------------------- models


def weights_label(path: Path) -> str:
    """``name · preset`` for a weights file (preset read from safetensors metadata when cheap)."""
    preset = None
    if path.suffix.lower() == ".safetensors":
        with contextlib.suppress(Exception):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                preset = (f.metadata() or {}).get("preset")
    return f"{path.name} · {preset}" if preset else path.name


class ModelRegistry:
    """Weights files by label; models loaded on first use, at most ``max_models`` kept (LRU).

    ``default_path``: the default weights (None: the bundled file); other files in
    ``assets/weights`` are offered too. The default is loaded now, so a missing or broken
    file fails at start-up.
    """

    def __init__(self, default_path: str | os.PathLike | None = None, max_models: int = MAX_MODELS):
        self.max_models = max_models
        self.paths: dict[str, Path] = {}
        self._loaded: OrderedDict[str, nn.Module] = OrderedDict()
        self._lock = threading.Lock()
        self.choice: PresetChoice | None = None
        if default_path is not None:
            self.default_label = self._register(Path(default_path))
        else:  # the bundled "quality" and "fast" weights; the default measured on this CPU
            bundled = {p: path for p, path in BUNDLED_WEIGHTS.items() if path.exists()}
            if "small" not in bundled:
                raise FileNotFoundError(f"no bundled weights are present ({DEFAULT_WEIGHTS} does not exist)")
            labels = {p: self._register(path, name=f"MSSNet-{p} · {speed.LABELS[p]}", bundled=True)
                      for p, path in bundled.items()}
            self.choice = speed.choose_preset(self.get(labels["small"])) if "tiny" in bundled else None
            self.default_label = labels[self.choice.preset if self.choice else "small"]
        known = {p.resolve() for p in self.paths.values()}
        for path in list_weights():
            if path.resolve() not in known:
                self._register(path)
        self.get(self.default_label)

    @property
    def labels(self) -> list[str]:
        return list(self.paths)

    def why(self, label: str | None) -> str | None:
        """Why ``label`` (None: the default) is the default when the speed test chose it, else None."""
        chosen = self.choice is not None and (label or self.default_label) == self.default_label
        return self.choice.reason if chosen else None

    def _register(self, path: Path, name: str | None = None, bundled: bool = False, uploaded: bool = False) -> str:
        label = name or weights_label(path)
        if bundled:
            label += " (bundled)"
        if uploaded:
            label = f"uploaded: {label}"
        base, n = label, 2
        while label in self.paths and self.paths[label].resolve() != path.resolve():
            label, n = f"{base} #{n}", n + 1
        self.paths[label] = path
        return label

    def _keep(self, label: str, model: nn.Module) -> None:
        """Remember a loaded model as the most recent one; forget the oldest beyond the limit."""
        self._loaded[label] = model
        self._loaded.move_to_end(label)
        while len(self._loaded) > self.max_models:
            self._loaded.popitem(last=False)

    def get(self, label: str | None) -> nn.Module:
        """The MSSNet for a label (None: the default), loaded on first use."""
        label = label or self.default_label
        if label not in self.paths:
            raise ValueError(f"unknown model {label!r}; choose one of {', '.join(self.paths)}")
        with self._lock:
            model = self._loaded.get(label)
            self._keep(label, model if model is not None else load_model(self.paths[label]))
            return self._loaded[label]

    def add(self, path: str | os.PathLike) -> tuple[str, nn.Module]:
        """An uploaded weights file -> (its new label, the loaded model). Bad files raise ``CheckpointError``."""
        model = load_model(path)
        label = self._register(Path(path), uploaded=True)
        with self._lock:
            self._keep(label, model)
        return label, model

    def is_loaded(self, label: str) -> bool:
        return label in self._loaded


# --------------------------------------------------------------------------- views


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


@dataclass(frozen=True)
class SweepStep:
    """One zoom of a sweep: the view and whether it came from the cache."""

    factor: float
    view: View
    cached: bool


def rest_view(source: Source | None, request: str | None, side_max: int, shown: str | None = None
              ) -> tuple[float, tuple[float, float], int] | None:
    """The map at rest (``request``: JSON with ``id, zoom, center_x, center_y, width, height``; image px, screen
    px) -> (zoom, centre, side) of the square the panels explain: the middle of the visible region, ``side_max``
    px at most and no larger than the zoomed image, zoom clamped to 1…8, centre to the image; None for a
    request that does not parse or has no image, or, with ``shown`` (the page's map JSON, as from
    :meth:`mssnet.serve.deepzoom.TileService.info`), a rest of another map (an image replaced meanwhile)."""
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
        self._lock = threading.Lock()

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


def check_download_size(size: tuple[int, int], zoom: float) -> tuple[int, int]:
    """(width, height) of the whole image zoomed; ``ValueError`` above :data:`MAX_DOWNLOAD_PIXELS`."""
    zoom = check_zoom(zoom)
    w, h = size
    ow, oh = max(1, round(w * zoom)), max(1, round(h * zoom))
    if ow * oh > MAX_DOWNLOAD_PIXELS:
        raise ValueError(
            f"×{zoom:g} of this {w}×{h} image is {ow}×{oh} px ({ow * oh / 1e6:.1f} MP); the app's limit "
            f"is {MAX_DOWNLOAD_PIXELS / 1e6:.1f} MP. Lower the zoom, or use the command line: "
            f"python -m mssnet zoom IMAGE -o OUT.png --zoom {zoom:g}"
        )
    return ow, oh


class Studio:
    """Models, pyramids, caches and the computations a studio offers, for any user interface.

    ``model_path``: the default weights (None: the bundled file); ``tile_bytes``: budget of
    the tiles of all pyramids together; ``cache_bytes``: budget of finished views; ``fill``:
    run the background fill (levels 1, then the level in use, ``fill_pixels`` per image at most,
    yielding to views); ``tile``: the pyramids' tile side.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, cache_bytes: int = CACHE_BYTES,
                 tile_bytes: int = TILE_BYTES, max_pyramids: int = MAX_PYRAMIDS, fill: bool = True,
                 fill_pixels: int = FILL_PIXELS, tile: int = DEFAULT_TILE):
        self.models = ModelRegistry(model_path)
        self.cache = ResultCache(cache_bytes)
        self.tiles = TileCache(tile_bytes)
        self.fill = FillWorker(fill_pixels) if fill else None
        self.max_pyramids, self.tile = max_pyramids, tile
        self._pyramids: OrderedDict[tuple[str, str], ZoomPyramid] = OrderedDict()
        self._lock = threading.Lock()
        self.outdir = Path(tempfile.mkdtemp(prefix="zoom-sharpen-"))

    @property
    def default_label(self) -> str:
        return self.models.default_label

    def pyramid(self, source: Source, model_label: str | None = None) -> ZoomPyramid:
        """The pyramid of (image, model), made on first use; the least recently used beyond
        :data:`MAX_PYRAMIDS` is dropped (its background fill cancelled; its tiles age out of the cache)."""
        model_label = model_label or self.default_label
        key = (source.key, model_label)
        with self._lock:
            found = self._pyramids.get(key)
            if found is not None and self.models.is_loaded(model_label):
                self._pyramids.move_to_end(key)
                return found
        model = self.models.get(model_label)
        pyramid = ZoomPyramid(source.rgb, model, tile=self.tile, cache=self.tiles, fill=self.fill)
        with self._lock:
            gone = [(key, self._pyramids.pop(key))] if key in self._pyramids else []  # its model was evicted
            self._pyramids[key] = pyramid
            while len(self._pyramids) > self.max_pyramids:
                gone.append(self._pyramids.popitem(last=False))
        for old_key, old in gone:  # cached views hold their pyramid (image and model): let both go
            old.stop_fill()
            self.cache.drop(old_key)
        return pyramid

    def _key(self, source: Source, zoom: float, center, viewport: int, model_label: str) -> tuple:
        rect = source_rect(source.size, zoom, (viewport, viewport), center)
        return (source.key, model_label, viewport, round(zoom, 4), round(rect[0], 3), round(rect[1], 3))

    def view(self, source: Source, zoom: float, center, viewport: int,
             model_label: str | None = None) -> tuple[View, bool]:
        """The view at (zoom, centre, viewport) -> (view, nothing had to be computed)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        key = self._key(source, zoom, center, viewport, model_label)
        view = self.cache.get(key)
        if view is not None:
            return view, True
        view = compute_view(self.pyramid(source, model_label), model_label, source, zoom, center, viewport)
        self.cache.put(key, view)
        if view.tiles_computed:
            release_memory()
        return view, view.tiles_computed == 0

    def missing_tiles(self, source: Source, zoom: float, center, viewport: int,
                      model_label: str | None = None) -> int:
        """How many tiles of its level the view still needs (0: a crop and a resample serve it)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        if self._key(source, zoom, center, viewport, model_label) in self.cache:
            return 0
        return len(self.pyramid(source, model_label).missing_tiles(zoom, center, (viewport, viewport)))

    def is_cached(self, source: Source, zoom: float, center, viewport: int, model_label: str | None = None) -> bool:
        """True when the view needs no MSSNet pass: every tile it reads is in the tile cache."""
        return self.missing_tiles(source, zoom, center, viewport, model_label) == 0

    def cached_view(self, source: Source, zoom: float, center, viewport: int,
                    model_label: str | None = None) -> View | None:
        """The sharpened view when every tile it needs is cached (a crop and a resample), else None:
        no MSSNet pass runs here."""
        if not self.is_cached(source, zoom, center, viewport, model_label):
            return None
        view, _ = self.view(source, zoom, center, viewport, model_label)
        return view

    @staticmethod
    def bicubic_view(source: Source, zoom: float, center, viewport: int) -> tuple[np.ndarray, float]:
        """What a plain viewer shows (no MSSNet) -> (view (v, v, 3) float32, seconds)."""
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        t0 = time.perf_counter()
        view = bicubic_zoom(source.rgb, zoom, center=center, viewport=(viewport, viewport)).view
        return view, time.perf_counter() - t0

    def sweep(self, source: Source, center, viewport: int, model_label: str | None = None,
              factors: tuple[float, ...] = SWEEP_FACTORS) -> Iterator[SweepStep]:
        """Every zoom in ``factors`` around the same centre, one :class:`SweepStep` at a time (tiles reused)."""
        for factor in factors:
            view, cached = self.view(source, factor, center, viewport, model_label)
            yield SweepStep(factor, view, cached)

    def zoom_full(self, source: Source, zoom: float, model_label: str | None = None,
                  progress: Callable[[int, int], object] | None = None) -> Path:
        """The whole image zoomed by the pyramid rule (levels of 2× steps, then Lanczos down to the zoom)
        -> PNG path (alpha kept, 16-bit kept)."""
        check_download_size(source.size, zoom)
        zoom = float(zoom)
        sharp = pyramid_zoom_image(self.models.get(model_label), source.rgb, zoom, progress=progress)
        alpha = None
        if source.alpha is not None:
            alpha = np.clip(bicubic_zoom(source.alpha, zoom).view, 0.0, 1.0)
        stem = Path(source.name).stem or "image"
        weights = hashlib.sha1((model_label or self.default_label).encode()).hexdigest()[:6]
        path = self.outdir / f"{stem}_x{zoom:g}_mssnet_{source.key[:6]}_{weights}.png"
        self.outdir.mkdir(parents=True, exist_ok=True)
        save_image(path, sharp, alpha, bit_depth=16 if source.bit_depth == 16 else 8)
        del sharp, alpha
        release_memory()
        return path

    def close(self) -> None:
        """Stop the background fill (after its tile in progress; also done at interpreter exit) and
        delete the downloads folder. Views asked for afterwards are computed without a fill."""
        if self.fill is not None:
            self.fill.stop(timeout=30)
            self.fill = None
            with self._lock:
                for pyramid in self._pyramids.values():
                    pyramid.fill = None
        shutil.rmtree(self.outdir, ignore_errors=True)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
