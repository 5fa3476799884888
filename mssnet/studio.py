"""The studio's state without a user interface: loaded images, models, views and their cache.

``app.py`` (Gradio) and the tests use the same objects:

* :class:`Source` — a loaded image (float RGB, alpha, a small overview to click on);
* :class:`ModelRegistry` — weights files by label, loaded on first use, at most
  :data:`MAX_MODELS` kept (least recently used first out);
* :class:`View` — one zoomed viewport: bicubic, MSSNet, the last step's input and stages;
* :class:`ResultCache` — views in an LRU bounded in bytes;
* :class:`Studio` — all of the above together: :meth:`Studio.view` is the one place a
  view is computed or found (:func:`compute_view` does the work), :meth:`Studio.sweep`
  runs every zoom level, :meth:`Studio.zoom_full` writes the whole image for download.

Images here are (H, W, 3) float32 RGB in [0, 1] (NumPy, as :mod:`mssnet.pipeline`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from .io import load_image, save_image, to_uint8
from .memory import release_memory
from .pipeline import zoom_sharpen_image, zoom_sharpen_view
from .weights import DEFAULT_WEIGHTS, list_weights, load_model
from .zoom import MAX_FACTOR, MIN_FACTOR, source_rect
from .zoom import zoom as bicubic_zoom

__all__ = [
    "CACHE_BYTES", "MAX_DOWNLOAD_PIXELS", "MAX_MODELS", "SWEEP_FACTORS", "VIEWPORT_LIMITS",
    "ModelRegistry", "ResultCache", "Source", "Studio", "SweepStep", "View",
    "check_download_size", "check_view_request", "compute_view", "draw_box", "load_source", "weights_label",
]

#: Result cache budget in bytes, and how many loaded models are kept.
CACHE_BYTES = 384 * 2**20
MAX_MODELS = 2
#: Largest output of the whole-image download (pixels); beyond it the command line is the tool.
MAX_DOWNLOAD_PIXELS = 2048 * 2048
#: Smallest and largest viewport side (px).
VIEWPORT_LIMITS = (16, 1024)
#: Zooms of the "every zoom level" sweep.
SWEEP_FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
#: Longest side of the clickable overview image.
OVERVIEW_SIDE = 512


# --------------------------------------------------------------------------- images


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded image. rgb: (H, W, 3) float32 in [0, 1]; overview: small uint8 copy for clicking."""

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

    def overview_with_box(self, zoom: float, center: tuple[float, float] | None, viewport: int) -> np.ndarray:
        """The overview (uint8) with the source rectangle of the view outlined."""
        rect = source_rect(self.size, float(zoom), (int(viewport), int(viewport)), center)
        return draw_box(self.overview, tuple(v * self.overview_scale for v in rect))

    def overview_center(self, x: float, y: float) -> tuple[float, float]:
        """A click at overview pixel (x, y) -> the zoom centre in source pixels (inside the image)."""
        w, h = self.size
        s = self.overview_scale
        return min(max((x + 0.5) / s, 0.0), w), min(max((y + 0.5) / s, 0.0), h)


