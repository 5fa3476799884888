"""Zoom & Sharpen: the Gradio studio.

    python app.py                 # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT respected)
    python app.py --mcp           # also serve the API as an MCP server (or ZS_MCP=1; needs gradio[mcp])
    python app.py --weights model_03000E.pt

Layout and wiring only: one builder per tab, thin :class:`Handlers` (None check, call the core, PNG paths
out). State and computation live in :mod:`mssnet.serve` (the studio's images, models, the zoom pyramid's views) and
:mod:`explain` (panels, attribution, text); the page script ``assets/ui/studio.js`` adds keys and panning.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from matplotlib.figure import Figure

import explain
from explain import panels, report
from explain.lesson import LESSON_STEPS, TABS, workflow_figure
from explain.studio import view_summary
from explain.window import DEFAULT_STEPS, METHODS, WINDOW_SIDES, window_overlay
from mssnet.image.io import data_url_bytes
from mssnet.image.zoom import MAX_FACTOR, MIN_FACTOR
from mssnet.runtime import compiled
from mssnet.runtime.compiled import backend_name
from mssnet.serve.memory import limit_malloc_arenas
from mssnet.serve.session import Studio
from mssnet.serve.source import Source, load_source, opening_view
from mssnet.serve.tile_service import TileService
from mssnet.serve.views import ShownViews, View, rest_view

ROOT = Path(__file__).resolve().parent
EXAMPLES_DIR = ROOT / "assets" / "examples"
#: Examples shown under the upload, photographs first.
EXAMPLES = ("astronaut.png", "chelsea.png", "coffee.png", "siemens_star.png", "zone_plate.png", "fine_text.png")
#: What the page opens with, no click needed: an example and a zoom where MSSNet's edges are plain to see.
OPENING_EXAMPLE, OPENING_ZOOM = "astronaut.png", 3.0
#: The page's script and style sheet (viewer habits, 1:1 views, a projector-sized layout).
UI_DIR = ROOT / "assets" / "ui"
VIEWPORTS = (256, 384, 512)
DEFAULT_VIEWPORT = 256
#: The panels explain the middle square of the map's visible region, this many screen px a side at most.
PANEL_SIDE = 384
#: Pages whose current view is remembered (to drop panel results of views they have left).
MAX_SESSIONS = 256
#: Tabs whose action *Try it* runs once its view is on screen (Explore's panels follow every view anyway).
TAB_ACTIONS = ("attribution", "stages", "sweep", "simulate")
#: What the answer says before the first view of an image is explained.
PENDING_ANSWER = "*Reading the map… the answer appears when MSSNet has sharpened the region on screen.*"
STAGES_PENDING = "Press the button: the stages are shown for the current view."
#: URL prefixes of the deep-zoom tiles and of the page's static files (assets/ui).
DZ_PREFIX, UI_PREFIX = "/dz", "/zs/ui"
#: The map's markup (assets/ui/map.js draws OpenSeadragon into #viewer).
VIEWER_HTML = '<div id="viewer" class="zs-map" data-zoom="" data-center-x="" data-center-y=""></div>'
DEFAULT_ZOOM = 2.0
QUEUE_SIZE = 16  # waiting events at most
FIGURE_DPI = 96  # figures (about 9 x 5 inches) are rendered at this dpi and shown unscaled: 12 pt text is 16 px
NO_IMAGE = "Upload or paste an image, or pick an example."
NO_VIEW = "Load an image first: the window is chosen in the MSSNet view."
#: Concurrency of the event groups: one MSSNet view at a time, one heavy job, light work 4 at a time.
VIEW_EVENTS = {"concurrency_id": "view", "concurrency_limit": 1, "api_visibility": "private"}
HEAVY_EVENTS = {"concurrency_id": "heavy", "concurrency_limit": 1, "api_visibility": "private"}
LIGHT_EVENTS = {"concurrency_limit": 4, "api_visibility": "private"}


# --------------------------------------------------------------------------- Gradio edge


@contextlib.contextmanager
def user_errors(path: str | None = None) -> Iterator[None]:
    """The packages' input errors as ``gr.Error`` (one line; ``path``, a temporary upload, shown by name)."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, TypeError, FileNotFoundError) as exc:  # ImageError, CheckpointError are ValueErrors
        message = str(exc).replace(str(path), Path(path).name) if path else str(exc)
        raise gr.Error(html.escape(message), title="Cannot do that", print_exception=False) from None
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "alloc" not in str(exc) and "out of memory" not in str(exc):
            raise
        raise gr.Error("Not enough memory for this image at this size; try a smaller zoom or viewport.",
                       print_exception=False) from None


def _page(request: gr.Request | None) -> str | None:
    """The page (Gradio session) an event came from; None outside a page (tests, direct calls)."""
    return getattr(request, "session_hash", None)


def need(value: Any, message: str = "Load an image first.") -> None:
    """A button pressed before there is anything to work on: one ``gr.Error``."""
    if value is None:
        raise gr.Error(message, print_exception=False)


def png_path(image: np.ndarray | Figure | None) -> str | None:
    """Image array (float, clipped, or uint8) or matplotlib figure (rendered at :data:`FIGURE_DPI`) -> PNG
    in Gradio's cache folder (served without a copy), named by its pixels -> its path; None stays None."""
    return explain.save_png(image, Path(get_upload_folder()) / "zoom-sharpen", FIGURE_DPI)


