"""Zoom & Sharpen: the Gradio studio.

    python app.py                 # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT respected)
    python app.py --mcp           # also serve the API as an MCP server (or ZS_MCP=1; needs gradio[mcp])
    python app.py --weights model_03000E.pt

Layout, wiring and launch only: one builder per tab; every event is a method of :class:`explain.page.Page`
(plain values in, ``{field: value}`` out), wired here by field name, the names of the components in ``ui``.
The page script ``assets/ui/studio.js`` adds keys and panning; ``assets/ui/map.js`` draws the map.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from matplotlib.figure import Figure

from explain import page as events
from explain.page import Page
from mssnet.image.io import data_url_bytes
from mssnet.image.zoom import MAX_FACTOR, MIN_FACTOR
from mssnet.serve.memory import limit_malloc_arenas
from mssnet.serve.tile_service import TileService

ROOT = Path(__file__).resolve().parent
EXAMPLES_DIR = ROOT / "assets" / "examples"
#: Examples shown under the upload, photographs first.
EXAMPLES = ("astronaut.png", "chelsea.png", "coffee.png", "siemens_star.png", "zone_plate.png", "fine_text.png")
#: What the page opens with, no click needed: an example and a zoom where MSSNet's edges are plain to see.
OPENING_EXAMPLE, OPENING_ZOOM = "astronaut.png", 3.0
#: The page's script and style sheet (viewer habits, 1:1 views, a projector-sized layout).
UI_DIR = ROOT / "assets" / "ui"
#: URL prefix of the page's static files (assets/ui).
UI_PREFIX = "/zs/ui"
#: The map's markup (assets/ui/map.js draws OpenSeadragon into #viewer) and what mounts it (assets/ui/studio.js).
VIEWER_HTML = '<div id="viewer" class="zs-map" data-zoom="" data-center-x="" data-center-y=""></div>'
MOUNT_MAP = "window.zsStudio.mount(element, props, watch, trigger);"
QUEUE_SIZE = 128  # waiting events at most: a class of 30 pages, a few events each
FIGURE_DPI = 96  # figures (about 9 x 5 inches) are rendered at this dpi and shown unscaled: 12 pt text is 16 px
#: Concurrency of the event groups: one MSSNet view at a time, one heavy job, one answer check, light work 4 at a time.
VIEW_EVENTS = {"concurrency_id": "view", "concurrency_limit": 1, "api_visibility": "private"}
HEAVY_EVENTS = {"concurrency_id": "heavy", "concurrency_limit": 1, "api_visibility": "private"}
#: The answer's check against the truth: its own queue, never behind a panel's or a tab's passes.
ANSWER_EVENTS = {"concurrency_id": "answer", "concurrency_limit": 1, "api_visibility": "private"}
LIGHT_EVENTS = {"concurrency_limit": 4, "api_visibility": "private"}


# --------------------------------------------------------------------------- Gradio edge


@contextlib.contextmanager
def user_errors(path: str | None = None) -> Iterator[None]:
    """An error the user can mend (:func:`explain.page.user_message`; ``path``, a temporary upload, shown by
    name) as one ``gr.Error``; any other goes on as it is."""
    try:
        yield
    except gr.Error:
        raise
    except Exception as exc:
        said = events.user_message(exc, path)
        if said is None:
            raise
        message, title = said
        raise gr.Error(html.escape(message), print_exception=False, **({"title": title} if title else {})) from None


def png_path(image: np.ndarray | Figure | None) -> str | None:
    """Image array (float, clipped, or uint8) or matplotlib figure (rendered at :data:`FIGURE_DPI`) -> PNG
    in Gradio's cache folder (served without a copy), named by its pixels -> its path; None stays None."""
    return events.save_png(image, Path(get_upload_folder()) / "zoom-sharpen", FIGURE_DPI)


def _upload_source(payload: Any) -> Any:
    """What an image upload hands the handlers: the file's path (or bytes for a data URL)."""
    url = "" if payload is None else getattr(payload, "url", None) or ""
    return data_url_bytes(url) if url.startswith("data:") else None if payload is None else payload.path


