"""Each studio panel as files and text: the figures and images of :mod:`explain.studio`,
:mod:`explain.window`, :mod:`explain.sanity` and :mod:`explain.decision` handed to a ``save``
callable (image array or matplotlib figure -> a path a user interface can show), with the
Markdown of :mod:`explain.report`. No user-interface library here: ``app.py`` passes a
``save`` that writes PNGs into Gradio's cache, the tests one that writes into a temporary folder.

Panels of one view are made once and kept with it (:meth:`mssnet.serve.views.View.rendering`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from mssnet.image.zoom import source_rect
from mssnet.serve.session import SWEEP_FACTORS, Studio
from mssnet.serve.source import Source
from mssnet.serve.views import View

from . import report
from . import studio as panels
from .answer import LOCAL_WINDOW, Locality, answer_markdown, why_markdown
from .decision import decide, decision_table_markdown, plot_decision
from .plots import colour_scales
from .saliency_pair import plot_saliency_check, saliency_check, saliency_check_markdown
from .sanity import random_weights_check
from .spread import attribution_shares
from .truth import TruthCheck
from .visual import compare_saliency, plot_visual_saliency, visual_saliency_markdown
from .window import WindowExplanation, attribution_figure, explain_window

__all__ = ["Save", "answer", "attribution", "decision", "decision_chart", "explore_maps", "random_weights",
           "saliency_pair", "simulation", "stages", "sweep", "visual_saliency"]

#: Image (H, W, 3) array or figure (None passes through) -> a path to show it from.
Save = Callable[[np.ndarray | Figure | None], str | None]
#: ``progress(done, total)`` of a long panel.
Progress = Callable[[int, int], object] | None


def explore_maps(view: View, save: Save) -> tuple[str, ...]:
    """The Explore tab's maps (:data:`explain.studio.EXPLORE_MAPS`) and their colour scales as JSON,
    read from the figures themselves -> (*paths, scales); made once per view, timed as "heat maps"."""
    def make() -> tuple[str, ...]:
        t0 = time.perf_counter()
        figures = panels.explore_map_figures(view)
        paths = tuple(save(figures[name]) for name in panels.EXPLORE_MAPS)
        view.seconds["heat maps"] = time.perf_counter() - t0
        return *paths, json.dumps(colour_scales(figures))

    return view.rendering("maps", make)


def _decided(view: View):
    """The view's decision numbers (:func:`explain.decision.decide`), computed once per view."""
    return view.rendering("decided", lambda: decide(view.bicubic, view.sharpened))


def decision(view: View, save: Save) -> tuple[str, str]:
    """The decision panel (no network pass) -> (bar chart path, Markdown: sentence, then the table); made once
    per view."""
    def make() -> tuple[str, str]:
        result = _decided(view)
        return save(plot_decision(result, view.bicubic)), report.decision_markdown(result)

    return view.rendering("decision", make)


def decision_chart(view: View, save: Save) -> tuple[str, str, str]:
    """The decision panel, picture first (no network pass) -> (bar chart path, the sentence and how the classes
    are made as Markdown, the numbers as a Markdown table for a fold); made once per view."""
    def make() -> tuple[str, str, str]:
        result = _decided(view)
        return (save(plot_decision(result, view.bicubic)), report.decision_summary_markdown(result),
                decision_table_markdown(result))

    return view.rendering("decision chart", make)


def answer(view: View) -> tuple[str, str]:
    """The answer for the region on screen (no network pass) -> (two or three sentences as Markdown, the
    "why?" list of the panels behind each claim as Markdown, for a fold); made once per view."""
    return view.rendering("answer", lambda: (answer_markdown(view, _decided(view)), why_markdown(view)))


def truth(view: View, model: nn.Module, source: Source) -> TruthCheck | None:
    """The answer's check against the truth for this view: the same zoom on the :data:`~explain.truth.TRUTH_SIDE`
    px of the photograph around its centre (:func:`explain.studio.simulate`, about one MSSNet pass) -> a
    :class:`~explain.truth.TruthCheck`, None at ×1 or on a photo too small to check; made once per view."""
    def make() -> TruthCheck | bool:
        if view.level == 0:
            return False
        return panels.check_against_truth(model, source, view.zoom, _centre(view)) or False

    return view.rendering("truth", make) or None


def locality(view: View, model: nn.Module) -> Locality | None:
    """How local MSSNet's decision is at the view's strongest sharpened edge: one input gradient of the edge
    strength it added in a :data:`LOCAL_WINDOW` px window there (:func:`explain.window.explain_window`, gradient
    saliency) -> the share of it within that many screen px of the window; None at ×1 or with nothing attributed.
    Made once per view."""
    def make() -> Locality | bool:
        if view.level == 0:
            return False
        found = explain_window(model, view, None, "Gradient saliency", side=LOCAL_WINDOW)
        if found.attribution is None or not np.abs(found.attribution).sum() > 0:
            return False
        return Locality(attribution_shares(found.attribution, found.local_window)[1], LOCAL_WINDOW)

    return view.rendering("locality", make) or None


def checked_answer(view: View, model: nn.Module, source: Source, local: bool = True) -> str:
    """:func:`answer`'s sentences with the check against the truth (:func:`truth`, about one MSSNet pass) after the
    shares, then (``local``) how local the decision is (:func:`locality`, one gradient)."""
    return answer_markdown(view, _decided(view), truth(view, model, source), locality(view, model) if local else None)


class ViewLeft(Exception):
    """The page left the view while its panel was being made: the work stops."""