def _progress(progress: gr.Progress, text: str) -> Callable[[int, int], object]:
    """The core's ``progress(done, total)`` shown in Gradio's bar as ``text`` (formatted with done, total)."""
    return lambda done, total: progress(done / total, desc=text.format(done=done, total=total))


# --------------------------------------------------------------------------- the upload component
# The one place that touches Gradio internals; tests/app/test_app.py checks the assumption.


def _upload_source(payload: Any) -> Any:
    """What an image upload hands the handlers: the file's path (or bytes for a data URL)."""
    url = "" if payload is None else getattr(payload, "url", None) or ""
    return data_url_bytes(url) if url.startswith("data:") else None if payload is None else payload.path


def image_input(**kwargs: Any) -> gr.Image:
    """A ``gr.Image`` upload whose handlers receive the file untouched (its path). Gradio's own
    preprocessing opens the file with Pillow and fails with a bare "Error" on corrupt or exotic files;
    here ``mssnet.load_image`` decodes it (EXIF rotation, 16-bit, alpha) and says what is wrong.
    Blocks calls ``block.preprocess(payload)``, so an instance attribute replaces it for this one."""
    component = gr.Image(type="filepath", image_mode=None, **kwargs)
    component.preprocess = _upload_source
    return component


# --------------------------------------------------------------------------- handlers