def image_input(**kwargs: Any) -> gr.Image:
    """A ``gr.Image`` upload whose handlers get the file untouched (its path): ``mssnet.load_image`` decodes it and
    says what is wrong, where Gradio's Pillow preprocessing fails with a bare "Error". Blocks calls
    ``block.preprocess(payload)``: the one use of Gradio internals, checked by tests/app/test_app.py."""
    component = gr.Image(type="filepath", image_mode=None, **kwargs)
    component.preprocess = _upload_source
    return component


class Wiring:
    """Wires :class:`~explain.page.Page` methods to the page's events by field name: inputs are the values of
    ``ui``'s components, the method's ``{field: value}`` goes out as ``{component: value}``."""

    def __init__(self, page: Page, ui: SimpleNamespace):
        self.page, self.ui = page, ui
        #: Fields whose value becomes a component update (the rest are plain values).
        self.updates = {"tabs": lambda tab: gr.Tabs(selected=tab),
                        "model": lambda label: gr.Dropdown(choices=page.studio.models.labels, value=label)}

    def components(self, fields: Sequence[str]) -> list[Any]:
        return [getattr(self.ui, name) for name in fields]

    def handler(self, fn: Callable[..., Any], n_inputs: int, plain: bool = False,
                outputs: Sequence[str] = ()) -> Callable[..., Any]:
        """``fn`` as a Gradio handler: its first ``n_inputs`` parameters take the inputs; a later parameter named
        ``page`` gets the page's id, ``index`` the clicked (x, y), ``progress`` a ``progress(fraction, text)`` on
        Gradio's bar. Errors become one ``gr.Error``; ``plain``: the result goes out as it is (the API); else an
        empty result leaves every one of ``outputs`` as it is."""
        skipped = self.components(outputs)
        param, signature = inspect.Parameter, inspect.signature(fn)
        inputs = [p.replace(annotation=param.empty) for p in list(signature.parameters.values())[:n_inputs]]
        wants = {name for name in ("page", "index", "progress") if name in signature.parameters}
        extra = {"request": param("request", param.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request),
                 "evt": param("evt", param.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.SelectData),
                 "bar": param("progress", param.POSITIONAL_OR_KEYWORD, default=gr.Progress())}
        extra = {k: p for k, p in extra.items() if k == "request" or {"evt": "index", "bar": "progress"}[k] in wants}

        def run(*args: Any) -> Any:
            got = {k: p.default for k, p in extra.items()} | dict(zip(extra, args[n_inputs:], strict=False))
            special = {"page": getattr(got["request"], "session_hash", None),
                       "index": getattr(got.get("evt"), "index", None),
                       "progress": lambda fraction, text: got["bar"](fraction, desc=text)}
            upload = next((v for v in args[:n_inputs] if isinstance(v, str) and os.path.isfile(v)), None)
            with user_errors(upload):
                out = fn(*args[:n_inputs], **{k: v for k, v in special.items() if k in wants})
            if plain:
                return out
            if not out:  # nothing changes (Gradio would take an empty dict for the first output's value)
                return {component: gr.skip() for component in skipped}
            return {getattr(self.ui, k): self.updates.get(k, lambda v: v)(v) for k, v in out.items()}

        run.__signature__ = inspect.Signature([*inputs, *extra.values()])
        run.__annotations__ = {"request": gr.Request, "evt": gr.SelectData}
        run.__name__ = run.__qualname__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run

    def on(self, trigger: Callable[..., Any], fn: Callable[..., dict], inputs: Sequence[str],
           outputs: Sequence[str], **events: Any) -> Any:
        """``trigger(fn)`` with ``inputs``/``outputs`` named by field -> the event (``.success`` chains on)."""
        return trigger(self.handler(fn, len(inputs), outputs=outputs), self.components(inputs),
                       self.components(outputs), **events)


# --------------------------------------------------------------------------- layout

def _image(label: str, elem_id: str | None = None, **kwargs: Any) -> gr.Image:
    """A PNG output image."""
    return gr.Image(label=label, format="png", interactive=False, elem_id=elem_id, **kwargs)


def _figure(label: str, elem_id: str | None = None) -> gr.Image:
    """A rendered figure: shown unscaled, its own title instead of a label, no toolbar over its title."""
    return _image(label, elem_id, show_label=False, elem_classes="figure", buttons=[])


