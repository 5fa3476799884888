"""Explanations of studio views, as numbers and figures (no text, no UI).

* :func:`heat_map_figures` — edge maps of a view's bicubic and MSSNet images (before and
  after on one shared scale, the gain on a diverging scale centred on 0);
  :func:`edge_pair_figure` — both edge maps in one figure with one colour bar;
* :func:`stage_changes_table` / :func:`stage_changes_figure` — what each stage changed;
* :func:`sweep_pair_image` — one zoom of the sweep as a labelled bicubic | MSSNet pair;
* :func:`stage_checks` — MSSNet's six stage outputs checked against the truth on one 2× step (:class:`StageChecks`);
* :func:`sweep_row` — one zoom of a sweep checked against the truth on the same crop at every zoom
  (:class:`SweepRow`);
* :func:`simulate` — treat the image as ground truth, shrink a crop by the zoom, enlarge it
  back with bicubic and with MSSNet, and score both (:class:`Simulation`);
  :func:`check_against_truth` — the same run as detail put back and invented (:mod:`explain.truth`).

:mod:`explain.report` turns the result objects into the text the app shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from mssnet.image.zoom import source_rect
from mssnet.model.network import STAGE_NAMES
from mssnet.model.strength import level_strengths
from mssnet.pyramid.levels import pyramid_level, pyramid_zoom_image
from mssnet.runtime.inference import sharpen_stages
from mssnet.serve.session import SweepStep
from mssnet.serve.source import Source
from mssnet.serve.views import View, check_view_request
from mssnet.train import degrade

from .edges import edge_gain, edge_magnitude, sharpening_map, strongest_edge_window
from .gallery_plots import plot_stage_changes, plot_stage_checks, plot_zoom_sweep, stage_changes
from .measure import change_text, edge_strength
from .metrics import psnr_y, ssim_y
from .plots import (
    edge_scale,
    plot_edge_gain,
    plot_edge_pair,
    plot_error_maps,
    plot_heatmap,
    plot_spectrum,
)
from .truth import TRUTH_SIDE, TruthCheck, truth_check

__all__ = ["EXPLORE_MAPS", "HEAT_MAPS", "SIMULATE_MIN_SIDE", "SIMULATE_MIN_ZOOM", "Simulation", "StageChanges",
           "StageChecks", "STAGE_CURVES", "SweepRow", "default_window_center", "edge_pair_figure",
           "explore_map_figures", "heat_map_figures", "simulate", "simulation_figures",
           "stage_changes_figure", "stage_changes_table", "stage_checks", "stage_checks_figure",
           "sweep_figure",
           "sweep_pair_image", "sweep_row", "view_summary", "check_against_truth", "SWEEP_CURVES"]

#: The heat maps of a view: name -> (title, caption, signed).
HEAT_MAPS = {
    "edge_before": ("Edge strength: bicubic",
                    "Bright = strong edges. Bicubic spreads each edge over several pixels: wide, dim lines.", False),
    "edge_after": ("Edge strength: MSSNet",
                   "Bright = strong edges after MSSNet. Sharpened edges are thinner and brighter.", False),
    "edge_gain": ("Change of edge strength (MSSNet − bicubic)",
                  "Red: edges MSSNet made stronger. Blue: edges it weakened (noise, ringing).", True),
    "sharpening": ("Sharpening map |change|",
                   "How much each pixel changed (RGB distance). Dark = left as bicubic had it.", False),
}
#: Simulate needs a zoom above this, and a crop of at least this side.
SIMULATE_MIN_ZOOM = 1.1
SIMULATE_MIN_SIDE = 32


def heat_map_figures(view: View, names: Sequence[str] = tuple(HEAT_MAPS)) -> dict[str, Figure]:
    """The heat maps of :data:`HEAT_MAPS` named in ``names`` (default all four); only those are
    computed. The two edge-magnitude maps share one scale (:func:`explain.plots.edge_scale` of
    both views), so the stronger edges look brighter; the edge gain is drawn at full opacity on a
    diverging scale centred on 0."""
    unknown = set(names) - set(HEAT_MAPS)
    if unknown:
        raise ValueError(f"unknown heat maps {sorted(unknown)}; choose from {list(HEAT_MAPS)}")
    bicubic, sharp = view.bicubic, view.sharpened
    vmax = edge_scale(bicubic, sharp) if {"edge_before", "edge_after"} & set(names) else None
    figures = {}
    for name in names:
        title, caption, signed = HEAT_MAPS[name]
        if name == "edge_gain":
            figures[name] = plot_edge_gain(sharp, edge_gain(bicubic, sharp), title=title)
        elif name == "sharpening":
            figures[name] = plot_heatmap(sharp, sharpening_map(bicubic, sharp), title=title, caption=caption,
                                         signed=signed)
        else:
            under = bicubic if name == "edge_before" else sharp
            figures[name] = plot_heatmap(under, edge_magnitude(under), title=title, caption=caption, signed=signed,
                                         vmax=vmax)
    return figures


def default_window_center(view: View, side: int) -> tuple[float, float]:
    """Centre ((x, y) view px) of the ``side``² window on the strongest sharpened edge of the
    view (:func:`explain.edges.strongest_edge_window`): the window to explain before anyone clicks."""
    x0, y0, s, _ = strongest_edge_window(view.bicubic, view.sharpened, side)
    return x0 + s / 2, y0 + s / 2


def edge_pair_figure(view: View) -> Figure:
    """Edge magnitude of the bicubic and the MSSNet view in one figure, one scale, one colour bar."""
    return plot_edge_pair(view.bicubic, view.sharpened)


#: The Explore tab's maps of a view, in the order :func:`explore_map_figures` returns them.
EXPLORE_MAPS = ("edges", "edge_gain", "sharpening")


def explore_map_figures(view: View) -> dict[str, Figure]:
    """The Explore tab's maps (:data:`EXPLORE_MAPS`): both edge maps in one figure on one scale, the
    edge gain on a diverging scale centred on 0, the sharpening map."""
    return {"edges": edge_pair_figure(view), **heat_map_figures(view, ("edge_gain", "sharpening"))}


def view_summary(view: View, cached: bool) -> dict:
    """A view's facts as plain JSON values: source rectangle, zoom, level, strength, tiles, timings,
    whether it came from the cache and the edge strength (:mod:`explain.measure`) of both views with
    its change ("+17 % edge strength")."""
    return {"rect": [round(v, 3) for v in view.rect], "zoom": view.zoom, "viewport": view.viewport,
            "model": view.model_label, "level": view.level, "strength": round(view.last_strength, 4),
            "tiles": {"computed": view.tiles_computed, "reused": view.tiles_reused},
            "seconds": {k: round(v, 4) for k, v in view.seconds.items()}, "cached": bool(cached),
            "edge_strength": _strength_summary(view)}


def _strength_summary(view: View) -> dict:
    before, after = edge_strength(view.bicubic), edge_strength(view.sharpened)
    return {"bicubic": round(before, 6), "mssnet": round(after, 6), "change": change_text(before, after)}


def _full_size_strength(image: np.ndarray, size: tuple[int, int]) -> float:
    """Edge strength of ``image`` at ``size = (h, w)`` (bilinear where it differs: the half-resolution
    stage compared per full-resolution pixel)."""
    import cv2

    h, w = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return edge_strength(image)


@dataclass(frozen=True)
class StageChecks:
    """MSSNet's six stage outputs checked against the truth on one 2× step (:mod:`explain.truth`): the ``side`` px
    crop of the photograph shrunk ×2 and enlarged back with bicubic is MSSNet's input; each stage's output (as the
    network gives it, before the strength α) and the level's result (input + α × (last stage − input)) against
    the crop."""

    side: int
    stages: dict[str, TruthCheck]  # stage name -> its output's check
    result: TruthCheck  # what the level keeps, at the calibrated strength
    strength: float  # α of a 2× step from the image (level 1)


#: The Stages plot's curves: label -> (share of a :class:`~explain.truth.TruthCheck`, colour).
STAGE_CURVES = {"put back (% of the detail the 2× step removed)": ("put_back", "tab:green"),
                "invented (% of what the stage added)": ("invented", "tab:red")}


def stage_checks(model: nn.Module, source: Source, center, side: int = TRUTH_SIDE) -> StageChecks | None:
    """One 2× step where the truth is known, stage by stage (one MSSNet pass on at most ``side``² px) ->
    :class:`StageChecks`; None for a photo smaller than :data:`SIMULATE_MIN_SIDE`."""
    w, h = source.size
    cw, ch = min(side, w), min(side, h)
    if min(cw, ch) < SIMULATE_MIN_SIDE:
        return None
    x0, y0, _, _ = source_rect((w, h), 1.0, (cw, ch), center)
    x0, y0 = int(round(x0)), int(round(y0))
    truth = source.rgb[y0:y0 + ch, x0:x0 + cw]
    x = torch.from_numpy(np.ascontiguousarray(truth)).permute(2, 0, 1)[None]
    bicubic = np.ascontiguousarray(degrade.enlarge(degrade.shrink(x, 2.0), (ch, cw))[0].permute(1, 2, 0).numpy())
    strength = float(level_strengths(model, 1)[0])
    final, stages = sharpen_stages(model, bicubic)
    result = np.clip(bicubic + strength * (final - bicubic), 0.0, 1.0)
    shave = 2
    checks = {name: truth_check(truth, bicubic, np.clip(stage, 0, 1), 2.0, shave)
              for name, stage in zip(STAGE_NAMES, stages, strict=True)}
    return StageChecks(min(cw, ch), checks, truth_check(truth, bicubic, result, 2.0, shave), strength)


def stage_checks_figure(checks: StageChecks) -> Figure:
    """Put back and invented after each stage (:data:`STAGE_CURVES`), in per cent."""
    series = {label: ([100 * getattr(c, name) for c in checks.stages.values()], colour)
              for label, (name, colour) in STAGE_CURVES.items()}
    return plot_stage_checks(list(checks.stages), series, f"Stage by stage, checked on {checks.side} px of the photo")


@dataclass(frozen=True)
class StageChanges:
    """What each of MSSNet's stages changed: mean |ΔY| from the previous stage (stage 1: from the
    last step's input) and the edge strength before and after it, per stage name."""

    mean_abs_change: dict[str, float]
    edge_before: dict[str, float]  # edge strength of what the stage started from
    edge_after: dict[str, float]  # ... of its output
    limit: float  # the shared symmetric scale of the figure

    @property
    def busiest(self) -> str:
        """The stage that changed the image most."""
        return max(self.mean_abs_change, key=self.mean_abs_change.__getitem__)

    @property
    def edge_change(self) -> dict[str, float]:
        """Change of edge strength per stage (intensity change per pixel)."""
        return {n: self.edge_after[n] - self.edge_before[n] for n in self.edge_after}

    @property
    def strongest(self) -> str:
        """The stage that raised edge strength most (or lowered it least)."""
        return max(self.edge_change, key=self.edge_change.__getitem__)