class Handlers:
    """The event handlers: Gradio values in, the studio core called, PNG paths and text out."""

    def __init__(self, model_path: str | os.PathLike | None = None):
        self.studio = Studio(model_path)
        self.tiles = TileService(fill=self.studio.fill)
        self.shown = ShownViews(MAX_SESSIONS)  # which view each page shows

    @staticmethod
    def open(file: str | bytes) -> Source:
        """An image file (path or bytes) -> :class:`Source`; a bad file raises one ``gr.Error``."""
        with user_errors(file if isinstance(file, str) else None):
            return load_source(file)

    def deep_zoom(self, source: Source, model_label: str | None = None, zoom: float | None = None,
                  center: tuple[float, float] | None = None) -> dict:
        """Open ``source`` on the tile service -> the viewer's info (id, size, layer URLs, where to open)."""
        with user_errors():
            pyramid = self.studio.pyramid(source, model_label)
        image_id = self.tiles.open(pyramid, source.name, center, zoom)
        info = self.tiles.info(image_id, DZ_PREFIX)
        if zoom is not None:
            info["open"] = {"zoom": float(zoom), "center": list(center or source.middle)}
        return info

    def _opened(self, source: Source, model_label: str | None, zoom: float | None, center):
        """-> (source, centre, zoom, info, map JSON); see :func:`mssnet.serve.source.opening_view` for None."""
        zoom, center = opening_view(source, PANEL_SIDE, zoom, center)
        dz = self.deep_zoom(source, model_label, zoom, center)
        return source, center, zoom, report.source_markdown(source), json.dumps(dz)

    def load(self, file: str | bytes | None, model_label: str | None = None, current: Source | None = None,
             zoom: float | None = None):
        """Input image -> (source, centre, zoom, info, map JSON); ``None`` clears. The image already shown
        (an example set by *Try it*) changes nothing; a file that cannot be read keeps the previous image
        and says why in the info line (no error badges)."""
        if file is None:
            return None, None, gr.skip(), NO_IMAGE, ""
        try:
            source = self.open(file)
        except gr.Error as exc:
            return (*(gr.skip(),) * 3, f"⚠️ **Cannot open that file.** {exc.message} The image before it stays.",
                    gr.skip())
        if current is not None and current.key == source.key:
            return (gr.skip(),) * 5
        return self._opened(source, model_label, zoom, None)

    def try_it(self, number: int, model_label: str | None = None):
        """A lesson step's "Try it" -> (source, centre, zoom, info, map JSON, tab, upload value, tab action): its
        example everywhere (the upload shows it too), its zoom, centre and tab, whose action runs once the map
        shows the view (:meth:`tab_action`)."""
        t = next(s for s in LESSON_STEPS if s.number == number).try_it
        source = self.open(str(t.path))
        action = t.tab if t.tab in TAB_ACTIONS else None
        return (*self._opened(source, model_label, t.zoom, t.center or source.middle), gr.Tabs(selected=t.tab),
                str(t.path), action)

    def reopen(self, source: Source | None, model_label: str | None, zoom: float, center):
        """Another model: the same image and place on its own tiles -> map JSON."""
        if source is None:
            return gr.skip()
        return json.dumps(self.deep_zoom(source, model_label, zoom, center))

    def map_rest(self, source: Source | None, rest: str | None, model_label: str | None, shown: str | None = None,
                 request: gr.Request = None):
        """The map came to rest -> (centre, side, timing, view, cached) for the panels (the zoom slider follows the
        map in the page itself: a late answer must not set it back). ``shown``: the map JSON of the page; a rest
        of another map (an image replaced meanwhile) changes nothing."""
        parsed = rest_view(source, rest, PANEL_SIDE, shown)
        if parsed is None:
            return (gr.skip(),) * 5
        zoom, center, side = parsed
        timing, view, cached = self.show_view(source, zoom, center, side, model_label)
        self.shown.record(_page(request), view)
        return center, side, timing, view, cached

    def show_view(self, source: Source | None, zoom: float, center, viewport, model_label: str | None):
        """A view for the panels -> (timing, view, cached)."""
        if source is None:
            return (gr.skip(),) * 3
        with user_errors():
            view, cached = self.studio.view(source, zoom, center, int(viewport), model_label)
            runs_on = backend_name(self.studio.models.get(view.model_label))
        return f"{report.timing_markdown(view, cached)}  \nRuns on: {runs_on}", view, cached

    def _stale(self, view: View, request: gr.Request | None) -> bool:
        """True when the page of ``request`` has moved on to another view since ``view`` was asked for: its
        panel result is dropped, never shown beside a newer one."""
        return self.shown.stale(_page(request), view)

    def heat_maps(self, view: View | None, cached: bool = False, window=None, side: int = WINDOW_SIDES[1],
                  request: gr.Request = None):
        """-> (edge maps on one scale, edge gain, sharpening map, colour scales, timing, attribution view)."""
        if view is None or self._stale(view, request):
            return (gr.skip(),) * 6
        maps = panels.explore_maps(view, png_path)  # first: the timing line then names the maps' time
        return *maps, report.timing_markdown(view, bool(cached)), self.window_image(view, window, side)

    def answer(self, view: View | None, request: gr.Request = None):
        """The answer on the first screen for the view on screen -> (sentences, the "why?" list)."""
        if view is None or self._stale(view, request):
            return gr.skip(), gr.skip()
        return panels.answer(view)

    def decision(self, view: View | None, request: gr.Request = None):
        """The decision panel, picture first -> (bar chart, the sentence, the numbers for the fold)."""
        if view is None or self._stale(view, request):
            return (gr.skip(),) * 3
        return panels.decision_chart(view, png_path)

    def visual_saliency(self, view: View | None, request: gr.Request = None):
        """Where the eye looks vs where MSSNet sharpened -> (figure, markdown)."""
        if view is None or self._stale(view, request):
            return gr.skip(), gr.skip()
        return panels.visual_saliency(view, png_path)

    def saliency(self, view: View | None, request: gr.Request = None):
        """Whole-view saliency in the form that passes the random-weights check, its random twin beside it ->
        (figure or None, markdown); a view the page has left meanwhile is skipped (no network pass)."""
        if view is None or self._stale(view, request):
            return gr.skip(), gr.skip()
        with user_errors():
            shown = panels.saliency_pair(view, self.studio.models.get(view.model_label), png_path)
        return (gr.skip(), gr.skip()) if self._stale(view, request) else shown

    def workflow(self, source: Source | None, view: View | None):
        """The lesson's workflow figure for the current view (input region -> bicubic -> stages -> view)."""
        need(view if source is not None else None)
        return png_path(workflow_figure(source, view))

    def window_image(self, view: View | None, window=None, side: int = WINDOW_SIDES[1]):
        """The MSSNet view with the attribution window and its crop drawn -> PNG path."""
        return None if view is None else png_path(window_overlay(view, window, int(side)))

    def pick_window(self, view: View | None, side: int, evt: gr.SelectData):
        """Click on a sharpened view -> window centre (viewport pixels) and the view with the window drawn."""
        if view is None or evt is None or evt.index is None:
            return gr.skip(), gr.skip()
        window = (float(evt.index[0]) + 0.5, float(evt.index[1]) + 0.5)
        return window, self.window_image(view, window, side)

    def explain_window(self, view: View | None, window, method: str, steps: int, side: int, progress=gr.Progress()):
        """Attribution for the window (None: the strongest sharpened edge) -> (figure, markdown, result kept)."""
        need(view, NO_VIEW)
        progress(0, desc=f"{method}: starting")
        with user_errors():
            return panels.attribution(self.studio.models.get(view.model_label), view, window, method, steps, side,
                                      png_path, _progress(progress, method + ": gradient {done} of {total}"))

    def random_weights(self, view: View | None, window, method: str, steps: int, side: int, kept=None,
                       progress=gr.Progress()):
        """The window explained with random weights (the sanity check) -> (figure, markdown); reuses the kept
        result of *Explain this window* when it matches."""
        need(view, NO_VIEW)
        progress(0, desc=f"{method}: random weights")
        with user_errors():
            return panels.random_weights(self.studio.models.get(view.model_label), view, window, method, steps, side,
                                         png_path, kept, _progress(progress, "gradient {done} of {total}"))

    def stages(self, view: View | None):
        """MSSNet's six outputs -> (edge strength per stage, table markdown, changes figure, changes markdown)."""
        if view is None:
            return None, "Load an image first; the stages are shown for the current view.", None, ""
        return panels.stages(view, png_path)

    def tab_action(self, tab: str | None, source: Source | None, view: View | None, center, side, model_label,
                   zoom: float, window, method: str, steps: int, window_side: int, progress=gr.Progress()):
        """After *Try it*, once its view is on screen: run the opened tab's action so it opens with content ->
        (no pending action, stages ×4, sweep ×3, Simulate ×6, attribution ×3); other outputs unchanged."""
        out: list[Any] = [None] + [gr.skip()] * 16
        if tab is None or view is None:
            return (gr.skip(), *out[1:])
        if tab == "stages":
            out[1:5] = self.stages(view)
        elif tab == "sweep":
            out[5:8] = self.sweep(source, center, side, model_label, progress)
        elif tab == "simulate":
            out[8:14] = self.simulate(source, zoom, center, side, model_label, progress)
        elif tab == "attribution":
            out[14:17] = self.explain_window(view, window, method, steps, window_side, progress)
        return tuple(out)

    def sweep(self, source: Source | None, center, viewport, model_label: str | None, progress=gr.Progress()):
        """Bicubic + MSSNet at every zoom in SWEEP_FACTORS -> (gallery, plot, table)."""
        need(source)
        with user_errors():
            return panels.sweep(self.studio, source, center, viewport, model_label, png_path,
                                _progress(progress, "zoom {done} of {total}: bicubic + MSSNet"))

    def simulate(self, source: Source | None, zoom: float, center, viewport, model_label: str | None,
                 progress=gr.Progress()):
        """-> (metrics markdown, ground truth, bicubic, MSSNet, error figure, spectrum figure)."""
        need(source)
        with user_errors():
            return panels.simulation(self.studio.models.get(model_label), source, zoom, center, viewport, png_path,
                                     progress=lambda f, desc: progress(f, desc=desc))

    def download(self, source: Source | None, zoom: float, model_label: str | None, progress=gr.Progress()):
        """Button: whole image zoomed and sharpened -> file for download (PNG)."""
        need(source)
        progress(0, desc="zoom pyramid of the whole image")
        with user_errors():
            return str(self.studio.zoom_full(source, zoom, model_label,
                                             progress=_progress(progress, "MSSNet: tile {done} of {total}")))

    def add_weights(self, file: str | None):
        """A weights file uploaded -> (the model dropdown, the new file chosen; a note)."""
        if file is None:
            return gr.skip(), gr.skip()
        with user_errors(file):
            label, model = self.studio.models.add(file)
        note = report.weights_loaded_markdown(file, model.config)
        return gr.Dropdown(choices=self.studio.models.labels, value=label), note

    def runtime(self, model_label: str | None) -> str:
        """What the passes of a model run on (e.g. "OpenVINO 2026.4.1 · bf16"); its graphs compile meanwhile in the
        background, so the first view does not wait for them."""
        model = self.studio.models.get(model_label)
        threading.Thread(target=compiled.prepare, args=(model,), name="compile-ahead", daemon=True).start()
        return backend_name(model)

    def model_note(self, model_label: str | None) -> str:
        models = self.studio.models
        note = report.weights_note(models.paths.get(model_label or models.default_label), models.why(model_label))
        with user_errors():
            return f"{note}  \nRuns on: {self.runtime(model_label)}"

    # ------------------------------------------------------------------ API (gradio_client, MCP)

    def api_zoom_sharpen(self, image: str | None, zoom: float = 2.0, center_x: float | None = None,
                         center_y: float | None = None, viewport: int = DEFAULT_VIEWPORT, model: str | None = None):
        """Zoom into an image: the view as an image viewer shows it (bicubic) and sharpened by MSSNet.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8.
            center_x: zoom centre, x in image pixels (empty: the image centre).
            center_y: zoom centre, y in image pixels (empty: the image centre).
            viewport: side of the square view in pixels (16 to 1024; 256, 384 and 512 are cached best).
            model: weights to use (empty: the bundled default).

        Returns:
            The bicubic and MSSNet views (PNG) and a dict: source rectangle, level, strength, tiles, timings.
        """
        need(image, "No image given.")
        source = self.open(image)
        with user_errors():
            view, cached = self.studio.view(source, zoom, source.center_at(center_x, center_y), viewport, model or None)
        info = {**view_summary(view, cached), "backend": backend_name(self.studio.models.get(view.model_label))}
        return png_path(view.bicubic), png_path(view.sharpened), info

    def api_zoom_sharpen_full(self, image: str | None, zoom: float = 2.0, model: str | None = None,
                              progress=gr.Progress()):
        """Enlarge a whole image and sharpen it with MSSNet; returns a PNG.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8; the output may have at most 4.2 megapixels.
            model: weights to use (empty: the bundled default).

        Returns:
            The zoomed and sharpened image as a PNG file (alpha kept; 16-bit for 16-bit input).
        """
        need(image, "No image given.")
        return self.download(self.open(image), zoom, model or None, progress)

    def api_deep_zoom(self, image: str | None, model: str | None = None) -> dict:
        """Open an image as a deep-zoom map: DZI layers (bicubic, MSSNet, edge gain) whose tiles the server
        sharpens on request.

        Args:
            image: the image (file path or URL).
            model: weights to use (empty: the bundled default).

        Returns:
            {"id", "width", "height", "scale" (the top level's zoom, 8), "layers": {"bicubic", "mssnet",
            "edge_gain"}: DZI descriptor URLs, "view_url": the exact view at rest, ...}; the id expires with the
            image (least recently used first).
        """
        need(image, "No image given.")
        return self.deep_zoom(self.open(image), model or None)

    def close(self) -> None:
        """Stop the tile service and the studio's background work."""
        self.tiles.close()
        self.studio.close()