def _overview(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 copy of the image for the clickable overview, longest side about OVERVIEW_SIDE."""
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
        default = Path(default_path) if default_path is not None else DEFAULT_WEIGHTS
        self.max_models = max_models
        self.paths: dict[str, Path] = {}
        self._loaded: OrderedDict[str, nn.Module] = OrderedDict()
        self._lock = threading.Lock()
        self.default_label = self._register(default, bundled=default_path is None)
        for path in list_weights():
            if path.resolve() != default.resolve():
                self._register(path)
        self.get(self.default_label)

    @property
    def labels(self) -> list[str]:
        return list(self.paths)

    def _register(self, path: Path, bundled: bool = False, uploaded: bool = False) -> str:
        label = weights_label(path)
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


@dataclass(eq=False)
class View:
    """One zoomed viewport and MSSNet's result. Images (vh, vw, 3) float32 in [0, 1]."""

    source_key: str
    model_label: str
    zoom: float
    viewport: int
    rect: tuple[float, float, float, float]  # source rectangle (x0, y0, w, h)
    bicubic: np.ndarray
    sharpened: np.ndarray
    model_input: np.ndarray  # the last MSSNet step's input (``bicubic`` itself for zooms up to ×2)
    steps: tuple[float, ...]  # zoom step factors (mssnet.pipeline)
    stages: list[np.ndarray]  # six uint8 (vh, vw, 3), the last step's
    seconds: dict[str, float]  # "bicubic zoom", "MSSNet" (and what a UI adds, e.g. "heat maps")
    strengths: tuple[float, ...] = ()  # correction strength α of each step (mssnet.strength)
    rendered: dict[str, str] = field(default_factory=dict)  # a UI's renderings of this view (e.g. PNG paths)

    @property
    def last_strength(self) -> float:
        """α applied at the last step, whose input and stages the tabs show (1 without a table)."""
        return self.strengths[-1] if self.strengths else 1.0

    @property
    def nbytes(self) -> int:
        extra = 0 if self.model_input is self.bicubic else self.model_input.nbytes
        return (self.bicubic.nbytes + self.sharpened.nbytes + extra + sum(s.nbytes for s in self.stages)
                + 4 * 2**20)


class ResultCache:
    """Thread-safe LRU of :class:`View` objects bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, View] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

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
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key).nbytes
            self._items[key] = view
            self._bytes += view.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes


def check_view_request(
    source: Source, zoom: float, center: tuple[float, float] | None, viewport: int
) -> tuple[float, tuple[float, float], int]:
    """Checked (zoom, centre, viewport): zoom in [1, 8], viewport in :data:`VIEWPORT_LIMITS`,
    centre defaulting to the image centre. Raises ``ValueError`` with the limits."""
    zoom = float(zoom)
    if not MIN_FACTOR <= zoom <= MAX_FACTOR:
        raise ValueError(f"zoom must be between {MIN_FACTOR:g} and {MAX_FACTOR:g}; got {zoom:g}")
    viewport = int(viewport)
    lo, hi = VIEWPORT_LIMITS
    if not lo <= viewport <= hi:
        raise ValueError(f"viewport must be between {lo} and {hi} px; got {viewport}")
    w, h = source.size
    center = (w / 2, h / 2) if center is None else (float(center[0]), float(center[1]))
    return zoom, center, viewport


def compute_view(model: nn.Module, model_label: str, source: Source, zoom: float,
                 center: tuple[float, float], viewport: int) -> View:
    """Bicubic viewport + MSSNet in steps (with the last step's six stages), no cache.

    Arguments as :func:`check_view_request` returns them. A zoom pyramid can replace the
    body of this function without any caller noticing.
    """
    result = zoom_sharpen_view(model, source.rgb, zoom, (viewport, viewport), center, stages=True)
    seconds = {"bicubic zoom": result.seconds["bicubic"], "MSSNet": result.seconds["mssnet"]}
    return View(source.key, model_label, zoom, viewport, result.rect, result.bicubic, result.sharpened,
                result.model_input, result.steps, [to_uint8(s) for s in result.stages], seconds,
                result.strengths)


@dataclass(frozen=True)
class SweepStep:
    """One zoom of a sweep: the view and whether it came from the cache."""

    factor: float
    view: View
    cached: bool


def check_download_size(size: tuple[int, int], zoom: float) -> tuple[int, int]:
    """(width, height) of the whole image zoomed; ``ValueError`` above :data:`MAX_DOWNLOAD_PIXELS`."""
    zoom = float(zoom)
    if not MIN_FACTOR <= zoom <= MAX_FACTOR:
        raise ValueError(f"zoom must be between {MIN_FACTOR:g} and {MAX_FACTOR:g}; got {zoom:g}")
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
    """Models, the result cache and the computations a studio offers, for any user interface.

    ``model_path``: the default weights (None: the bundled file).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, cache_bytes: int = CACHE_BYTES):
        self.models = ModelRegistry(model_path)
        self.cache = ResultCache(cache_bytes)
        self.outdir = Path(tempfile.mkdtemp(prefix="zoom-sharpen-"))

    @property
    def default_label(self) -> str:
        return self.models.default_label

    def _key(self, source: Source, zoom: float, center, viewport: int, model_label: str) -> tuple:
        rect = source_rect(source.size, zoom, (viewport, viewport), center)
        return (source.key, model_label, viewport, round(zoom, 4), round(rect[0], 3), round(rect[1], 3))

    def view(self, source: Source, zoom: float, center, viewport: int,
             model_label: str | None = None) -> tuple[View, bool]:
        """The view at (zoom, centre, viewport) -> (view, came from the cache)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        key = self._key(source, zoom, center, viewport, model_label)
        view = self.cache.get(key)
        if view is not None:
            return view, True
        view = compute_view(self.models.get(model_label), model_label, source, zoom, center, viewport)
        self.cache.put(key, view)
        release_memory()
        return view, False

    def cached_view(self, source: Source, zoom: float, center, viewport: int,
                    model_label: str | None = None) -> View | None:
        """The view if it is in the cache, else None (nothing is computed)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        return self.cache.get(self._key(source, zoom, center, viewport, model_label))

    @staticmethod
    def bicubic_view(source: Source, zoom: float, center, viewport: int) -> tuple[np.ndarray, float]:
        """What a plain viewer shows (no MSSNet) -> (view (v, v, 3) float32, seconds)."""
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        t0 = time.perf_counter()
        view = bicubic_zoom(source.rgb, zoom, center=center, viewport=(viewport, viewport)).view
        return view, time.perf_counter() - t0

    def sweep(self, source: Source, center, viewport: int, model_label: str | None = None,
              factors: tuple[float, ...] = SWEEP_FACTORS) -> Iterator[SweepStep]:
        """Every zoom in ``factors`` around the same centre, one :class:`SweepStep` at a time (cached)."""
        for factor in factors:
            view, cached = self.view(source, factor, center, viewport, model_label)
            yield SweepStep(factor, view, cached)

    def zoom_full(self, source: Source, zoom: float, model_label: str | None = None,
                  progress: Callable[[int, int], object] | None = None) -> Path:
        """The whole image enlarged ×zoom and sharpened (tiled) -> PNG path (alpha kept, 16-bit kept)."""
        check_download_size(source.size, zoom)
        zoom = float(zoom)
        sharp = zoom_sharpen_image(self.models.get(model_label), source.rgb, zoom, progress=progress)
        alpha = None
        if source.alpha is not None:
            alpha = np.clip(bicubic_zoom(source.alpha, zoom).view, 0.0, 1.0)
        stem = Path(source.name).stem or "image"
        path = self.outdir / f"{stem}_x{zoom:g}_mssnet_{source.key[:6]}.png"
        save_image(path, sharp, alpha, bit_depth=16 if source.bit_depth == 16 else 8)
        del sharp, alpha
        release_memory()
        return path
