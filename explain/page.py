"""What each event of the studio's page does, with no user-interface library: the one module ``app.py``
imports from this package.

A :class:`Page` holds the studio (images, models, zoom pyramids), the tile service and the view each open page
shows. Its event methods take plain values (a :class:`~mssnet.serve.source.Source`, a
:class:`~mssnet.serve.views.View`, the page's id) and return ``{field: value}`` with only the fields they
change, each named as the page's component is (``app.py`` turns names into components); ``{}`` changes
nothing. Bad input raises ``ValueError`` or ``TypeError`` with a message for the user; :class:`Missing` says a
button was pressed before there was anything to work on. Long methods take ``progress(fraction, text)``.
"""

from __future__ import annotations

import json
import math
import os

from mssnet.runtime import background, compiled
from mssnet.serve.session import Studio
from mssnet.serve.source import Source, load_source, opening_view
from mssnet.serve.tile_service import TileService
from mssnet.serve.views import ShownViews, View, rest_view

from . import panels, report
from .api import DEFAULT_VIEWPORT, DEFAULT_ZOOM, ApiEvents
from .contracts import Fields, Missing, Progress, need, progress_steps, user_message
from .lesson import LESSON_STEPS, TABS, lesson_markdown, workflow_figure
from .plots import save_png
from .report import PAGE
from .window import DEFAULT_STEPS, METHODS, WINDOW_SIDES, window_overlay

__all__ = [  # the events, and what the layout shows beside them (texts, the lesson, choices, saving figures)
    "DEFAULT_STEPS", "DEFAULT_VIEWPORT", "DEFAULT_ZOOM", "DZ_PREFIX", "LESSON_STEPS", "METHODS", "NO_IMAGE", "PAGE",
    "PANEL_SIDE", "PENDING_ANSWER", "PER_IMAGE", "PER_VIEW", "SALIENCY_N", "SALIENCY_PENDING", "TABS",
    "WINDOW_SIDES", "Missing", "Page",
    "lesson_markdown", "save_png", "user_message",
]

#: The panels explain the middle square of the map's visible region, this many screen px a side at most.
PANEL_SIDE = 384
#: Pages whose current view is remembered (to drop panel results of views they have left).
MAX_SESSIONS = 256
#: Tabs whose action *Try it* runs once its view is on screen (Explore's panels follow every view anyway).
TAB_ACTIONS = ("attribution", "stages", "sweep", "simulate")
#: URL prefix of the deep-zoom tiles.
DZ_PREFIX = "/dz"
#: What the answer says before the first view of an image is explained.
PENDING_ANSWER = "*Reading the map… the answer appears when MSSNet has sharpened the region on screen.*"
STAGES_PENDING = "Press the button: the stages are shown for the current view."
#: Noisy copies per network of the saliency pair (SmoothGrad): 2 × this many gradients in all.
SALIENCY_N = 4
SALIENCY_PENDING = (f"Press the button to compute the saliency of this view: {2 * SALIENCY_N} gradients through "
                    "MSSNet (each a forward and a backward pass over the whole view), half of them with random "
                    "weights for the check.")
NO_IMAGE = "Upload or paste an image, or pick an example."
NO_VIEW = "Load an image first: the window is chosen in the MSSNet view."

#: What a new view empties: the panels that do not follow every view (they are never left beside a newer one).
PER_VIEW = {"attr_plot": None, "attr_text": "", "random_plot": None, "random_text": "", "attr_kept": None,
            "stages_plot": None, "stages_text": STAGES_PENDING, "changes_plot": None, "changes_text": "",
            "sweep_gallery": None, "sweep_plot": None, "sweep_text": "", "sim_text": "", "sim_truth": None,
            "sim_bicubic": None, "sim_sharp": None, "sim_errors": None, "sim_spectrum": None, "workflow_plot": None,
            "saliency_plot": None, "saliency_text": SALIENCY_PENDING}
#: What a new image or model empties: every panel, the view and the window.
PER_IMAGE = {**PER_VIEW, "view": None, "window": None, "edges": None, "edge_gain": None, "sharpening": None,
             "map_scales": "", "visual_plot": None, "visual_text": "",
             "decision_plot": None, "decision_text": "", "decision_table": "", "answer": PENDING_ANSWER, "why": "",
             "attr_view": None}