# --------------------------------------------------------------------------- layout

def _image(label: str, elem_id: str | None = None, **kwargs: Any) -> gr.Image:
    """A PNG output image."""
    return gr.Image(label=label, format="png", interactive=False, elem_id=elem_id, **kwargs)


def _figure(label: str, elem_id: str | None = None) -> gr.Image:
    """A rendered figure: shown unscaled, its own title instead of a label, no toolbar over its title."""
    return _image(label, elem_id, show_label=False, elem_classes="figure", buttons=[])


def _controls(handlers: Handlers) -> SimpleNamespace:
    """The left column: the answer, then image, examples, model, download. The page opens on an example."""
    ui = SimpleNamespace()
    ui.answer = gr.Markdown(PENDING_ANSWER, elem_id="answer")
    with gr.Accordion("Why? The panels behind each claim", open=False, elem_id="why"):
        ui.why = gr.Markdown()
    ui.image_in = image_input(value=str(EXAMPLES_DIR / OPENING_EXAMPLE), label="Image: upload or paste",
                              sources=["upload", "clipboard"], height=150, elem_id="image-in")
    gr.Examples([[str(EXAMPLES_DIR / name)] for name in EXAMPLES],
                inputs=[ui.image_in], label="Examples: photographs and test charts", examples_per_page=len(EXAMPLES))
    ui.info = gr.Markdown(NO_IMAGE, elem_id="image-info")
    models = handlers.studio.models
    with gr.Accordion("Model", open=False):
        ui.model = gr.Dropdown(models.labels, value=models.default_label, label="Weights",
                               info="Files in assets/weights, and any you upload here.")
        ui.model_info = gr.Markdown(handlers.model_note(models.default_label))
        ui.weights_in = gr.File(label="Add weights: original MSSNet .pt or .safetensors",
                                file_types=[".pt", ".pth", ".safetensors"], type="filepath")
    with gr.Accordion("Download the whole image", open=False):
        gr.Markdown(report.PAGE["download"])
        ui.download_btn = gr.Button("Zoom & sharpen the whole image")
        ui.download_file = gr.File(label="Zoomed and sharpened PNG", interactive=False)
    return ui