def saliency_pair(view: View, model: nn.Module, save: Save, n: int = 4,
                  wanted: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], object] | None = None) -> tuple[str | None, str]:
    """The whole view's saliency in the form that passes the random-weights check (signed SmoothGrad of ``n``
    noisy copies, averaged over 2 px), its random-weights twin small beside it -> (figure path or None at ×1,
    Markdown with both rank correlations). ``2 n`` forward and backward passes; made once per view. ``wanted()``
    is asked after each pass: False stops the work with :class:`ViewLeft` (nothing is kept); then
    ``progress(done, 2 n)``."""
    def still_wanted(done: int, total: int) -> None:
        if wanted is not None and not wanted():
            raise ViewLeft(f"the view was left after {done} of {total} gradients")
        if progress is not None:
            progress(done, total)

    def make() -> tuple[str | None, str]:
        check = saliency_check(model, view, n=n, progress=still_wanted)
        return save(plot_saliency_check(view, check)), saliency_check_markdown(check)

    return view.rendering(f"saliency pair {n}", make)


def visual_saliency(view: View, save: Save) -> tuple[str, str]:
    """Where the eye looks (visual saliency of the bicubic view, from the image alone) beside where MSSNet raised
    edge strength, with their correlation (no network pass) -> (figure path, Markdown); made once per view."""
    def make() -> tuple[str, str]:
        comparison = compare_saliency(view.bicubic, view.sharpened)
        return save(plot_visual_saliency(view.bicubic, comparison)), visual_saliency_markdown(comparison)

    return view.rendering("visual saliency", make)


def stages(view: View, model: nn.Module, source: Source, save: Save) -> tuple[str | None, str, str, str]:
    """-> (each stage checked against the truth on one 2× step (plot; None for a photo too small), the text with
    its table, what each stage changed in this view (amplified ×N, one scale), its text). About one MSSNet pass."""
    t0 = time.perf_counter()
    checks = panels.stage_checks(model, source, _centre(view))
    changes = panels.stage_changes_table(view)
    plot = None if checks is None else save(panels.stage_checks_figure(checks))
    changed = save(panels.stage_changes_figure(view, changes))
    return plot, report.stages_markdown(view, checks, time.perf_counter() - t0), changed, \
        report.stage_changes_markdown(changes)


def _attribution_request(view: View, window, method: str, steps: int, side: int) -> tuple:
    """What identifies an attribution run: the view, the window, the method and its settings."""
    return view.identity, None if window is None else tuple(window), method, int(steps), int(side)


def attribution(model: nn.Module, view: View, window, method: str, steps: int, side: int, save: Save,
                progress: Progress = None) -> tuple[str | None, str, tuple[tuple, WindowExplanation]]:
    """The window's attribution (None: the strongest sharpened edge) -> (figure path or None, Markdown,
    kept: the result with its request, for :func:`random_weights` to reuse)."""
    result = explain_window(model, view, window, method, int(steps), int(side), progress=progress)
    kept = (_attribution_request(view, window, method, steps, side), result)
    return save(attribution_figure(result, f"{method}: where MSSNet looked")), report.window_markdown(result), kept


def random_weights(model: nn.Module, view: View, window, method: str, steps: int, side: int, save: Save,
                   kept: tuple | None = None, progress: Progress = None) -> tuple[str | None, str]:
    """The same window with randomly re-initialised weights -> (figure path or None, Markdown comparing
    both). ``kept``: what :func:`attribution` returned; its trained result is reused when it asked the same."""
    same = kept is not None and kept[0] == _attribution_request(view, window, method, steps, side)
    check = random_weights_check(model, view, window, method, int(steps), int(side),
                                 trained=kept[1] if same else None, progress=progress)
    figure = attribution_figure(check.random, f"{method}: the same window, random weights")
    return save(figure), report.randomisation_markdown(check)


def _centre(view: View) -> tuple[float, float]:
    x0, y0, w, h = view.rect
    return x0 + w / 2, y0 + h / 2


def sweep(studio: Studio, source: Source, center, viewport: int, model_label: str | None, save: Save,
          progress: Progress = None) -> tuple[list[tuple[str, str]], str, str]:
    """Bicubic + MSSNet at every zoom of :data:`SWEEP_FACTORS`, each zoom checked against the truth on the same
    crop (about one pass each) -> (gallery of labelled whole pairs at 1:1 as (path, caption), plot path,
    Markdown table)."""
    gallery, rows, t0 = [], [], time.perf_counter()
    model = studio.models.get(model_label)
    for i, step in enumerate(studio.sweep(source, center, viewport, model_label)):
        rows.append(panels.sweep_row(step, model, source, _centre(step.view)))
        gallery.append((save(panels.sweep_pair_image(step.view, step.factor)), f"×{step.factor:g}: bicubic | MSSNet"))
        if progress is not None:
            progress(i + 1, len(SWEEP_FACTORS))
    seconds = time.perf_counter() - t0
    return gallery, save(panels.sweep_figure(rows)), report.sweep_markdown(rows, seconds)


def simulation(model: nn.Module, source: Source, zoom: float, center, viewport: int, save: Save,
               progress: Callable[[float, str], object] | None = None) -> tuple[str, ...]:
    """Simulate (:func:`explain.studio.simulate`) -> (Markdown, ground truth, bicubic, MSSNet, error
    maps, spectrum) as paths."""
    sim = panels.simulate(model, source, zoom, center, viewport, progress=progress)
    if progress is not None:
        progress(0.7, "the answer's check against the truth")
    x0, y0, w, h = source_rect(source.size, sim.zoom, (viewport, viewport), center)  # the view's, as the answer
    check = panels.check_against_truth(model, source, sim.zoom, (x0 + w / 2, y0 + h / 2))
    if progress is not None:
        progress(0.8, "error maps and spectrum")
    figures = panels.simulation_figures(sim)
    return report.simulation_markdown(sim, check), *(save(a) for a in (sim.truth, sim.bicubic, sim.sharpened,
                                                                      *figures))