def _controls(page: Page) -> SimpleNamespace:
    """The left column: the answer, then image, examples, model, download. The page opens on an example."""
    ui = SimpleNamespace()
    ui.answer = gr.Markdown(events.PENDING_ANSWER, elem_id="answer")
    with gr.Accordion("Why? The panels behind each claim", open=False, elem_id="why"):
        ui.why = gr.Markdown()
    ui.image_in = image_input(value=str(EXAMPLES_DIR / OPENING_EXAMPLE), label="Image: upload or paste",
                              sources=["upload", "clipboard"], height=150, elem_id="image-in")
    gr.Examples([[str(EXAMPLES_DIR / name)] for name in EXAMPLES],
                inputs=[ui.image_in], label="Examples: photographs and test charts", examples_per_page=len(EXAMPLES))
    ui.info = gr.Markdown(events.NO_IMAGE, elem_id="image-info")
    models = page.studio.models
    with gr.Accordion("Model", open=False):
        ui.model = gr.Dropdown(models.labels, value=models.default_label, label="Weights",
                               info="Files in assets/weights, and any you upload here.")
        ui.model_info = gr.Markdown(page.model_note(models.default_label)["model_info"])
        ui.weights_in = gr.File(label="Add weights: original MSSNet .pt or .safetensors",
                                file_types=[".pt", ".pth", ".safetensors"], type="filepath")
    with gr.Accordion("Download the whole image", open=False):
        gr.Markdown(events.PAGE["download"])
        ui.download_btn = gr.Button("Zoom & sharpen the whole image")
        ui.download_file = gr.File(label="Zoomed and sharpened PNG", interactive=False)
    return ui


def _map(ui: SimpleNamespace) -> None:
    """The centre of the page: the zoom slider over the deep-zoom map (assets/ui/map.js). Zooming, panning,
    the curtain and the edge-gain layer run in the browser; the server only makes tiles."""
    ui.zoom = gr.Slider(MIN_FACTOR, MAX_FACTOR, value=OPENING_ZOOM, step=0.05, label="Zoom factor", elem_id="zoom")
    # its value: the map JSON from the server; the page adds "rest" (the region on screen) and fires input
    ui.map_info = gr.HTML("", html_template=VIEWER_HTML, js_on_load=MOUNT_MAP, elem_id="viewer-box", padding=False)
    with gr.Accordion("Details: timing and tiles", open=False, elem_id="details"):
        ui.timing = gr.Markdown("", elem_id="timing")
        gr.Markdown(events.PAGE["shortcuts"], elem_id="shortcuts")


def _explore_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(events.PAGE["maps"])
    ui.edges = _figure("Edge strength: bicubic and MSSNet", "map-edges")
    ui.edge_gain = _figure("Edge gain", "map-edge-gain")
    ui.sharpening = _figure("Sharpening map", "map-sharpening")
    ui.map_scales = gr.Textbox(label="Colour scales of the maps (JSON)", elem_id="map-scales", elem_classes="zs-hidden")
    gr.Markdown(events.PAGE["decision"])
    ui.decision_plot = _figure("Decision panel", "decision-plot")
    ui.decision_text = gr.Markdown(elem_id="decision-text")
    with gr.Accordion("The numbers behind the bars", open=False):
        ui.decision_table = gr.Markdown(elem_id="decision-table")
    ui.visual_plot = _figure("A model of where the eye looks, and where MSSNet added sharpness", "map-visual")
    ui.visual_text = gr.Markdown(elem_id="visual-text")
    gr.Markdown(events.PAGE["saliency"])
    ui.saliency_btn = gr.Button("Compute the saliency of this view", elem_id="saliency-btn")
    ui.saliency_plot = _figure("Saliency of the view's edge-strength change", "map-saliency")
    ui.saliency_text = gr.Markdown(events.SALIENCY_PENDING, elem_id="saliency-text")