def _map(ui: SimpleNamespace) -> None:
    """The centre of the page: the zoom slider over the deep-zoom map (assets/ui/map.js). Zooming, panning,
    the curtain and the edge-gain layer run in the browser; the server only makes tiles."""
    ui.zoom = gr.Slider(MIN_FACTOR, MAX_FACTOR, value=OPENING_ZOOM, step=0.05, label="Zoom ×", elem_id="zoom")
    ui.map = gr.HTML(VIEWER_HTML, elem_id="viewer-box", padding=False)
    with gr.Row(elem_classes="zs-hidden"):  # the page script's way in and out (assets/ui/studio.js)
        ui.map_info = gr.Textbox(elem_id="deep-zoom-info", show_label=False, container=False)
        ui.map_rest = gr.Textbox(elem_id="map-rest", show_label=False, container=False)
        ui.map_rest_go = gr.Button("rest", elem_id="map-rest-go")
    with gr.Accordion("Details: timing and tiles", open=False, elem_id="details"):
        ui.timing = gr.Markdown("", elem_id="timing")
        gr.Markdown(report.PAGE["shortcuts"], elem_id="shortcuts")


def _explore_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(report.PAGE["maps"])
    ui.edges = _figure("Edge strength: bicubic and MSSNet", "map-edges")
    ui.saliency_plot = _figure("Saliency of the view's edge-strength change", "map-saliency")
    ui.saliency_text = gr.Markdown(elem_id="saliency-text")
    ui.edge_gain = _figure("Edge gain", "map-edge-gain")
    ui.sharpening = _figure("Sharpening map", "map-sharpening")
    ui.map_scales = gr.Textbox(label="Colour scales of the maps (JSON)", elem_id="map-scales", elem_classes="zs-hidden")
    gr.Markdown(report.PAGE["decision"])
    ui.decision_plot = _figure("Decision panel", "decision-plot")
    ui.decision_text = gr.Markdown(elem_id="decision-text")
    with gr.Accordion("The numbers behind the bars", open=False):
        ui.decision_table = gr.Markdown(elem_id="decision-table")
    ui.visual_plot = _figure("Where the eye looks and where MSSNet sharpened", "map-visual")
    ui.visual_text = gr.Markdown(elem_id="visual-text")


def _attribution_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(report.PAGE["attribution"])
    with gr.Row(equal_height=False):
        ui.attr_view = _image("Window: click to move", "attr-view", buttons=[])
        with gr.Column(min_width=300):
            ui.attr_method = gr.Radio(list(METHODS), value=next(iter(METHODS)), label="Method",
                                      info=report.PAGE["methods"])
            ui.attr_window = gr.Radio(list(WINDOW_SIDES), value=WINDOW_SIDES[1], label="Window (px)")
            ui.attr_steps = gr.Slider(4, 64, value=DEFAULT_STEPS, step=4, label="Steps",
                                      info="More steps: smoother, slower (one gradient each).")
            with gr.Row():
                ui.explain_btn = gr.Button("Explain this window", variant="primary")
                ui.random_btn = gr.Button("Same window, random weights")
    ui.attr_plot = _figure("Attribution", "attr-plot")
    ui.attr_text = gr.Markdown()
    ui.random_plot = _figure("Attribution with random weights", "attr-random")
    ui.random_text = gr.Markdown()
    ui.attr_kept = gr.State(None)