#: The fields each event may change (the outputs ``app.py`` wires).
OPENED = ("source", "center", "zoom", "info", "map_info")
MAPS = ("edges", "edge_gain", "sharpening", "map_scales", "timing", "attr_view")
STAGES = ("stages_plot", "stages_text", "changes_plot", "changes_text")
SWEEP = ("sweep_gallery", "sweep_plot", "sweep_text")
SIMULATE = ("sim_text", "sim_truth", "sim_bicubic", "sim_sharp", "sim_errors", "sim_spectrum")
EXPLAINED = ("attr_plot", "attr_text", "attr_kept")
RANDOM = ("random_plot", "random_text")

class Page(ApiEvents):
    """The studio's events. ``save``: image array or figure (None passes) -> a path the page can show;
    ``fill``: sharpen each opened image's tiles in the background."""

    def __init__(self, model_path: str | os.PathLike | None, save: panels.Save, fill: bool = True):
        self.studio = Studio(model_path, fill=fill)
        self.tiles = TileService(fill=self.studio.fill)
        self.shown = ShownViews(MAX_SESSIONS)  # which view each page shows
        self.save = save

    # ------------------------------------------------------------------ images and the map

    @staticmethod
    def open(file: str | bytes) -> Source:
        """An image file (path or bytes) -> :class:`Source`; a bad file raises ``ValueError``."""
        return load_source(file)

    def deep_zoom(self, source: Source, model_label: str | None = None, zoom: float | None = None,
                  center: tuple[float, float] | None = None) -> dict:
        """Open ``source`` on the tile service -> the viewer's info (id, size, layer URLs, where to open)."""
        image_id = self.tiles.open(self.studio.pyramid(source, model_label), source.name, center, zoom)
        info = self.tiles.info(image_id, DZ_PREFIX)
        if zoom is not None:
            info["open"] = {"zoom": float(zoom), "center": list(center or source.middle)}
        return info

    def _opened(self, source: Source, model_label: str | None, zoom: float | None, center) -> Fields:
        """:data:`OPENED` and every panel emptied; see :func:`mssnet.serve.source.opening_view` for None."""
        zoom, center = opening_view(source, PANEL_SIDE, zoom, center)
        dz = self.deep_zoom(source, model_label, zoom, center)
        return {**PER_IMAGE, "source": source, "center": center, "zoom": zoom,
                "info": report.source_markdown(source), "map_info": json.dumps(dz)}

    def load(self, file: str | bytes | None, model_label: str | None = None, current: Source | None = None,
             zoom: float | None = None, page: str | None = None) -> Fields:
        """Input image -> :data:`OPENED` and the emptied panels; ``None`` clears. The image already shown (an
        example set by *Try it*, an upload whose change event came twice) changes nothing: one image, one map;
        a file that cannot be read keeps the previous image and says why in the info line."""
        if file is None:
            self.shown.show_image(page, None)
            return {**PER_IMAGE, "source": None, "center": None, "info": NO_IMAGE, "map_info": ""}
        try:
            source = self.open(file)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            return {"info": f"⚠️ **Cannot open that file.** {exc} The image before it stays."}
        if (current is not None and current.key == source.key) or not self.shown.show_image(page, source.key):
            return {}
        return self._opened(source, model_label, zoom, None)

    def try_it(self, number: int, model_label: str | None = None, page: str | None = None) -> Fields:
        """A lesson step's *Try it*: its example everywhere (``image_in``: the upload shows it too), its zoom,
        centre and tab (``tabs``); ``tab_action``: the tab's action, run once the map shows the view."""
        t = next(s for s in LESSON_STEPS if s.number == number).try_it
        source = self.open(str(t.path))
        self.shown.show_image(page, source.key)  # the upload's change event that follows opens nothing
        return {**self._opened(source, model_label, t.zoom, t.center or source.middle), "tabs": t.tab,
                "image_in": str(t.path), "tab_action": t.tab if t.tab in TAB_ACTIONS else None}

    def reopen(self, source: Source | None, model_label: str | None, zoom: float, center) -> Fields:
        """Another model: the same image and place on its own tiles, every panel emptied."""
        if source is None:
            return {}
        return {**PER_IMAGE, "map_info": json.dumps(self.deep_zoom(source, model_label, zoom, center))}

    def map_expired(self, source: Source | None, file: str | None, map_state: str | None,
                    model_label: str | None) -> Fields:
        """The tile service no longer knows the page's map (a restart, or it expired) -> ``map_info``: a new map of
        the same image (``source``, else the upload ``file``: after a restart the page's state is gone) opening
        where the old one was, its ``reopens`` the old id (the page swaps the maps without a gap). ``map_state``:
        the map's value with ``expired`` ({id, zoom, center}) as the page wrote it; a map still open, or a value
        without ``expired``, changes nothing."""
        try:
            gone = json.loads(map_state or "")["expired"]
            image_id = str(gone["id"])
            zoom, center = gone.get("zoom"), gone.get("center")
            zoom = float(zoom) if zoom is not None else None
            center = (float(center[0]), float(center[1])) if center is not None else None
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return {}
        if self.tiles.image(image_id) is not None:
            return {}
        if source is None and file is not None:
            try:
                source = self.open(file)
            except (ValueError, TypeError, FileNotFoundError):
                return {}
        if source is None:
            return {}
        if zoom is None or center is None or not (math.isfinite(zoom) and zoom > 0 and all(map(math.isfinite, center))):
            zoom, center = opening_view(source, PANEL_SIDE, None, None)
        w, h = source.size
        center = (min(max(center[0], 0.0), w), min(max(center[1], 0.0), h))
        info = self.deep_zoom(source, model_label, zoom, center) | {"reopens": image_id}
        return {"source": source, "map_info": json.dumps(info)}

    def map_rest(self, source: Source | None, map_state: str | None, model_label: str | None,
                 page: str | None = None) -> Fields:
        """The map came to rest -> ``center``, ``side`` and the view the panels explain (``timing``, ``view``,
        ``view_cached``), with :data:`PER_VIEW` emptied. ``map_state``: the map's value as the page wrote it, the
        map JSON of :meth:`deep_zoom` with ``rest`` (the region on screen: id, zoom, center_x, center_y, width,
        height); a rest of another map (an image replaced meanwhile) or a value without one changes nothing.
        The zoom slider follows the map in the page itself (a late answer must not set it back)."""
        try:
            rest = json.dumps(json.loads(map_state or "")["rest"])
        except (ValueError, KeyError, TypeError):
            return {}
        parsed = rest_view(source, rest, PANEL_SIDE, map_state)
        if parsed is None:
            return {}
        zoom, center, side = parsed
        view, cached = self.studio.view(source, zoom, center, side, model_label)
        self.shown.record(page, view)
        timing = f"{report.timing_markdown(view, cached)}  \nRuns on: {self.runtime_name(view.model_label)}"
        return {**PER_VIEW, "center": center, "side": side, "timing": timing, "view": view, "view_cached": cached}

    def runtime_name(self, model_label: str | None) -> str:
        """What the passes of a model run on (e.g. "OpenVINO 2026.4.1 · bf16")."""
        return compiled.backend_name(self.studio.models.get(model_label))

    # ------------------------------------------------------------------ panels that follow every view

    def _fresh(self, view: View | None, page: str | None) -> bool:
        """False without a view or when the page has moved on to another view since ``view`` was asked for: its
        panel result is dropped, never shown beside a newer one."""
        return view is not None and not self.shown.stale(page, view)

    def heat_maps(self, view: View | None, cached: bool = False, window=None, side: int = WINDOW_SIDES[1],
                  page: str | None = None) -> Fields:
        """-> :data:`MAPS`: edge maps on one scale, edge gain, sharpening map, colour scales, timing, the
        attribution tab's view."""
        if not self._fresh(view, page):
            return {}
        maps = panels.explore_maps(view, self.save)  # first: the timing line then names the maps' time
        return {**dict(zip(MAPS[:4], maps, strict=True)), "timing": report.timing_markdown(view, bool(cached)),
                "attr_view": self.window_image(view, window, side)}

    def answer(self, view: View | None, page: str | None = None) -> Fields:
        """The answer on the first screen for the view on screen, and the "why?" list."""
        if not self._fresh(view, page):
            return {}
        return dict(zip(("answer", "why"), panels.answer(view), strict=True))

    def truth(self, view: View | None, source: Source | None, page: str | None = None, local: bool = False) -> Fields:
        """The answer again, with its check against the truth (about one MSSNet pass), and with ``local`` how local
        the decision is (one gradient more: :meth:`locality`); a view the page has left meanwhile is skipped, also
        when it left during the work."""
        if source is None or not self._fresh(view, page) or view.source_key != source.key:
            return {}
        text = panels.checked_answer(view, self.studio.models.get(view.model_label), source, local)
        return {"answer": text} if self._fresh(view, page) else {}

    def locality(self, view: View | None, source: Source | None, page: str | None = None) -> Fields:
        """The checked answer with how local the decision is added (it follows :meth:`truth`, whose check is kept
        with the view)."""
        return self.truth(view, source, page, local=True)

    def decision(self, view: View | None, page: str | None = None) -> Fields:
        """The decision panel, picture first: bar chart, the sentence, the numbers for the fold."""
        if not self._fresh(view, page):
            return {}
        return dict(zip(("decision_plot", "decision_text", "decision_table"),
                        panels.decision_chart(view, self.save), strict=True))

    def visual_saliency(self, view: View | None, page: str | None = None) -> Fields:
        """Where the eye looks vs where MSSNet sharpened: figure and text."""
        if not self._fresh(view, page):
            return {}
        return dict(zip(("visual_plot", "visual_text"), panels.visual_saliency(view, self.save), strict=True))

    def saliency(self, view: View | None, page: str | None = None, progress: Progress = None) -> Fields:
        """Whole-view saliency in the form that passes the random-weights check, its random twin beside it (on
        demand: :data:`SALIENCY_N` gradients per network). Its passes stop when the page leaves the view during
        them, and nothing is shown then."""
        need(view)
        if not self._fresh(view, page):
            return {}
        try:
            shown = panels.saliency_pair(view, self.studio.models.get(view.model_label), self.save, n=SALIENCY_N,
                                         wanted=lambda: self._fresh(view, page),
                                         progress=progress_steps(progress, "saliency: gradient {done} of {total}"))
        except panels.ViewLeft:
            return {}
        return dict(zip(("saliency_plot", "saliency_text"), shown, strict=True)) if self._fresh(view, page) else {}

    # ------------------------------------------------------------------ the tabs' actions

    def window_image(self, view: View | None, window=None, side: int = WINDOW_SIDES[1]) -> str | None:
        """The MSSNet view with the attribution window and its crop drawn -> path (None without a view)."""
        return None if view is None else self.save(window_overlay(view, window, int(side)))

    def pick_window(self, view: View | None, side: int, index) -> Fields:
        """A click at ``index`` (x, y) on the sharpened view -> the window centre (viewport pixels), the view with
        the window drawn, both attribution results emptied (a result is for one window)."""
        if view is None or index is None:
            return {}
        window = (float(index[0]) + 0.5, float(index[1]) + 0.5)
        return {"window": window, "attr_view": self.window_image(view, window, side),
                **{k: PER_VIEW[k] for k in EXPLAINED + RANDOM}}

    def explain_again(self) -> Fields:
        """*Explain this window* pressed -> :data:`RANDOM` emptied, before the new explanation runs: the random-weights
        result belongs to the explanation it was set against."""
        return {k: PER_VIEW[k] for k in RANDOM}

    def explain_window(self, view: View | None, window, method: str, steps: int, side: int,
                       progress: Progress = None) -> Fields:
        """Attribution for the window (None: the strongest sharpened edge) -> :data:`EXPLAINED`."""
        need(view, NO_VIEW)
        if progress is not None:
            progress(0, f"{method}: starting")
        out = panels.attribution(self.studio.models.get(view.model_label), view, window, method, steps, side,
                                 self.save, progress_steps(progress, method + ": gradient {done} of {total}"))
        return dict(zip(EXPLAINED, out, strict=True))

    def random_weights(self, view: View | None, window, method: str, steps: int, side: int, kept=None,
                       progress: Progress = None) -> Fields:
        """The window explained with random weights (the sanity check) -> :data:`RANDOM`; reuses the kept result
        of *Explain this window* when it matches."""
        need(view, NO_VIEW)
        if progress is not None:
            progress(0, f"{method}: random weights")
        out = panels.random_weights(self.studio.models.get(view.model_label), view, window, method, steps, side,
                                    self.save, kept, progress_steps(progress, "gradient {done} of {total}"))
        return dict(zip(RANDOM, out, strict=True))

    def stages(self, view: View | None, source: Source | None) -> Fields:
        """MSSNet's six outputs -> :data:`STAGES` (each stage checked against the truth: plot and text; what each
        changed in this view: figure and text)."""
        if view is None or source is None:
            return dict(zip(STAGES, (None, "Load an image first; the stages are shown for the current view.",
                                     None, ""), strict=True))
        model = self.studio.models.get(view.model_label)
        return dict(zip(STAGES, panels.stages(view, model, source, self.save), strict=True))

    def sweep(self, source: Source | None, center, viewport, model_label: str | None,
              progress: Progress = None) -> Fields:
        """Bicubic + MSSNet at every zoom of the sweep -> :data:`SWEEP` (gallery, plot, table)."""
        need(source)
        out = panels.sweep(self.studio, source, center, viewport, model_label, self.save,
                           progress_steps(progress, "zoom {done} of {total}: bicubic + MSSNet"))
        return dict(zip(SWEEP, out, strict=True))

    def simulate(self, source: Source | None, zoom: float, center, viewport, model_label: str | None,
                 progress: Progress = None) -> Fields:
        """-> :data:`SIMULATE` (metrics, ground truth, bicubic, MSSNet, error figure, spectrum figure)."""
        need(source)
        out = panels.simulation(self.studio.models.get(model_label), source, zoom, center, viewport, self.save,
                                progress=progress)
        return dict(zip(SIMULATE, out, strict=True))

    def tab_action(self, tab: str | None, source: Source | None, view: View | None, center, side, model_label,
                   zoom: float, window, method: str, steps: int, window_side: int, progress: Progress = None) -> Fields:
        """After *Try it*, once its view is on screen: the opened tab's action, so that it opens with content;
        ``tab_action`` is then cleared."""
        if tab is None or view is None:
            return {}
        actions = {"stages": lambda: self.stages(view, source),
                   "sweep": lambda: self.sweep(source, center, side, model_label, progress),
                   "simulate": lambda: self.simulate(source, zoom, center, side, model_label, progress),
                   "attribution": lambda: self.explain_window(view, window, method, steps, window_side, progress)}
        return {"tab_action": None, **(actions[tab]() if tab in actions else {})}

    def workflow(self, source: Source | None, view: View | None) -> Fields:
        """The lesson's workflow figure for the current view (input region -> bicubic -> stages -> view)."""
        need(view if source is not None else None)
        return {"workflow_plot": self.save(workflow_figure(source, view))}

    def download(self, source: Source | None, zoom: float, model_label: str | None,
                 progress: Progress = None) -> Fields:
        """The whole image zoomed and sharpened -> ``download_file``: the path of the PNG."""
        need(source)
        if progress is not None:
            progress(0, "zoom pyramid of the whole image")
        path = self.studio.zoom_full(source, zoom, model_label,
                                     progress=progress_steps(progress, "MSSNet: tile {done} of {total}"))
        return {"download_file": str(path)}

    # ------------------------------------------------------------------ models

    def add_weights(self, file: str | None) -> Fields:
        """A weights file uploaded -> ``model`` (its label, now chosen) and ``model_info``."""
        if file is None:
            return {}
        label, model = self.studio.models.add(file)
        return {"model": label, "model_info": report.weights_loaded_markdown(file, model.config)}

    def model_note(self, model_label: str | None) -> Fields:
        """Where a model's weights come from and what its passes run on; its graphs compile meanwhile in the
        background, so that the first view does not wait for them."""
        models = self.studio.models
        note = report.weights_note(models.paths.get(model_label or models.default_label), models.why(model_label))
        model = models.get(model_label)
        background.start(compiled.prepare, model, name="compile-ahead")
        return {"model_info": f"{note}  \nRuns on: {compiled.backend_name(model)}"}

    def close(self) -> None:
        """Stop the tile service and the studio's background work."""
        self.tiles.close()
        self.studio.close()
