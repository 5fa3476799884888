"""Zoom & Sharpen: the Gradio studio.

    python app.py                 # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT respected)
    python app.py --mcp           # also serve the API as an MCP server (or ZS_MCP=1; needs gradio[mcp])
    python app.py --weights model_03000E.pt

UI only. :func:`build_demo` returns the ``gr.Blocks``; :class:`Studio` holds the model(s)
and the result cache, and its methods are the event handlers: they convert Gradio
values (file paths, floats, numpy uint8) to the packages' conventions, call
``mssnet`` and ``explain``, and convert back. Bad input (``ValueError``, which covers
``ImageError`` and ``CheckpointError``) becomes a ``gr.Error`` with its one-line
message; the server stays up.

Feel: the bicubic view follows the zoom slider while it moves (``.input``); MSSNet
runs when the slider is released (``.release``, ``trigger_mode="always_last"``);
results are cached per (image, zoom, centre, viewport, model) in a bounded LRU, so
going back to a view is instant. The queue is bounded and the events that run the
model have concurrency limits, so a crowd slows the app down instead of crashing it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import ctypes.util
import hashlib
import html
import math
import os
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import gradio as gr
import numpy as np
import torch
from gradio.utils import get_upload_folder
from matplotlib.figure import Figure

import explain
import mssnet
from mssnet import degrade
from mssnet.pipeline import zoom_sharpen_image, zoom_sharpen_view, zoom_steps
from mssnet.zoom import MAX_FACTOR, MIN_FACTOR, source_rect

ROOT = Path(__file__).resolve().parent
EXAMPLES_DIR = ROOT / "assets" / "examples"
#: Examples shown under the upload, photographs first.
EXAMPLES = ("astronaut.png", "chelsea.png", "coffee.png", "siemens_star.png", "zone_plate.png", "fine_text.png")

VIEWPORTS = (256, 384, 512)
DEFAULT_VIEWPORT = 256
DEFAULT_ZOOM = 2.0
SWEEP_FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
#: Longest side of the clickable overview image.
OVERVIEW_SIDE = 512
#: Result cache budget (bytes) and loaded-model count.
CACHE_BYTES = 384 * 2**20
MAX_MODELS = 2
#: Largest output of the full-image download (pixels); beyond it the CLI is the tool.
MAX_DOWNLOAD_PIXELS = 2048 * 2048
#: Attribution: crop side around the window, default window side and steps.
ATTR_CROP = 128
ATTR_WINDOWS = (8, 16, 32)
ATTR_STEPS = 16
ATTR_METHODS = ("Blur path (LAM)", "Gradient saliency", "SmoothGrad")
#: Queue: waiting events at most; concurrent model runs per event group.
QUEUE_SIZE = 16
#: Heat-map figures are rendered at this dpi (the figures are 6 x 5.4 inches).
FIGURE_DPI = 72

MAP_CAPTIONS = {
    "edge_before": "Bright = strong edges. Bicubic spreads each edge over several pixels: wide, dim lines.",
    "edge_after": "Bright = strong edges after MSSNet. Sharpened edges are thinner and brighter.",
    "edge_gain": "Red: edges MSSNet made stronger. Blue: edges it weakened (noise, ringing).",
    "sharpening": "How much each pixel changed (RGB distance). Dark = left as bicubic had it.",
}


# --------------------------------------------------------------------------- values kept between events


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded image. rgb: (H, W, 3) float32 in [0, 1]; overview: small uint8 copy for clicking."""

    key: str
    name: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    mode: str
    overview: np.ndarray
    overview_scale: float  # overview pixels per source pixel

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(eq=False)
class View:
    """One zoomed viewport and MSSNet's result. Images (vh, vw, 3) float32 in [0, 1]."""

    source_key: str
    model: str
    zoom: float
    viewport: int
    rect: tuple[float, float, float, float]
    bicubic: np.ndarray
    sharpened: np.ndarray
    model_input: np.ndarray  # the last MSSNet step's input (``bicubic`` itself for zooms up to ×2)
    steps: tuple[float, ...]  # zoom step factors (mssnet.pipeline)
    stages: list[np.ndarray]  # six uint8 (vh, vw, 3), the last step's
    seconds: dict[str, float]
    strengths: tuple[float, ...] = ()  # correction strength α of each step (mssnet.strength)
    maps: dict[str, str] = field(default_factory=dict)  # rendered heat maps (PNG paths), filled lazily

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

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> View | None:
        with self._lock:
            view = self._items.get(key)
            if view is not None:
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


# --------------------------------------------------------------------------- small conversions


@contextlib.contextmanager
def user_errors(path: str | None = None) -> Iterator[None]:
    """Turn the packages' input errors into ``gr.Error`` with their one-line message.

    ``path``: a temporary upload path to replace by its file name in messages.
    """
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, FileNotFoundError) as exc:  # ImageError and CheckpointError are ValueErrors
        message = str(exc)
        if path:
            message = message.replace(str(path), Path(path).name)
        raise gr.Error(html.escape(message), title="Cannot do that", print_exception=False) from None
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "alloc" not in str(exc) and "out of memory" not in str(exc):
            raise
        raise gr.Error("Not enough memory for this image at this size; try a smaller zoom or viewport.",
                       print_exception=False) from None


def to_u8(image: np.ndarray) -> np.ndarray:
    """Float (H, W, 3) in [0, 1] (overshoot clipped) -> uint8 for display."""
    return mssnet.to_uint8(image)


def png(image: np.ndarray) -> str:
    """Write an image for display as a PNG in Gradio's cache folder; return its path.

    Float images (clipped) or uint8. Files are named by their pixels, so an image
    shown twice (the comparison and the side-by-side, a cached view) is encoded once,
    with fast zlib level 1 (4x faster than Gradio's default, files ~10 % larger).
    Gradio serves files in its cache folder without copying them.
    """
    u8 = np.ascontiguousarray(to_u8(image))
    digest = hashlib.sha1(u8.data)
    digest.update(repr(u8.shape).encode())
    folder = Path(get_upload_folder()) / "zoom-sharpen"
    path = folder / f"{digest.hexdigest()[:24]}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(".png", u8[..., ::-1] if u8.ndim == 3 else u8, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        assert ok, "OpenCV could not encode a PNG"
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}")  # written whole, then renamed
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    return str(path)