def _stages_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(report.PAGE["stages"])
    ui.stages_btn = gr.Button("Show the stages of the current view")
    ui.stages_plot = _figure("Edge maps of the six stage outputs", "stages-plot")
    ui.stages_text = gr.Markdown()
    ui.changes_plot = _figure("What each stage changed", "stages-changes")
    ui.changes_text = gr.Markdown()


def _sweep_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(report.PAGE["sweep"])
    ui.sweep_btn = gr.Button("Run every zoom level", variant="primary")
    ui.sweep_plot = _image("Sharpness vs zoom", "sweep-plot", show_label=False)
    ui.sweep_text = gr.Markdown()
    ui.sweep_gallery = gr.Gallery(label="Bicubic | MSSNet at each zoom", show_label=False, columns=1, height="auto",
                                  format="png", object_fit="none", elem_id="sweep-gallery")  # whole pairs at 1:1


def _simulate_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(report.PAGE["simulate"])
    ui.sim_btn = gr.Button("Run the simulation", variant="primary")
    ui.sim_text = gr.Markdown()
    with gr.Row():
        ui.sim_truth = _image("Ground truth")
        ui.sim_bicubic = _image("Shrunk, then bicubic")
        ui.sim_sharp = _image("Shrunk, then MSSNet")
    with gr.Row():
        ui.sim_errors = _image("Error maps", show_label=False)
        ui.sim_spectrum = _image("Radial power spectrum", show_label=False)


def _lesson_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(explain.lesson_markdown(), elem_id="lesson")
    gr.Markdown(report.PAGE["try_it"])
    with gr.Row():
        ui.try_buttons = [gr.Button(f"{step.number}. {step.title}", size="sm", min_width=160)
                          for step in LESSON_STEPS]
    ui.workflow_btn = gr.Button("Draw the workflow of the current view")
    ui.workflow_plot = _figure("Input → bicubic → MSSNet → view", "lesson-workflow")


#: One builder per tab, in the page's order (keys: the tab ids of :data:`explain.lesson.TABS`).
TAB_BUILDERS = {"explore": _explore_tab, "attribution": _attribution_tab, "stages": _stages_tab, "sweep": _sweep_tab,
                "simulate": _simulate_tab, "lesson": _lesson_tab}


def _clearable(ui: SimpleNamespace) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
    """(what a new image or model empties, what a new view empties) as (component, empty value) pairs: the
    panels that follow every view are recomputed; the others are emptied, never left beside a newer view."""
    per_view = [(ui.attr_plot, None), (ui.attr_text, ""), (ui.random_plot, None), (ui.random_text, ""),
                (ui.attr_kept, None), (ui.stages_plot, None), (ui.stages_text, STAGES_PENDING),
                (ui.changes_plot, None), (ui.changes_text, ""), (ui.sweep_gallery, None), (ui.sweep_plot, None),
                (ui.sweep_text, ""), (ui.sim_text, ""), (ui.sim_truth, None), (ui.sim_bicubic, None),
                (ui.sim_sharp, None), (ui.sim_errors, None), (ui.sim_spectrum, None), (ui.workflow_plot, None)]
    per_image = per_view + [
        (ui.view, None), (ui.window, None), (ui.edges, None), (ui.edge_gain, None), (ui.sharpening, None),
        (ui.map_scales, ""), (ui.saliency_plot, None), (ui.saliency_text, ""), (ui.visual_plot, None),
        (ui.visual_text, ""), (ui.decision_plot, None), (ui.decision_text, ""), (ui.decision_table, ""),
        (ui.answer, PENDING_ANSWER), (ui.why, ""), (ui.attr_view, None)]
    return per_image, per_view


def _clear(pairs: list[tuple[Any, Any]]) -> tuple[Callable[[], tuple], list[Any]]:
    """-> (a handler returning the empty values, the components it empties)."""
    values = tuple(v for _, v in pairs)
    return (lambda: values), [c for c, _ in pairs]


def _and_clear(handler: Callable[..., Any], empty: tuple) -> Callable[..., tuple]:
    """``handler`` whose outputs are followed by ``empty``, unless it changed nothing (all skips): then skips."""
    @functools.wraps(handler)
    def run(*args):
        out = handler(*args)
        out = out if isinstance(out, tuple) else (out,)
        unchanged = all(isinstance(v, dict) and v.get("__type__") == "update" and len(v) == 1 for v in out)
        return out + ((gr.skip(),) * len(empty) if unchanged else empty)
    return run