def _attribution_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(events.PAGE["attribution"])
    with gr.Row(equal_height=False):
        ui.attr_view = _image("Window: click to move", "attr-view", buttons=[])
        with gr.Column(min_width=300):
            ui.attr_method = gr.Radio(list(events.METHODS), value=next(iter(events.METHODS)), label="Method",
                                      info=events.PAGE["methods"])
            ui.attr_window = gr.Radio(list(events.WINDOW_SIDES), value=events.WINDOW_SIDES[1], label="Window (px)")
            ui.attr_steps = gr.Slider(4, 64, value=events.DEFAULT_STEPS, step=4, label="Steps",
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
    gr.Markdown(events.PAGE["stages"])
    ui.stages_btn = gr.Button("Show the stages of the current view")
    ui.stages_plot = _figure("Each stage checked against the truth", "stages-plot")
    ui.stages_text = gr.Markdown()
    ui.changes_plot = _figure("What each stage changed", "stages-changes")
    ui.changes_text = gr.Markdown()


def _sweep_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(events.PAGE["sweep"])
    ui.sweep_btn = gr.Button("Run every zoom level", variant="primary")
    ui.sweep_plot = _image("Put back and invented at every zoom", "sweep-plot", show_label=False)
    ui.sweep_text = gr.Markdown()
    ui.sweep_gallery = gr.Gallery(label="Bicubic | MSSNet at each zoom", show_label=False, columns=1, height="auto",
                                  format="png", object_fit="none", elem_id="sweep-gallery")  # whole pairs at 1:1


def _simulate_tab(ui: SimpleNamespace) -> None:
    gr.Markdown(events.PAGE["simulate"])
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
    """Part 1: the task, then each step in its own block beside its *Try it* button, then the glossary; part 2
    ("Going deeper") with the workflow figure of the current view after its input → model → output section."""
    gr.Markdown(events.lesson_markdown(0), elem_id="lesson")
    ui.try_buttons = []  # one per step, in order (the wiring zips them with the steps)
    for step in events.LESSON_STEPS:
        with gr.Row(equal_height=False, variant="panel", elem_classes="lesson-step"):
            gr.Markdown(step.markdown, scale=3, min_width=320)
            with gr.Column(scale=1, min_width=200):
                ui.try_buttons.append(gr.Button(step.try_it.label, variant="primary"))
    gr.Markdown(events.lesson_markdown(1))
    ui.workflow_btn = gr.Button("Draw the workflow of the current view")
    ui.workflow_plot = _figure("Input → bicubic → MSSNet → view", "lesson-workflow")
    gr.Markdown(events.lesson_markdown(2))


#: One builder per tab, in the page's order (keys: the tab ids of :data:`explain.lesson.TABS`).
TAB_BUILDERS = {"explore": _explore_tab, "attribution": _attribution_tab, "stages": _stages_tab, "sweep": _sweep_tab,
                "simulate": _simulate_tab, "lesson": _lesson_tab}


# --------------------------------------------------------------------------- events


def _wire_views(w: Wiring, demo: gr.Blocks) -> None:
    """Page load, image, model and the map at rest -> the map's tiles, then the view the panels explain."""
    page, ui, ev = w.page, w.ui, events
    opened, view = [*ev.OPENED, *ev.PER_IMAGE], ["view"]
    # the page opens on the example already in the upload at the slider's zoom, a new image at opening_zoom,
    # both centred on the image's strongest edges; the panels follow when the map comes to rest
    w.on(demo.load, lambda file, model, zoom, page=None: w.page.load(file, model, None, zoom, page),
         ["image_in", "model", "zoom"],
         opened, **LIGHT_EVENTS)
    w.on(ui.image_in.change, page.load, ["image_in", "model", "source"], opened, **LIGHT_EVENTS)
    w.on(ui.model.change, page.reopen, ["source", "model", "zoom", "center"], ["map_info", *ev.PER_IMAGE],
         **LIGHT_EVENTS)
    w.on(ui.model.change, page.model_note, ["model"], ["model_info"], **LIGHT_EVENTS)
    # the lesson's "Try it" steps; the page scrolls up to the map they open (the step may sit far down the lesson)
    to_map = "(model) => { document.querySelector('#zoom')?.scrollIntoView({block: 'start'}); return model; }"
    for step, button in zip(events.LESSON_STEPS, ui.try_buttons, strict=True):
        w.on(button.click, lambda model, page=None, number=step.number: w.page.try_it(number, model, page), ["model"],
             [*opened, "tabs", "image_in", "tab_action"], js=to_map, **LIGHT_EVENTS)
    # a map the server lost (restart, expiry) -> a new map of the same image where the page's map is
    w.on(ui.map_info.input, page.map_expired, ["source", "image_in", "map_info", "model"], ["source", "map_info"],
         trigger_mode="always_last", show_progress="hidden", **LIGHT_EVENTS)
    # the map at rest -> the view, then the answer, heat maps, decision and visual saliency, then (network
    # passes each) the answer's check against the truth and the action *Try it* asked for; the saliency pair
    # (eight gradients) waits for its button
    drawn = w.on(ui.map_info.input, page.map_rest, ["source", "map_info", "model"],
                 ["center", "side", "timing", "view", "view_cached", *ev.PER_VIEW],
                 trigger_mode="always_last", show_progress="hidden", **VIEW_EVENTS)
    # each step of the chain runs for the latest view even while it still runs for an earlier one (Gradio's
    # default, "once", would drop the newer view's step and leave its panel stale)
    latest = {"trigger_mode": "always_last"}
    quiet = {"show_progress": "hidden", **latest, **LIGHT_EVENTS}
    said = w.on(drawn.success, page.answer, view, ["answer", "why"], **quiet)
    checked = w.on(said.success, page.truth, ["view", "source"], ["answer"], show_progress="hidden", **latest,
                   **ANSWER_EVENTS)
    w.on(checked.success, page.locality, ["view", "source"], ["answer"], show_progress="hidden", **latest,
         **ANSWER_EVENTS)
    maps = w.on(drawn.success, page.heat_maps, ["view", "view_cached", "window", "attr_window"], ev.MAPS,
                show_progress="minimal", **latest, **LIGHT_EVENTS)
    w.on(maps.success, page.decision, view, ["decision_plot", "decision_text", "decision_table"], **quiet)
    w.on(maps.success, page.visual_saliency, view, ["visual_plot", "visual_text"], **quiet)
    w.on(maps.success, page.tab_action, ["tab_action", "source", "view", "center", "side", "model", "zoom",
                                         "window", "attr_method", "attr_steps", "attr_window"],
         ["tab_action", *ev.STAGES, *ev.SWEEP, *ev.SIMULATE, *ev.EXPLAINED], **latest, **HEAVY_EVENTS)


def _wire_tabs(w: Wiring) -> None:
    """The explanation tabs, the download and the weights upload."""
    page, ui, ev = w.page, w.ui, events
    # a result is for one window: moving the window empties both, explaining it again empties the random one
    w.on(ui.attr_view.select, page.pick_window, ["view", "attr_window"],
         ["window", "attr_view", *ev.EXPLAINED, *ev.RANDOM], **LIGHT_EVENTS)
    ui.attr_window.change(page.window_image, w.components(["view", "window", "attr_window"]), [ui.attr_view],
                          **LIGHT_EVENTS)
    window = ["view", "window", "attr_method", "attr_steps", "attr_window"]
    cleared = w.on(ui.explain_btn.click, page.explain_again, [], ev.RANDOM, **LIGHT_EVENTS)
    w.on(cleared.then, page.explain_window, window, ev.EXPLAINED, **HEAVY_EVENTS)
    w.on(ui.random_btn.click, page.random_weights, [*window, "attr_kept"], ev.RANDOM,
         **HEAVY_EVENTS)
    for trigger in (ui.stages_tab.select, ui.stages_btn.click):
        w.on(trigger, page.stages, ["view", "source"], ev.STAGES, **HEAVY_EVENTS)
    w.on(ui.saliency_btn.click, page.saliency, ["view"], ["saliency_plot", "saliency_text"], **HEAVY_EVENTS)
    w.on(ui.sweep_btn.click, page.sweep, ["source", "center", "side", "model"], ev.SWEEP, **HEAVY_EVENTS)
    w.on(ui.sim_btn.click, page.simulate, ["source", "zoom", "center", "side", "model"], ev.SIMULATE, **HEAVY_EVENTS)
    w.on(ui.download_btn.click, page.download, ["source", "zoom", "model"], ["download_file"], **HEAVY_EVENTS)
    w.on(ui.workflow_btn.click, page.workflow, ["source", "view"], ["workflow_plot"], **LIGHT_EVENTS)
    w.on(ui.weights_in.upload, page.add_weights, ["weights_in"], ["model", "model_info"], **HEAVY_EVENTS)


# --------------------------------------------------------------------------- the API (gradio_client, MCP)


def _api_endpoints(w: Wiring) -> None:
    """API-only endpoints (gradio_client, MCP): hidden components with stable api_names; the descriptions are the
    docstrings of the page's ``api_*`` methods."""
    page, models = w.page, w.page.studio.models
    with gr.Row(visible=False):
        image = image_input(label="image")
        zoom = gr.Number(events.DEFAULT_ZOOM, label="zoom")
        cx, cy = gr.Number(None, label="center_x"), gr.Number(None, label="center_y")
        viewport = gr.Number(events.DEFAULT_VIEWPORT, label="viewport", precision=0)
        model = gr.Dropdown(models.labels, value=models.default_label, label="model")
        bicubic, sharp = gr.Image(label="bicubic", format="png"), gr.Image(label="mssnet", format="png")
        info, file = gr.JSON(label="info"), gr.File(label="png")
        view_btn, full_btn = gr.Button("api view"), gr.Button("api full")
    api = functools.partial(w.handler, plain=True)
    view_btn.click(api(page.api_zoom_sharpen, 6), [image, zoom, cx, cy, viewport, model], [bicubic, sharp, info],
                   api_name="zoom_sharpen", concurrency_id="view", concurrency_limit=1)
    full_btn.click(api(page.api_zoom_sharpen_full, 3), [image, zoom, model], [file], api_name="zoom_sharpen_full",
                   concurrency_id="heavy", concurrency_limit=1)
    with gr.Row(visible=False):
        dz_image, dz_model = image_input(label="image"), gr.Dropdown(models.labels, value=None, label="model")
        dz_info, dz_btn = gr.JSON(label="deep zoom"), gr.Button("api deep zoom")
    dz_btn.click(api(page.api_deep_zoom, 2), [dz_image, dz_model], [dz_info], api_name="deep_zoom",
                 concurrency_limit=4)


# --------------------------------------------------------------------------- the page


def build_demo(model_path: str | os.PathLike | None = None) -> gr.Blocks:
    """The studio's ``gr.Blocks`` (queue configured). ``model_path``: default weights (None: bundled)."""
    limit_malloc_arenas()
    page = Page(model_path, png_path)
    with gr.Blocks(title="Zoom & Sharpen", delete_cache=(1800, 3600)) as demo:
        demo.studio, demo.studio_page = page.studio, page  # for tests and benchmarks
        gr.Markdown(events.PAGE["intro"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                ui = _controls(page)
            with gr.Column(scale=9):
                _map(ui)
                with gr.Tabs(elem_id="tabs") as ui.tabs:
                    for tab_id, build in TAB_BUILDERS.items():  # titles: the lesson's events.TABS, which its steps name
                        with gr.Tab(events.TABS[tab_id], id=tab_id) as tab:
                            build(ui)
                        setattr(ui, f"{tab_id}_tab", tab)
        ui.source, ui.center, ui.window = gr.State(None), gr.State(None), gr.State(None)
        ui.side, ui.tab_action = gr.State(events.PANEL_SIDE), gr.State(None)
        ui.view, ui.view_cached = gr.State(None), gr.State(False)
        wiring = Wiring(page, ui)
        _api_endpoints(wiring)
        _wire_views(wiring, demo)
        _wire_tabs(wiring)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def routes(service: TileService) -> list[Any]:
    """HTTP routes beside Gradio's: the deep-zoom tiles (``/dz/<id>/…``, answered by ``service``) and the page's
    static files (``/zs/ui/…``: the viewer library and script from assets/ui, nothing else)."""
    from starlette.responses import Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def tile(request):
        reply = await service.respond(request.path_params["path"], request.query_params,
                                      request.headers.get("if-none-match"))
        return Response(reply.body, reply.status, reply.headers, reply.media_type)

    return [Route(events.DZ_PREFIX + "/{path:path}", tile, methods=["GET"]),
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
        options["app_kwargs"] = {"routes": routes(demo.studio_page.tiles)}
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