def stage_changes_table(view: View) -> StageChanges:
    changes = stage_changes(view.stages, view.model_input)
    size = view.stages[-1].shape[:2]
    strengths = [_full_size_strength(view.model_input, size)] + [_full_size_strength(s, size) for s in view.stages]
    mean_abs = {n: float(np.abs(c).mean()) for n, c in zip(STAGE_NAMES, changes, strict=True)}
    before = {n: strengths[k] for k, n in enumerate(STAGE_NAMES)}
    after = {n: strengths[k + 1] for k, n in enumerate(STAGE_NAMES)}
    limit = float(max(np.percentile(np.abs(c), 99.5) for c in changes)) or 1e-12
    return StageChanges(mean_abs, before, after, limit)


def stage_changes_figure(view: View, table: StageChanges | None = None) -> Figure:
    """Each stage's change from the previous one (stage 1: from the input), on one symmetric scale,
    amplified (the factor is written on the figure)."""
    limit = None if table is None else table.limit
    return plot_stage_changes(view.stages, view.model_input, STAGE_NAMES, limit=limit)


def sweep_pair_image(view: View, factor: float, gap: int = 6) -> np.ndarray:
    """One zoom level as a whole bicubic | MSSNet pair at 1:1 pixels, each half labelled
    (``"×4 bicubic"``, ``"×4 MSSNet"``) in a strip above it. -> uint8 (h + strip, 2w + gap, 3)."""
    import cv2

    from mssnet import to_uint8

    halves = []
    for image, label in ((view.bicubic, "bicubic"), (view.sharpened, "MSSNet")):
        u8 = to_uint8(image)
        h, w = u8.shape[:2]
        scale = max(0.45, min(0.8, w / 320))
        strip_h = int(round(32 * scale)) + 8
        strip = np.full((strip_h, w, 3), 255, np.uint8)
        cv2.putText(strip, f"x{factor:g} {label}", (4, strip_h - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    max(1, round(2 * scale)), cv2.LINE_AA)
        halves.append(np.concatenate([strip, u8], axis=0))
    spacer = np.full((halves[0].shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([halves[0], spacer, halves[1]], axis=1)


@dataclass(frozen=True)
class SweepRow:
    """One zoom of the sweep: the check against the truth on the sweep's one crop (None at ×1 or where Simulate
    cannot run) and the view's MSSNet time (None: came from the cache)."""

    factor: float
    check: TruthCheck | None
    seconds: float | None


def sweep_row(step: SweepStep, model: nn.Module, source: Source, center: tuple[float, float]) -> SweepRow:
    """``step``'s zoom checked on the :data:`~explain.truth.TRUTH_SIDE` px of the photograph around ``center``: the
    same region at every zoom of the sweep."""
    check = check_against_truth(model, source, step.factor, center) if step.factor >= SIMULATE_MIN_ZOOM else None
    return SweepRow(step.factor, check, None if step.cached else step.view.seconds["MSSNet"])


#: The sweep's curves: label -> (share of a :class:`~explain.truth.TruthCheck`, colour).
SWEEP_CURVES = {"removed by the zoom (% of the photo's detail)": ("removed", "tab:blue"),
                "put back by MSSNet (% of what was removed)": ("put_back", "tab:green"),
                "invented by MSSNet (% of what it added)": ("invented", "tab:red")}


def sweep_figure(rows: list[SweepRow]) -> Figure:
    """The checked zooms' shares (:data:`SWEEP_CURVES`) against the zoom, in per cent."""
    checked = [r for r in rows if r.check is not None]
    series = {label: ([100 * getattr(r.check, name) for r in checked], colour)
              for label, (name, colour) in SWEEP_CURVES.items()}
    side = checked[0].check.side if checked else TRUTH_SIDE
    return plot_zoom_sweep([r.factor for r in checked], series, "% (same crop at every zoom)",
                           f"The same {side} px of the photo at every zoom")


def check_against_truth(model: nn.Module, source: Source, zoom: float, center,
                        side: int = TRUTH_SIDE) -> TruthCheck | None:
    """The zoom where the truth is known: the ``side`` px of the photograph around ``center`` shrunk ×zoom and
    enlarged back (:func:`simulate`, about one MSSNet pass) -> :func:`~explain.truth.truth_check`; None where
    Simulate cannot run (a zoom below :data:`SIMULATE_MIN_ZOOM`, a photo smaller than :data:`SIMULATE_MIN_SIDE`)."""
    try:
        sim = simulate(model, source, zoom, center, side)
    except ValueError:
        return None
    return truth_check(sim.truth, sim.bicubic, sim.sharpened, sim.zoom, sim.shave)


@dataclass
class Simulation:
    """Simulate's result. Images (h, w, 3) float32 in [0, 1]; scores on Y with ``shave`` px borders left out."""

    zoom: float
    steps: tuple[float, ...]
    truth: np.ndarray
    bicubic: np.ndarray
    sharpened: np.ndarray
    psnr: tuple[float, float]  # (bicubic, MSSNet) dB
    ssim: tuple[float, float]  # (bicubic, MSSNet)
    shave: int
    seconds: float

    @property
    def size(self) -> tuple[int, int]:
        return self.truth.shape[1], self.truth.shape[0]

    @property
    def gain_db(self) -> float:
        return self.psnr[1] - self.psnr[0]


def simulate(model: nn.Module, source: Source, zoom: float, center, viewport: int,
             progress: Callable[[float, str], object] | None = None) -> Simulation:
    """The ``viewport``² crop around ``center`` as ground truth, shrunk ×zoom (antialiased bicubic),
    enlarged back with bicubic and with MSSNet in steps; Y-PSNR/SSIM of both against the crop."""
    zoom, center, viewport = check_view_request(source, zoom, center, viewport)
    if zoom < SIMULATE_MIN_ZOOM:
        raise ValueError(f"set the zoom slider above ×{SIMULATE_MIN_ZOOM:g} first: at ×1 there is no blur to undo")
    w, h = source.size
    cw, ch = min(viewport, w), min(viewport, h)
    if min(cw, ch) < SIMULATE_MIN_SIDE:
        raise ValueError(f"the image is too small to simulate ({w}×{h} px; needs at least "
                         f"{SIMULATE_MIN_SIDE}×{SIMULATE_MIN_SIDE})")
    x0, y0, _, _ = source_rect((w, h), 1.0, (cw, ch), center)
    x0, y0 = int(round(x0)), int(round(y0))
    truth = source.rgb[y0:y0 + ch, x0:x0 + cw]
    t0 = time.perf_counter()
    x = torch.from_numpy(np.ascontiguousarray(truth)).permute(2, 0, 1)[None]  # (1, 3, ch, cw)
    small = degrade.shrink(x, zoom)  # what the screen would hold at this zoom
    bicubic = degrade.enlarge(small, (ch, cw))[0].permute(1, 2, 0).numpy()  # (ch, cw, 3)
    if progress is not None:
        progress(0.2, "MSSNet")
    small = np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())
    sharpened = pyramid_zoom_image(model, small, zoom, size=(cw, ch))  # the pyramid rule, as the views
    seconds = time.perf_counter() - t0
    shave = min(int(math.ceil(zoom)), (min(cw, ch) - 12) // 2)
    psnr = (psnr_y(bicubic, truth, shave), psnr_y(sharpened, truth, shave))
    ssim = (ssim_y(bicubic, truth, shave), ssim_y(sharpened, truth, shave))
    return Simulation(zoom, (2.0,) * pyramid_level(zoom), truth, bicubic, sharpened, psnr, ssim, shave, seconds)


def simulation_figures(sim: Simulation) -> tuple[Figure, Figure]:
    """(error maps of both results, radial power spectra against the truth)."""
    errors = plot_error_maps(sim.truth, {"bicubic": sim.bicubic, "MSSNet": sim.sharpened})
    spectrum = plot_spectrum(sim.bicubic, sim.sharpened, original=sim.truth, factor=sim.zoom)
    return errors, spectrum