def fig_png(fig: Figure) -> str:
    """Render a matplotlib figure at :data:`FIGURE_DPI` -> PNG path (see :func:`png`)."""
    fig.set_dpi(FIGURE_DPI)
    return png(explain.figure_to_array(fig))


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _strength_phrase(view: View) -> str:
    """'; correction strength α = 0.37 (calibrated for a ×1.50 step)' — empty when α is 1."""
    if not view.strengths or all(a == 1.0 for a in view.strengths):
        return ""
    if not any(view.strengths):
        return "; correction strength α = 0: without zoom blur there is nothing to undo"
    if len(view.strengths) == 1:
        return f"; correction strength α = {view.strengths[0]:.2f} (calibrated for a ×{view.steps[0]:.2f} step)"
    return "; correction strength α = " + " then ".join(f"{a:.2f}" for a in view.strengths) + " (calibrated per step)"


def _step_list(steps) -> str:
    """'2 steps, ×2.00 then ×1.50' for the zoom step factors."""
    return f"{len(steps)} steps, " + " then ".join(f"×{s:.2f}" for s in steps)


def _steps_phrase(zoom: float) -> str:
    """'in one step' or 'in 2 steps, ×2.00 then ×1.50 (bicubic + MSSNet each)'."""
    steps = zoom_steps(zoom)
    return "in one step" if len(steps) == 1 else f"in {_step_list(steps)} (bicubic + MSSNet each)"


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (Linux), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


def limit_malloc_arenas(count: int = 2) -> None:
    """Let glibc keep at most ``count`` malloc arenas. Every Gradio worker thread otherwise gets its
    own, and freed image buffers stay scattered over them: a server answering 100 requests a round
    grew by ~200 MiB per round in ``bench/load.py``. No effect off glibc."""
    if _LIBC is not None:
        _LIBC.mallopt(-8, int(count))  # M_ARENA_MAX


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc ``malloc_trim``), after big results."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _draw_box(image: np.ndarray, box: tuple[float, float, float, float], color=(255, 200, 0)) -> np.ndarray:
    """uint8 image with the rectangle ``(x0, y0, w, h)`` (image pixels) outlined twice (dark, then bright)."""
    out = image.copy()
    x0, y0, w, h = box
    p0 = (int(round(x0)), int(round(y0)))
    p1 = (int(round(x0 + w)) - 1, int(round(y0 + h)) - 1)
    cv2.rectangle(out, p0, p1, (0, 0, 0), 3, lineType=cv2.LINE_AA)
    cv2.rectangle(out, p0, p1, color, 1, lineType=cv2.LINE_AA)
    return out