def _wire_views(handlers: Handlers, ui: SimpleNamespace, demo: gr.Blocks) -> None:
    """Page load, image, model and the map at rest -> the map's tiles, then the view the panels explain."""
    maps = [ui.edges, ui.edge_gain, ui.sharpening, ui.map_scales, ui.timing, ui.attr_view]
    shown = [ui.timing, ui.view, ui.view_cached]
    per_image, per_view = _clearable(ui)
    clear_image, image_outputs = _clear(per_image)
    clear_view, view_outputs = _clear(per_view)

    def panels(drawn):
        """After a view: the answer, heat maps, decision and visual saliency, then (a network pass each) the
        saliency and the action *Try it* asked for."""
        drawn = drawn.success(clear_view, None, view_outputs, show_progress="hidden", **LIGHT_EVENTS)
        drawn.success(handlers.answer, [ui.view], [ui.answer, ui.why], show_progress="hidden", **LIGHT_EVENTS)
        maps_drawn = drawn.success(handlers.heat_maps, [ui.view, ui.view_cached, ui.window, ui.attr_window], maps,
                                   show_progress="minimal", **LIGHT_EVENTS)
        maps_drawn.success(handlers.decision, [ui.view], [ui.decision_plot, ui.decision_text, ui.decision_table],
                           show_progress="hidden", **LIGHT_EVENTS)
        maps_drawn.success(handlers.visual_saliency, [ui.view], [ui.visual_plot, ui.visual_text],
                           show_progress="hidden", **LIGHT_EVENTS)
        maps_drawn.success(handlers.saliency, [ui.view], [ui.saliency_plot, ui.saliency_text],
                           show_progress="minimal", **HEAVY_EVENTS)
        tab_outputs = [ui.tab_action, ui.stages_plot, ui.stages_text, ui.changes_plot, ui.changes_text,
                       ui.sweep_gallery, ui.sweep_plot, ui.sweep_text, ui.sim_text, ui.sim_truth, ui.sim_bicubic,
                       ui.sim_sharp, ui.sim_errors, ui.sim_spectrum, ui.attr_plot, ui.attr_text, ui.attr_kept]
        maps_drawn.success(handlers.tab_action, [ui.tab_action, ui.source, ui.view, ui.center, ui.side, ui.model,
                                                 ui.zoom, ui.window, ui.attr_method, ui.attr_steps, ui.attr_window],
                           tab_outputs, **HEAVY_EVENTS)

    opened = [ui.source, ui.center, ui.zoom, ui.info, ui.map_info]
    # the page opens on the example already in the upload at the slider's zoom, a new image at opening_zoom,
    # both centred on the image's strongest edges; the panels follow when the map comes to rest
    demo.load(lambda file, model, zoom: handlers.load(file, model, None, zoom), [ui.image_in, ui.model, ui.zoom],
              opened, **LIGHT_EVENTS)
    empty = clear_image()
    ui.image_in.change(_and_clear(handlers.load, empty), [ui.image_in, ui.model, ui.source], opened + image_outputs,
                       **LIGHT_EVENTS)
    ui.model.change(_and_clear(handlers.reopen, empty), [ui.source, ui.model, ui.zoom, ui.center],
                    [ui.map_info, *image_outputs], **LIGHT_EVENTS)
    ui.model.change(handlers.model_note, [ui.model], [ui.model_info], **LIGHT_EVENTS)
    panels(ui.map_rest_go.click(handlers.map_rest, [ui.source, ui.map_rest, ui.model, ui.map_info],
                                [ui.center, ui.side, *shown], trigger_mode="always_last",
                                show_progress="hidden", **VIEW_EVENTS))
    for step, button in zip(LESSON_STEPS, ui.try_buttons, strict=True):  # the lesson's "Try it" steps
        button.click(clear_image, None, image_outputs, show_progress="hidden", **LIGHT_EVENTS).success(
            lambda model, number=step.number: handlers.try_it(number, model), [ui.model],
            [*opened, ui.tabs, ui.image_in, ui.tab_action], **LIGHT_EVENTS)


def _wire_tabs(handlers: Handlers, ui: SimpleNamespace) -> None:
    """The explanation tabs, the download and the weights upload."""
    # a result is for one window: moving the window empties both, explaining it again empties the random one
    explained = [ui.attr_plot, ui.attr_text, ui.attr_kept, ui.random_plot, ui.random_text]
    ui.attr_view.select(handlers.pick_window, [ui.view, ui.attr_window], [ui.window, ui.attr_view],
                        **LIGHT_EVENTS).success(lambda: (None, "", None, None, ""), None, explained, **LIGHT_EVENTS)
    ui.attr_window.change(handlers.window_image, [ui.view, ui.window, ui.attr_window], [ui.attr_view],
                          **LIGHT_EVENTS)
    window_inputs = [ui.view, ui.window, ui.attr_method, ui.attr_steps, ui.attr_window]
    ui.explain_btn.click(lambda: (None, ""), None, [ui.random_plot, ui.random_text], **LIGHT_EVENTS).then(
        handlers.explain_window, window_inputs, [ui.attr_plot, ui.attr_text, ui.attr_kept], **HEAVY_EVENTS)
    ui.random_btn.click(handlers.random_weights, [*window_inputs, ui.attr_kept], [ui.random_plot, ui.random_text],
                        **HEAVY_EVENTS)
    for trigger in (ui.stages_tab.select, ui.stages_btn.click):
        trigger(handlers.stages, [ui.view], [ui.stages_plot, ui.stages_text, ui.changes_plot, ui.changes_text],
                **LIGHT_EVENTS)
    ui.sweep_btn.click(handlers.sweep, [ui.source, ui.center, ui.side, ui.model],
                       [ui.sweep_gallery, ui.sweep_plot, ui.sweep_text], **HEAVY_EVENTS)
    ui.sim_btn.click(handlers.simulate, [ui.source, ui.zoom, ui.center, ui.side, ui.model],
                     [ui.sim_text, ui.sim_truth, ui.sim_bicubic, ui.sim_sharp, ui.sim_errors, ui.sim_spectrum],
                     **HEAVY_EVENTS)
    ui.download_btn.click(handlers.download, [ui.source, ui.zoom, ui.model], [ui.download_file], **HEAVY_EVENTS)
    ui.workflow_btn.click(handlers.workflow, [ui.source, ui.view], [ui.workflow_plot], **LIGHT_EVENTS)
    ui.weights_in.upload(handlers.add_weights, [ui.weights_in], [ui.model, ui.model_info], **HEAVY_EVENTS)


def _api_endpoints(handlers: Handlers) -> None:
    """API-only endpoints (gradio_client, MCP): hidden components with stable api_names."""
    models = handlers.studio.models
    with gr.Row(visible=False):
        image = image_input(label="image")
        zoom = gr.Number(DEFAULT_ZOOM, label="zoom")
        cx, cy = gr.Number(None, label="center_x"), gr.Number(None, label="center_y")
        viewport = gr.Number(DEFAULT_VIEWPORT, label="viewport", precision=0)
        model = gr.Dropdown(models.labels, value=models.default_label, label="model")
        bicubic, sharp = gr.Image(label="bicubic", format="png"), gr.Image(label="mssnet", format="png")
        info, file = gr.JSON(label="info"), gr.File(label="png")
        view_btn, full_btn = gr.Button("api view"), gr.Button("api full")
    view_btn.click(handlers.api_zoom_sharpen, [image, zoom, cx, cy, viewport, model], [bicubic, sharp, info],
                   api_name="zoom_sharpen", concurrency_id="view", concurrency_limit=1)
    full_btn.click(handlers.api_zoom_sharpen_full, [image, zoom, model], [file], api_name="zoom_sharpen_full",
                   concurrency_id="heavy", concurrency_limit=1)
    with gr.Row(visible=False):
        dz_image, dz_model = image_input(label="image"), gr.Dropdown(models.labels, value=None, label="model")
        dz_info, dz_btn = gr.JSON(label="deep zoom"), gr.Button("api deep zoom")
    dz_btn.click(handlers.api_deep_zoom, [dz_image, dz_model], [dz_info], api_name="deep_zoom", concurrency_limit=4)


def build_demo(model_path: str | os.PathLike | None = None) -> gr.Blocks:
    """The studio's ``gr.Blocks`` (queue configured). ``model_path``: default weights (None: bundled)."""
    limit_malloc_arenas()
    handlers = Handlers(model_path)
    with gr.Blocks(title="Zoom & Sharpen", delete_cache=(1800, 3600)) as demo:
        demo.studio, demo.handlers = handlers.studio, handlers  # for tests and benchmarks
        gr.Markdown(report.PAGE["intro"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                ui = _controls(handlers)
            with gr.Column(scale=9):
                _map(ui)
                with gr.Tabs(elem_id="tabs") as ui.tabs:
                    for tab_id, build in TAB_BUILDERS.items():  # titles: the lesson's TABS, which its steps name
                        with gr.Tab(TABS[tab_id], id=tab_id) as tab:
                            build(ui)
                        setattr(ui, f"{tab_id}_tab", tab)
        ui.source, ui.center, ui.window = gr.State(None), gr.State(None), gr.State(None)
        ui.side, ui.tab_action = gr.State(PANEL_SIDE), gr.State(None)
        ui.view, ui.view_cached = gr.State(None), gr.State(False)
        _api_endpoints(handlers)
        _wire_views(handlers, ui, demo)
        _wire_tabs(handlers, ui)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def routes(service: TileService) -> list[Any]:
    """HTTP routes beside Gradio's: the deep-zoom tiles (``/dz/<id>/…``, answered by ``service``) and the page's
    static files (``/zs/ui/…``: the viewer library and script from assets/ui, nothing else)."""
    from starlette.responses import Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def tile(request):
        reply = await service.respond(request.path_params["path"], request.query_params)
        return Response(reply.body, reply.status, reply.headers, reply.media_type)

    return [Route(DZ_PREFIX + "/{path:path}", tile, methods=["GET"]),
            Mount(UI_PREFIX, StaticFiles(directory=UI_DIR, follow_symlink=False), name="zs-ui")]


def launch_options(demo: gr.Blocks | None = None) -> dict[str, Any]:
    """Keyword arguments for ``demo.launch`` shared by ``python app.py``, tests and benchmarks: theme, page
    script and style, and (given the demo of :func:`build_demo`) the tile routes on the same port. SSR is off:
    its server forwards only Gradio's own paths."""
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    script = (UI_DIR / "studio.js").read_text(encoding="utf-8")
    options = {"theme": theme, "allowed_paths": [str(EXAMPLES_DIR)], "max_file_size": "100mb",
               "css_paths": [UI_DIR / "studio.css"], "head": f"<script>{script}</script>",
               "ssr_mode": False}
    if demo is not None:
        options["app_kwargs"] = {"routes": routes(demo.handlers.tiles)}
    return options


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
    options = launch_options(demo)
    if mcp:  # needs the optional `mcp` package (pip install "gradio[mcp]"); without it Gradio says so and
        options["mcp_server"] = True  # serves the app alone
    demo.launch(**options)


if __name__ == "__main__":
    main()