def _overview(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 copy of the image for the clickable overview, longest side about OVERVIEW_SIDE."""
    h, w = rgb.shape[:2]
    scale = OVERVIEW_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST  # tiny images: show the pixels
    return to_u8(cv2.resize(rgb, size, interpolation=interp)), size[0] / w


def _upload_source(payload: Any) -> Any:
    """What an image upload hands the handlers: the file's path (or bytes for a data URL)."""
    if payload is None:
        return None
    url = getattr(payload, "url", None) or ""
    if url.startswith("data:"):
        return base64.b64decode(url.split(",", 1)[1])
    return payload.path


@contextlib.contextmanager
def _no_pyi_stub() -> Iterator[None]:
    """Gradio's component metaclass writes a ``.pyi`` stub next to the module of every new
    Component subclass (meant for custom-component packages); skip it for the one here."""
    from gradio import component_meta

    original = component_meta.create_or_modify_pyi
    component_meta.create_or_modify_pyi = lambda *args, **kwargs: None
    try:
        yield
    finally:
        component_meta.create_or_modify_pyi = original


with _no_pyi_stub():

    class ImageUpload(gr.Image):
        """A ``gr.Image`` upload whose handlers receive the file untouched (its path).

        Gradio's own preprocessing opens the file with Pillow and fails with a bare
        "Error" on corrupt or exotic files; here ``mssnet.load_image`` decodes it (EXIF
        rotation, 16-bit, alpha) and reports any problem in one clear message.
        """

        is_template = True  # the frontend renders it as a plain Image

        def preprocess(self, payload: Any) -> Any:
            return _upload_source(payload)


def image_input(**kwargs: Any) -> gr.Image:
    """An :class:`ImageUpload` for file paths, any image mode."""
    return ImageUpload(type="filepath", image_mode=None, **kwargs)


def _weights_label(path: Path) -> str:
    """``name · preset`` for a weights file (preset read from safetensors metadata when cheap)."""
    preset = None
    if path.suffix.lower() == ".safetensors":
        with contextlib.suppress(Exception):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                preset = (f.metadata() or {}).get("preset")
    return f"{path.name} · {preset}" if preset else path.name


# --------------------------------------------------------------------------- the studio


class Studio:
    """Models, cache and event handlers of the app (no Gradio layout here).

    ``model_path``: the default weights (None: the bundled ``assets/weights`` file).
    Other weights in ``assets/weights`` are offered too and loaded on first use.
    """

    def __init__(self, model_path: str | os.PathLike | None = None):
        default = Path(model_path) if model_path is not None else mssnet.DEFAULT_WEIGHTS
        self.weights: dict[str, Path] = {}
        self.default_model = self._register(default, bundled=model_path is None)
        for path in mssnet.list_weights():
            if path.resolve() != default.resolve():
                self._register(path)
        self._models: OrderedDict[str, torch.nn.Module] = OrderedDict()
        self._model_lock = threading.Lock()
        self.cache = ResultCache()
        self.outdir = Path(tempfile.mkdtemp(prefix="zoom-sharpen-"))
        self.model(self.default_model)  # load once now: a missing or broken default fails at start-up

    # ------------------------------------------------------------------ models

    def _register(self, path: Path, bundled: bool = False, uploaded: bool = False) -> str:
        label = _weights_label(path)
        if bundled:
            label += " (bundled)"
        if uploaded:
            label = f"uploaded: {label}"
        base, n = label, 2
        while label in self.weights and self.weights[label].resolve() != path.resolve():
            label, n = f"{base} #{n}", n + 1
        self.weights[label] = path
        return label

    @property
    def model_choices(self) -> list[str]:
        return list(self.weights)

    def model(self, label: str | None) -> torch.nn.Module:
        """The MSSNet for a dropdown label (loaded on first use; at most MAX_MODELS kept)."""
        label = label or self.default_model
        if label not in self.weights:
            raise ValueError(f"unknown model {label!r}; choose one of {', '.join(self.weights)}")
        with self._model_lock:
            if label not in self._models:
                self._models[label] = mssnet.load_model(self.weights[label])
                while len(self._models) > MAX_MODELS:
                    self._models.popitem(last=False)
            self._models.move_to_end(label)
            return self._models[label]

    def add_weights(self, file: str | None):
        """Upload of a weights file -> the model dropdown (with the new file chosen) and a note."""
        if file is None:
            return gr.skip(), gr.skip()
        with user_errors(file):
            model = mssnet.load_model(file)
        label = self._register(Path(file), uploaded=True)
        with self._model_lock:
            self._models[label] = model
            while len(self._models) > MAX_MODELS:
                self._models.popitem(last=False)
        cfg = model.config
        note = f"Loaded **{html.escape(Path(file).name)}**: MSSNet-{cfg.name or 'custom'} (wf={cfg.wf})."
        return gr.Dropdown(choices=self.model_choices, value=label), note

    def model_note(self, label: str | None) -> str:
        label = label or self.default_model
        path = self.weights.get(label)
        return f"Weights file: `{path.name}`" if path else ""

    # ------------------------------------------------------------------ loading

    def load(self, file: str | bytes | None, zoom: float = DEFAULT_ZOOM, viewport: int = DEFAULT_VIEWPORT):
        """Input image -> (source, centre, overview with the view's rectangle, info). ``None`` clears."""
        if file is None:
            return None, None, None, "Upload or paste an image, or pick an example."
        path = file if isinstance(file, str) else None
        with user_errors(path):
            img = mssnet.load_image(file)
        digest = hashlib.sha1(np.ascontiguousarray(img.rgb).data)  # no copy of a large image
        if img.alpha is not None:
            digest.update(np.ascontiguousarray(img.alpha).data)
        name = Path(file).name if path else "pasted image"
        overview, scale = _overview(img.rgb)
        source = Source(digest.hexdigest()[:16], name, img.rgb, img.alpha, img.bit_depth, img.mode,
                        overview, scale)
        center = (img.size[0] / 2, img.size[1] / 2)
        with user_errors():
            overview = png(self._overview_with_box(source, zoom, center, viewport))
        return source, center, overview, self.describe(source)

    @staticmethod
    def describe(source: Source) -> str:
        w, h = source.size
        lines = [f"**{html.escape(source.name)}**: {w}×{h} px, {source.mode}, {source.bit_depth}-bit"]
        if source.alpha is not None:
            lines.append("Transparency: the views show the colour channels; the download keeps the alpha.")
        if source.bit_depth == 16:
            lines.append("16-bit image: processed in floating point, shown as 8-bit, downloaded as 16-bit PNG.")
        if source.mode in ("L", "LA", "1", "I;16", "I", "F"):
            lines.append("Gray image: processed as RGB (all three channels equal).")
        if min(w, h) < 64:
            lines.append("Very small image: at any zoom the viewport shows single pixels enlarged.")
        return "  \n".join(lines)

    # ------------------------------------------------------------------ views

    @staticmethod
    def _params(source: Source, zoom: float, center, viewport) -> tuple[float, tuple[float, float], int]:
        zoom = float(zoom)
        if not MIN_FACTOR <= zoom <= MAX_FACTOR:
            raise ValueError(f"zoom must be between {MIN_FACTOR:g} and {MAX_FACTOR:g}; got {zoom:g}")
        viewport = int(viewport)
        if not 16 <= viewport <= 1024:
            raise ValueError(f"viewport must be between 16 and 1024 px; got {viewport}")
        w, h = source.size
        center = (w / 2, h / 2) if center is None else (float(center[0]), float(center[1]))
        return zoom, center, viewport

    def _key(self, source: Source, zoom: float, center, viewport: int, model: str) -> tuple:
        rect = source_rect(source.size, zoom, (viewport, viewport), center)
        return (source.key, model, viewport, round(zoom, 4), round(rect[0], 3), round(rect[1], 3))

    def _overview_with_box(self, source: Source, zoom: float, center, viewport: int) -> np.ndarray:
        rect = source_rect(source.size, float(zoom), (int(viewport), int(viewport)), center)
        s = source.overview_scale
        return _draw_box(source.overview, tuple(v * s for v in rect))

    def compute_view(self, source: Source, zoom: float, center, viewport, model: str | None) -> tuple[View, bool]:
        """Bicubic viewport + MSSNet (with its six stages), from the cache when possible."""
        model = model or self.default_model
        zoom, center, viewport = self._params(source, zoom, center, viewport)
        key = self._key(source, zoom, center, viewport, model)
        view = self.cache.get(key)
        if view is not None:
            return view, True
        result = zoom_sharpen_view(self.model(model), source.rgb, zoom, (viewport, viewport), center, stages=True)
        seconds = {"bicubic zoom": result.seconds["bicubic"], "MSSNet": result.seconds["mssnet"]}
        view = View(source.key, model, zoom, viewport, result.rect, result.bicubic, result.sharpened,
                    result.model_input, result.steps, [to_u8(s) for s in result.stages], seconds,
                    result.strengths)
        self.cache.put(key, view)
        release_memory()
        return view, False

    @staticmethod
    def timing(view: View, cached: bool) -> str:
        """The time line under the controls: each step of this view (heat maps once drawn)."""
        parts = [f"bicubic zoom {fmt_seconds(view.seconds['bicubic zoom'])}"]
        mss = fmt_seconds(view.seconds["MSSNet"])
        if len(view.steps) > 1:
            mss += f" ({_step_list(view.steps)})"
        parts.append(f"MSSNet 0 ms (cached; computed in {mss})" if cached else f"MSSNet {mss}")
        if "heat maps" in view.seconds:
            parts.append(f"heat maps {fmt_seconds(view.seconds['heat maps'])}")
        x0, y0, w, h = view.rect
        return (f"Time: {' · '.join(parts)}  \nView {view.viewport}×{view.viewport} px at ×{view.zoom:.2f} of "
                f"source region x {x0:.0f}–{x0 + w:.0f}, y {y0:.0f}–{y0 + h:.0f}" + _strength_phrase(view))

    def preview(self, source: Source | None, zoom: float, center, viewport, model: str | None):
        """While the slider moves: bicubic only, or the cached MSSNet view if there is one.

        -> (comparison, bicubic, MSSNet, overview, timing); MSSNet is skipped unless cached.
        """
        if source is None:
            return (gr.skip(),) * 5
        model = model or self.default_model
        with user_errors():
            zoom, center, viewport = self._params(source, zoom, center, viewport)
            key = self._key(source, zoom, center, viewport, model)
            overview = png(self._overview_with_box(source, zoom, center, viewport))
            view = self.cache.get(key)
            if view is not None:
                bicubic, sharp = png(view.bicubic), png(view.sharpened)
                pair = gr.ImageSlider(value=(bicubic, sharp), label="Bicubic ◀ ▶ MSSNet")
                return pair, bicubic, sharp, overview, self.timing(view, cached=True)
            t0 = time.perf_counter()
            bicubic = png(mssnet.zoom(source.rgb, zoom, center=center, viewport=(viewport, viewport)).view)
            seconds = time.perf_counter() - t0
            if self.cache.get(key) is not None:  # MSSNet finished meanwhile: show it, never hide it
                return self.preview(source, zoom, center, viewport, model)
        pair = gr.ImageSlider(value=(bicubic, bicubic), label="Bicubic ◀ ▶ MSSNet (release the slider to run MSSNet)")
        timing = f"Time: bicubic zoom {fmt_seconds(seconds)} · MSSNet: runs when you release the slider"
        return pair, bicubic, gr.skip(), overview, timing

    def run(self, source: Source | None, zoom: float, center, viewport, model: str | None):
        """On slider release (and any other change of view): bicubic + MSSNet.

        -> (comparison, bicubic, MSSNet, overview, timing, view); images as PNG paths.
        """
        if source is None:
            return (gr.skip(),) * 6
        with user_errors():
            view, cached = self.compute_view(source, zoom, center, viewport, model)
            overview = png(self._overview_with_box(source, view.zoom, center, view.viewport))
        bicubic, sharp = png(view.bicubic), png(view.sharpened)
        pair = gr.ImageSlider(value=(bicubic, sharp), label="Bicubic ◀ ▶ MSSNet")
        return pair, bicubic, sharp, overview, self.timing(view, cached), view

    def maps(self, view: View | None, timing: str = "", window=None, side: int = ATTR_WINDOWS[1]):
        """Heat maps of a view -> (edge before, edge after, edge gain, sharpening map, timing,
        attribution view). Rendered once per view (kept with it in the cache).

        ``timing``: the text :meth:`run` showed (it says whether the view came from the cache).
        ``window``, ``side``: the attribution window drawn on the attribution tab's copy of the view.
        """
        if view is None:
            return (gr.skip(),) * 6
        if not view.maps or not all(os.path.exists(p) for p in view.maps.values()):  # cache cleaned up
            t0 = time.perf_counter()
            bicubic, sharp = view.bicubic, view.sharpened
            specs = {
                "edge_before": (explain.edge_magnitude(bicubic), "Edge magnitude: bicubic", False),
                "edge_after": (explain.edge_magnitude(sharp), "Edge magnitude: MSSNet", False),
                "edge_gain": (explain.edge_gain(bicubic, sharp), "Edge gain (MSSNet - bicubic)", True),
                "sharpening": (explain.sharpening_map(bicubic, sharp), "Sharpening map |change|", False),
            }
            view.maps = {
                name: fig_png(explain.plot_heatmap(sharp if name != "edge_before" else bicubic, heat,
                                                     title=title, caption=MAP_CAPTIONS[name], signed=signed))
                for name, (heat, title, signed) in specs.items()
            }
            view.seconds["heat maps"] = time.perf_counter() - t0
        maps = (view.maps[k] for k in ("edge_before", "edge_after", "edge_gain", "sharpening"))
        timing = self.timing(view, cached="(cached" in (timing or ""))
        return (*maps, timing, self.window_image(view, window, side))

    def pick_center(self, source: Source | None, evt: gr.SelectData):
        """Click on the overview -> new zoom centre in source pixels."""
        if source is None or evt is None or evt.index is None:
            return gr.skip()
        x, y = evt.index[:2]
        w, h = source.size
        s = source.overview_scale
        return (min(max((x + 0.5) / s, 0.0), w), min(max((y + 0.5) / s, 0.0), h))

    # ------------------------------------------------------------------ attribution

    @staticmethod
    def _window(view: View, window, side: int) -> tuple[int, int, int, int]:
        """Window (x0, y0, side, side) in viewport pixels around the clicked point (default: centre)."""
        h, w = view.sharpened.shape[:2]
        side = min(int(side), w, h)
        cx, cy = (w / 2, h / 2) if window is None else window
        x0 = int(min(max(round(cx - side / 2), 0), w - side))
        y0 = int(min(max(round(cy - side / 2), 0), h - side))
        return x0, y0, side, side

    def window_image(self, view: View | None, window=None, side: int = ATTR_WINDOWS[1]):
        if view is None:
            return None
        x0, y0, s, _ = self._window(view, window, side)
        c = min(ATTR_CROP, *view.sharpened.shape[:2])
        cx0, cy0 = self._crop_origin(view, (x0, y0, s, s), c)
        image = _draw_box(to_u8(view.sharpened), (cx0, cy0, c, c), color=(80, 160, 255))
        return png(_draw_box(image, (x0, y0, s, s), color=(0, 255, 0)))

    @staticmethod
    def _crop_origin(view: View, win: tuple[int, int, int, int], crop: int) -> tuple[int, int]:
        h, w = view.sharpened.shape[:2]
        x0, y0, s, _ = win
        cx0 = int(min(max(x0 + s // 2 - crop // 2, 0), w - crop))
        cy0 = int(min(max(y0 + s // 2 - crop // 2, 0), h - crop))
        return cx0, cy0

    def pick_window(self, view: View | None, side: int, evt: gr.SelectData):
        """Click on a sharpened view -> window centre (viewport pixels) and the view with the window drawn."""
        if view is None or evt is None or evt.index is None:
            return gr.skip(), gr.skip()
        window = (float(evt.index[0]) + 0.5, float(evt.index[1]) + 0.5)
        return window, self.window_image(view, window, side)

    def explain_window(self, view: View | None, window, method: str, steps: int, side: int,
                       progress=gr.Progress()):
        """Attribution for the chosen window -> (figure, explanation markdown)."""
        if view is None:
            raise gr.Error("Load an image first: the window is chosen in the MSSNet view.", print_exception=False)
        if method not in ATTR_METHODS:
            raise gr.Error(f"Unknown method {html.escape(str(method))}.", print_exception=False)
        alpha = view.last_strength
        if alpha == 0:
            return None, (f"At ×{view.zoom:.2f} there is no zoom blur to undo: the calibrated correction strength "
                          "is 0, MSSNet's view is the bicubic view, and no pixel pushed any edge. Zoom in to see "
                          "what the network sharpens.")
        t0 = time.perf_counter()
        win = self._window(view, window, side)
        crop = min(ATTR_CROP, *view.model_input.shape[:2])
        cx0, cy0 = self._crop_origin(view, win, crop)
        patch = view.model_input[cy0:cy0 + crop, cx0:cx0 + crop]  # (crop, crop, 3): what the last step saw
        local = (win[0] - cx0, win[1] - cy0, win[2], win[3])  # window inside the crop
        x = torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1)[None]  # (1, 3, crop, crop)
        net = self.model(view.model)
        fn = explain.edge_gain_objective(net, local, strength=alpha)
        steps = int(steps)

        def report(done: int, total: int) -> None:
            progress(done / total, desc=f"{method}: gradient {done} of {total}")

        progress(0, desc=f"{method}: starting")
        with user_errors():
            if method == ATTR_METHODS[0]:
                attr = explain.blur_path_attribution(fn, x, n_steps=steps, internal_batch_size=2, progress=report)
            elif method == ATTR_METHODS[1]:
                attr = explain.saliency(fn, x)
            else:
                attr = explain.smoothgrad(fn, x, sigma=0.05, n=steps, internal_batch_size=2, progress=report)
            with torch.no_grad():
                gain = float(fn(x)[0])
        di = float(explain.diffusion_index(attr[0]))
        fig = explain.plot_attribution(patch, attr[0], local, di=di, title=f"{method}: where MSSNet looked")
        seconds = time.perf_counter() - t0
        if di < 25:
            meaning = ("the attribution is **concentrated** near the window: MSSNet sharpened these edges "
                       "mostly from the pixels right around them.")
        elif di < 50:
            meaning = ("the attribution is **moderately spread**: besides the window, MSSNet used "
                       "structure from the surrounding area (edges continuing through the window).")
        else:
            meaning = ("the attribution is **widely spread** over the crop: MSSNet drew on context far from "
                       "the window, which its coarse-to-fine, multi-scale design makes possible.")
        last = (f" (the last of {len(view.steps)} zoom steps: the bicubic enlargement of the previous step's "
                "result)" if len(view.steps) > 1 else " (the bicubic view)")
        text = (f"**Diffusion Index {di:.1f}** (0 = a few pixels, 100 = evenly everywhere): {meaning}  \n"
                f"Explained quantity: edge strength MSSNet *added* inside the {win[2]}×{win[3]} px window "
                f"(sum of Sobel gain {gain:+.3f}"
                + (f", at the calibrated correction strength α = {alpha:.2f}" if alpha != 1.0 else "")
                + f"). The map shows which pixels of MSSNet's input{last}, in a "
                f"{crop}×{crop} px crop around the window, pushed that number up or down; bright = strong "
                f"influence.  \nTime: {method}, {steps if method != ATTR_METHODS[1] else 1} gradient step(s): "
                f"{fmt_seconds(seconds)}")
        return fig_png(fig), text

    # ------------------------------------------------------------------ stages, sweep, simulate

    def stages(self, view: View | None):
        """MSSNet's six outputs as edge maps -> (figure, table markdown)."""
        if view is None:
            return None, "Load an image first; the stages are shown for the current view."
        t0 = time.perf_counter()
        fig = explain.plot_stage_gallery(view.stages, mssnet.STAGE_NAMES)
        image = fig_png(fig)
        base = explain.mean_edge_energy(view.model_input)
        stepped = len(view.steps) > 1
        rows = ["| output | mean edge energy | vs MSSNet's input |", "| --- | ---: | ---: |",
                f"| input ({'last step' if stepped else 'bicubic view'}) | {base:.4f} | |"]
        for name, stage in zip(mssnet.STAGE_NAMES, view.stages, strict=True):
            energy = explain.mean_edge_energy(stage)
            ratio = f"{energy / base:.2f}×" if base > 0 else ""
            rows.append(f"| {name} | {energy:.4f} | {ratio} |")
        steps = (f"This ×{view.zoom:.2f} zoom ran in {_step_list(view.steps)}; the "
                 "stages shown are the last step's, whose input is the bicubic enlargement of the previous "
                 "step's sharpened image.  \n" if stepped else "")
        alpha = view.last_strength
        applied = ("" if alpha == 1.0 else f"The view shows input + {alpha:.2f} × (final stage − input): the "
                   f"correction strength calibrated for ×{view.steps[-1]:.2f} steps.  \n")
        text = (steps + "Each stage adds a correction to the blurry input; the coarse stage fixes the large "
                "edges at half resolution, the later stages add finer and finer detail.  \n" + applied + "\n"
                + "\n".join(rows) + f"\n\nTime: figure {fmt_seconds(time.perf_counter() - t0)}")
        return image, text

    def sweep(self, source: Source | None, center, viewport, model: str | None, progress=gr.Progress()):
        """Bicubic + MSSNet at every zoom in SWEEP_FACTORS -> (gallery, plot, table)."""
        if source is None:
            raise gr.Error("Load an image first.", print_exception=False)
        gallery, bic_energy, mss_energy = [], [], []
        rows = ["| zoom | edge energy bicubic | edge energy MSSNet | MSSNet time |", "| ---: | ---: | ---: | ---: |"]
        t0 = time.perf_counter()
        for i, factor in enumerate(SWEEP_FACTORS):
            progress(i / len(SWEEP_FACTORS), desc=f"zoom ×{factor:g}: bicubic + MSSNet")
            with user_errors():
                view, cached = self.compute_view(source, factor, center, viewport, model)
            b, m = explain.mean_edge_energy(view.bicubic), explain.mean_edge_energy(view.sharpened)
            bic_energy.append(b)
            mss_energy.append(m)
            gap = np.full((view.bicubic.shape[0], 4, 3), 255, np.uint8)
            gallery.append((png(np.concatenate([to_u8(view.bicubic), gap, to_u8(view.sharpened)], axis=1)),
                            f"×{factor:g}: bicubic | MSSNet"))
            took = "cached" if cached else fmt_seconds(view.seconds["MSSNet"])
            rows.append(f"| ×{factor:g} | {b:.4f} | {m:.4f} | {took} |")
        progress(1.0, desc="plotting")
        plot = fig_png(explain.plot_zoom_sweep(SWEEP_FACTORS, bic_energy, mss_energy))
        text = ("The further you zoom, the wider bicubic smears each edge and the lower its edge energy. "
                "The gap between the curves is what MSSNet puts back.  \n\n" + "\n".join(rows)
                + f"\n\nTime: total {fmt_seconds(time.perf_counter() - t0)}")
        return gallery, plot, text

    def simulate(self, source: Source | None, zoom: float, center, viewport, model: str | None,
                 progress=gr.Progress()):
        """Shrink a crop by the zoom, enlarge it back, compare with the crop.

        -> (metrics markdown, ground truth, bicubic, MSSNet, error figure, spectrum figure)
        """
        if source is None:
            raise gr.Error("Load an image first.", print_exception=False)
        with user_errors():
            zoom, center, viewport = self._params(source, zoom, center, viewport)
            if zoom < 1.1:
                raise ValueError("set the zoom slider above ×1.1 first: at ×1 there is no blur to undo")
            w, h = source.size
            cw, ch = min(viewport, w), min(viewport, h)
            if min(cw, ch) < 32:
                raise ValueError(f"the image is too small to simulate ({w}×{h} px; needs at least 32×32)")
            x0, y0, _, _ = source_rect((w, h), 1.0, (cw, ch), center)
            x0, y0 = int(round(x0)), int(round(y0))
            truth = source.rgb[y0:y0 + ch, x0:x0 + cw]
            t0 = time.perf_counter()
            x = torch.from_numpy(np.ascontiguousarray(truth)).permute(2, 0, 1)[None]  # (1, 3, ch, cw)
            small = degrade.shrink(x, zoom)  # what the screen would hold at this zoom
            bic = degrade.enlarge(small, (ch, cw))[0].permute(1, 2, 0).numpy()
            progress(0.2, desc="MSSNet")
            small = np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())
            out = zoom_sharpen_image(self.model(model), small, zoom, size=(cw, ch))
            seconds = time.perf_counter() - t0
            shave = min(int(math.ceil(zoom)), (min(cw, ch) - 12) // 2)
            psnr = (explain.psnr_y(bic, truth, shave), explain.psnr_y(out, truth, shave))
            ssim = (explain.ssim_y(bic, truth, shave), explain.ssim_y(out, truth, shave))
            progress(0.8, desc="error maps and spectrum")
            errors = fig_png(explain.plot_error_maps(truth, {"bicubic": bic, "MSSNet": out}))
            spectrum = fig_png(explain.plot_spectrum(bic, out, original=truth, factor=zoom))
        verdict = "closer to" if psnr[1] > psnr[0] else "further from"
        text = (f"The {cw}×{ch} px crop around the zoom centre is the **ground truth**. It was shrunk "
                f"×{zoom:.2f} and enlarged back with bicubic (the blur of zooming); MSSNet enlarged and sharpened "
                f"it {_steps_phrase(zoom)}. "
                f"MSSNet's result is **{verdict}** the truth than bicubic.\n\n"
                "| | PSNR (Y) | SSIM (Y) |\n| --- | ---: | ---: |\n"
                f"| bicubic | {psnr[0]:.2f} dB | {ssim[0]:.4f} |\n"
                f"| MSSNet | {psnr[1]:.2f} dB ({psnr[1] - psnr[0]:+.2f}) | "
                f"{ssim[1]:.4f} ({ssim[1] - ssim[0]:+.4f}) |\n\n"
                "The spectrum shows what came back: power to the right of the dashed line (finer than the "
                "shrunk image could hold) that follows the black curve is recovered detail; power above it "
                "is invented. Borders of "
                f"{shave} px are left out of the scores.  \nTime: blur + MSSNet {fmt_seconds(seconds)}")
        return text, png(truth), png(bic), png(out), errors, spectrum

    # ------------------------------------------------------------------ full image

    def zoom_full(self, source: Source, zoom: float, model: str | None, progress: Callable | None = None) -> Path:
        """The whole image enlarged ×zoom with bicubic and sharpened with MSSNet (tiled) -> PNG path."""
        zoom = float(zoom)
        if not MIN_FACTOR <= zoom <= MAX_FACTOR:
            raise ValueError(f"zoom must be between {MIN_FACTOR:g} and {MAX_FACTOR:g}; got {zoom:g}")
        w, h = source.size
        ow, oh = max(1, round(w * zoom)), max(1, round(h * zoom))
        if ow * oh > MAX_DOWNLOAD_PIXELS:
            raise ValueError(
                f"×{zoom:g} of this {w}×{h} image is {ow}×{oh} px ({ow * oh / 1e6:.1f} MP); the app's limit "
                f"is {MAX_DOWNLOAD_PIXELS / 1e6:.1f} MP. Lower the zoom, or use the command line: "
                f"python -m mssnet zoom IMAGE -o OUT.png --zoom {zoom:g}"
            )
        sharp = zoom_sharpen_image(self.model(model), source.rgb, zoom, progress=progress)
        alpha = None
        if source.alpha is not None:
            alpha = np.clip(mssnet.zoom(source.alpha, zoom).view, 0.0, 1.0)
        stem = Path(source.name).stem or "image"
        path = self.outdir / f"{stem}_x{zoom:g}_mssnet_{source.key[:6]}.png"
        mssnet.save_image(path, sharp, alpha, bit_depth=16 if source.bit_depth == 16 else 8)
        del sharp, alpha
        release_memory()
        return path

    def download(self, source: Source | None, zoom: float, model: str | None, progress=gr.Progress()):
        """Button: whole image zoomed and sharpened -> file for download (PNG)."""
        if source is None:
            raise gr.Error("Load an image first.", print_exception=False)
        progress(0, desc="bicubic zoom of the whole image")

        def report(done: int, total: int) -> None:
            progress(done / total, desc=f"MSSNet: tile {done} of {total}")

        with user_errors():
            return str(self.zoom_full(source, zoom, model, progress=report))

    # ------------------------------------------------------------------ API (gradio_client, MCP)

    def api_zoom_sharpen(self, image: str | None, zoom: float = 2.0, center_x: float | None = None,
                         center_y: float | None = None, viewport: int = DEFAULT_VIEWPORT, model: str | None = None):
        """Zoom into an image the way an image viewer does (bicubic), then sharpen the view with MSSNet.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8.
            center_x: zoom centre, x in image pixels (empty: the image centre).
            center_y: zoom centre, y in image pixels (empty: the image centre).
            viewport: side of the square view in pixels (16 to 1024; 256, 384 and 512 are cached best).
            model: weights to use (empty: the bundled default).

        Returns:
            The bicubic view (PNG), the MSSNet view (PNG), and a dict with the source rectangle,
            timings and edge energies.
        """
        if image is None:
            raise gr.Error("No image given.", print_exception=False)
        source, _, _, _ = self.load(image)
        center = None
        if center_x is not None or center_y is not None:
            w, h = source.size
            center = (w / 2 if center_x is None else float(center_x), h / 2 if center_y is None else float(center_y))
        with user_errors():
            view, cached = self.compute_view(source, zoom, center, viewport, model or None)
        info = {
            "rect": [round(v, 3) for v in view.rect],
            "zoom": view.zoom,
            "viewport": view.viewport,
            "model": view.model,
            "steps": [round(v, 4) for v in view.steps],
            "strengths": [round(v, 4) for v in view.strengths],
            "seconds": {k: round(v, 4) for k, v in view.seconds.items()},
            "cached": cached,
            "edge_energy": {"bicubic": explain.mean_edge_energy(view.bicubic),
                            "mssnet": explain.mean_edge_energy(view.sharpened)},
        }
        return png(view.bicubic), png(view.sharpened), info

    def api_zoom_sharpen_full(self, image: str | None, zoom: float = 2.0, model: str | None = None,
                              progress=gr.Progress()):
        """Enlarge a whole image with bicubic interpolation and sharpen it with MSSNet; returns a PNG.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8; the output may have at most 4.2 megapixels.
            model: weights to use (empty: the bundled default).

        Returns:
            The zoomed and sharpened image as a PNG file (alpha kept; 16-bit for 16-bit input).
        """
        if image is None:
            raise gr.Error("No image given.", print_exception=False)
        source, _, _, _ = self.load(image)
        return self.download(source, zoom, model or None, progress)


# --------------------------------------------------------------------------- layout

INTRO = """# Zoom & Sharpen
*When you zoom into an image, how does a neural network decide which edges to sharpen?*
Pick an example or upload an image, **click the overview** to choose where to look and **drag the zoom
slider**: the bicubic view follows the slider, MSSNet runs when you let go. The tabs explain what it did."""


def build_demo(model_path: str | os.PathLike | None = None) -> gr.Blocks:
    """The studio's ``gr.Blocks`` (queue configured). ``model_path``: default weights (None: bundled)."""
    limit_malloc_arenas()
    studio = Studio(model_path)
    view_events = {"concurrency_id": "view", "concurrency_limit": 1, "api_visibility": "private"}
    heavy_events = {"concurrency_id": "heavy", "concurrency_limit": 1, "api_visibility": "private"}
    light_events = {"concurrency_limit": 4, "api_visibility": "private"}

    with gr.Blocks(title="Zoom & Sharpen", delete_cache=(1800, 3600)) as demo:
        demo.studio = studio  # for tests and benchmarks
        source = gr.State(None)
        center = gr.State(None)
        view = gr.State(None)
        window = gr.State(None)

        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                image_in = image_input(label="Image: upload or paste", sources=["upload", "clipboard"], height=220,
                                       elem_id="image-in")
                gr.Examples([[str(EXAMPLES_DIR / name)] for name in EXAMPLES if (EXAMPLES_DIR / name).exists()],
                            inputs=[image_in], label="Examples: photographs and test charts",
                            examples_per_page=len(EXAMPLES))
                info = gr.Markdown("Upload or paste an image, or pick an example.", elem_id="image-info")
                overview = gr.Image(label="Overview: click to choose the zoom centre", interactive=False,
                                    format="png", height=300, elem_id="overview", buttons=["fullscreen"])
                zoom = gr.Slider(MIN_FACTOR, MAX_FACTOR, value=DEFAULT_ZOOM, step=0.05, label="Zoom ×",
                                 elem_id="zoom")
                viewport = gr.Radio(list(VIEWPORTS), value=DEFAULT_VIEWPORT, label="Viewport (px)",
                                    info="Larger views take longer: MSSNet's time grows with the pixel count.")
                timing = gr.Markdown("", elem_id="timing")
                with gr.Accordion("Model", open=False):
                    model = gr.Dropdown(studio.model_choices, value=studio.default_model, label="Weights",
                                        info="Files in assets/weights, and any you upload here.")
                    model_info = gr.Markdown(studio.model_note(studio.default_model))
                    weights_in = gr.File(label="Add weights: original MSSNet .pt or .safetensors",
                                         file_types=[".pt", ".pth", ".safetensors"], type="filepath")
                with gr.Accordion("Download the whole image", open=False):
                    gr.Markdown(f"Zooms the *whole* image by the slider's factor and sharpens it in tiles "
                                f"(PNG, at most {MAX_DOWNLOAD_PIXELS / 1e6:.1f} MP).")
                    download_btn = gr.Button("Zoom & sharpen the whole image")
                    download_file = gr.File(label="Zoomed and sharpened PNG", interactive=False)

            with gr.Column(scale=8):
                with gr.Tabs():
                    with gr.Tab("Explore", id="explore"):
                        compare = gr.ImageSlider(label="Bicubic ◀ ▶ MSSNet", format="png", type="numpy",
                                                 max_height=520, elem_id="compare")
                        with gr.Row():
                            bicubic_img = gr.Image(label="Bicubic (what a viewer shows)", format="png",
                                                   interactive=False, elem_id="bicubic")
                            sharp_img = gr.Image(label="MSSNet (click to pick a window to explain)",
                                                 format="png", interactive=False, elem_id="sharpened")
                        gr.Markdown("### Where the edges changed\nEach map is laid over the gray image; "
                                    "the colour bar gives its scale.")
                        with gr.Row():
                            edge_before = gr.Image(label="Edge magnitude: bicubic", format="png",
                                                   interactive=False, elem_id="map-edge-before", show_label=False)
                            edge_after = gr.Image(label="Edge magnitude: MSSNet", format="png",
                                                  interactive=False, elem_id="map-edge-after", show_label=False)
                        with gr.Row():
                            edge_gain = gr.Image(label="Edge gain", format="png", interactive=False,
                                                 elem_id="map-edge-gain", show_label=False)
                            sharpening = gr.Image(label="Sharpening map", format="png", interactive=False,
                                                  elem_id="map-sharpening", show_label=False)

                    with gr.Tab("Attribution", id="attribution"):
                        gr.Markdown("Click a spot in the MSSNet view (here or on the Explore tab) to choose a "
                                    "**window** (green), then press *Explain this window*. The attribution is "
                                    "computed on the blue crop around it.")
                        with gr.Row():
                            with gr.Column(scale=1, min_width=260):
                                attr_view = gr.Image(label="MSSNet view: click to choose the window",
                                                     format="png", interactive=False, elem_id="attr-view")
                                attr_method = gr.Radio(list(ATTR_METHODS), value=ATTR_METHODS[0], label="Method",
                                                       info="Blur path (LAM): from a blurred input to the real "
                                                            "one. Saliency: one gradient. SmoothGrad: gradients "
                                                            "of noisy copies, averaged.")
                                attr_window = gr.Radio(list(ATTR_WINDOWS), value=ATTR_WINDOWS[1],
                                                       label="Window (px)")
                                attr_steps = gr.Slider(4, 64, value=ATTR_STEPS, step=4, label="Steps",
                                                       info="More steps: smoother, slower (one gradient each).")
                                explain_btn = gr.Button("Explain this window", variant="primary")
                            with gr.Column(scale=2):
                                attr_plot = gr.Image(label="Attribution", format="png", interactive=False,
                                                     elem_id="attr-plot", show_label=False)
                                attr_text = gr.Markdown()

                    with gr.Tab("Stages", id="stages") as stages_tab:
                        gr.Markdown("MSSNet's six outputs, coarse to fine, for the current view: how the "
                                    "network builds the result scale by scale.")
                        stages_btn = gr.Button("Show the stages of the current view")
                        stages_plot = gr.Image(label="Edge maps of the six stage outputs", format="png",
                                               interactive=False, elem_id="stages-plot", show_label=False)
                        stages_text = gr.Markdown()

                    with gr.Tab("Every zoom level", id="sweep"):
                        gr.Markdown("Bicubic and MSSNet at zoom " + ", ".join(f"×{f:g}" for f in SWEEP_FACTORS)
                                    + " around the same centre, with the chosen viewport. Results go to the "
                                    "cache, so the slider is instant at these zooms afterwards.")
                        sweep_btn = gr.Button("Run every zoom level", variant="primary")
                        sweep_plot = gr.Image(label="Sharpness vs zoom", format="png", interactive=False,
                                              elem_id="sweep-plot", show_label=False)
                        sweep_text = gr.Markdown()
                        sweep_gallery = gr.Gallery(label="Bicubic | MSSNet at each zoom", columns=2,
                                                   height="auto", format="png", elem_id="sweep-gallery")

                    with gr.Tab("Simulate", id="simulate"):
                        gr.Markdown("The honest check: treat the image as ground truth, shrink a crop by the "
                                    "zoom factor, enlarge it back with bicubic and with MSSNet, and measure "
                                    "how close each gets. Uses the zoom slider's factor and the zoom centre.")
                        sim_btn = gr.Button("Run the simulation", variant="primary")
                        sim_text = gr.Markdown()
                        with gr.Row():
                            sim_truth = gr.Image(label="Ground truth", format="png", interactive=False)
                            sim_bicubic = gr.Image(label="Shrunk, then bicubic", format="png", interactive=False)
                            sim_sharp = gr.Image(label="Shrunk, then MSSNet", format="png", interactive=False)
                        with gr.Row():
                            sim_errors = gr.Image(label="Error maps", format="png", interactive=False, show_label=False)
                            sim_spectrum = gr.Image(label="Radial power spectrum", format="png",
                                                    interactive=False, show_label=False)

                    with gr.Tab("Lesson", id="lesson"):
                        gr.Markdown(explain.lesson_markdown(), elem_id="lesson")

        # API-only endpoints (gradio_client, MCP): hidden components with stable api_names.
        with gr.Row(visible=False):
            api_image = image_input(label="image")
            api_zoom = gr.Number(DEFAULT_ZOOM, label="zoom")
            api_cx = gr.Number(None, label="center_x")
            api_cy = gr.Number(None, label="center_y")
            api_viewport = gr.Number(DEFAULT_VIEWPORT, label="viewport", precision=0)
            api_model = gr.Dropdown(studio.model_choices, value=studio.default_model, label="model")
            api_bicubic = gr.Image(label="bicubic", format="png")
            api_sharp = gr.Image(label="mssnet", format="png")
            api_info = gr.JSON(label="info")
            api_file = gr.File(label="png")
            api_view_btn = gr.Button("api view")
            api_full_btn = gr.Button("api full")

        # ---------------------------------------------------------------- events
        view_inputs = [source, zoom, center, viewport, model]
        run_outputs = [compare, bicubic_img, sharp_img, overview, timing, view]
        map_outputs = [edge_before, edge_after, edge_gain, sharpening, timing, attr_view]

        def run_view(trigger, **kwargs):
            """Wire ``trigger`` to run MSSNet on the current view, then draw the heat maps."""
            return trigger(studio.run, view_inputs, run_outputs, show_progress="minimal", **view_events,
                           **kwargs).success(studio.maps, [view, timing, window, attr_window], map_outputs,
                                             show_progress="minimal", **light_events)

        loaded = image_in.change(studio.load, [image_in, zoom, viewport], [source, center, overview, info],
                                 **light_events)
        run_view(loaded.success)

        previews = zoom.input(studio.preview, view_inputs, [compare, bicubic_img, sharp_img, overview, timing],
                              trigger_mode="always_last", show_progress="hidden", **light_events)
        # a preview still waiting when the slider is released would hide MSSNet's result: cancel it
        run_view(zoom.release, trigger_mode="always_last", cancels=[previews])
        run_view(viewport.change, trigger_mode="always_last")
        run_view(model.change, trigger_mode="always_last")
        model.change(studio.model_note, [model], [model_info], **light_events)

        picked = overview.select(studio.pick_center, [source], [center], **light_events)
        run_view(picked.success)

        sharp_img.select(studio.pick_window, [view, attr_window], [window, attr_view], **light_events)
        attr_view.select(studio.pick_window, [view, attr_window], [window, attr_view], **light_events)
        attr_window.change(studio.window_image, [view, window, attr_window], [attr_view], **light_events)
        explain_btn.click(studio.explain_window, [view, window, attr_method, attr_steps, attr_window],
                          [attr_plot, attr_text], **heavy_events)

        stages_tab.select(studio.stages, [view], [stages_plot, stages_text], **light_events)
        stages_btn.click(studio.stages, [view], [stages_plot, stages_text], **light_events)
        sweep_btn.click(studio.sweep, [source, center, viewport, model], [sweep_gallery, sweep_plot, sweep_text],
                        **heavy_events)
        sim_btn.click(studio.simulate, view_inputs,
                      [sim_text, sim_truth, sim_bicubic, sim_sharp, sim_errors, sim_spectrum], **heavy_events)
        download_btn.click(studio.download, [source, zoom, model], [download_file], **heavy_events)
        weights_in.upload(studio.add_weights, [weights_in], [model, model_info], **heavy_events)

        api_view_btn.click(studio.api_zoom_sharpen, [api_image, api_zoom, api_cx, api_cy, api_viewport, api_model],
                           [api_bicubic, api_sharp, api_info], api_name="zoom_sharpen",
                           concurrency_id="view", concurrency_limit=1)
        api_full_btn.click(studio.api_zoom_sharpen_full, [api_image, api_zoom, api_model], [api_file],
                           api_name="zoom_sharpen_full", concurrency_id="heavy", concurrency_limit=1)

    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``demo.launch`` shared by ``python app.py``, tests and benchmarks."""
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    return {"theme": theme, "allowed_paths": [str(EXAMPLES_DIR)], "max_file_size": "100mb"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Zoom & Sharpen: the Gradio studio")
    parser.add_argument("--weights", help="default weights file (default: the bundled one)")
    parser.add_argument("--mcp", action="store_true", help="also serve an MCP server (or set ZS_MCP=1)")
    args = parser.parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    mcp = args.mcp or os.environ.get("ZS_MCP", "").strip().lower() in ("1", "true", "yes")
    try:
        demo = build_demo(args.weights)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f"app.py: {exc}")
    options = launch_options()
    if mcp:  # needs the optional `mcp` package (pip install "gradio[mcp]"); without it Gradio says so and
        options["mcp_server"] = True  # serves the app alone
    demo.launch(**options)


if __name__ == "__main__":
    main()
