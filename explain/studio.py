"""Explanations of studio views, as numbers and figures (no text, no UI).

* :func:`heat_map_figures` — edge maps of a view's bicubic and MSSNet images;
* :func:`stage_table` — mean edge energy of MSSNet's six stage outputs (:class:`StageTable`);
* :func:`sweep_row` — edge energies of one zoom of a sweep (:class:`SweepRow`);
* :func:`simulate` — treat the image as ground truth, shrink a crop by the zoom, enlarge it
  back with bicubic and with MSSNet, and score both (:class:`Simulation`).

:mod:`explain.report` turns the result objects into the text the app shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from mssnet import degrade
from mssnet.model import STAGE_NAMES
from mssnet.pipeline import zoom_sharpen_image, zoom_steps
from mssnet.studio import Source, SweepStep, View, check_view_request
from mssnet.zoom import source_rect

from .edges import edge_gain, edge_magnitude, mean_edge_energy, sharpening_map
from .metrics import psnr_y, ssim_y
from .plots import plot_error_maps, plot_heatmap, plot_spectrum

__all__ = ["HEAT_MAPS", "SIMULATE_MIN_SIDE", "SIMULATE_MIN_ZOOM", "Simulation", "StageTable", "SweepRow",
           "heat_map_figures", "simulate", "simulation_figures", "stage_table", "sweep_row"]

#: The heat maps of a view: name -> (title, caption, signed).
HEAT_MAPS = {
    "edge_before": ("Edge magnitude: bicubic",
                    "Bright = strong edges. Bicubic spreads each edge over several pixels: wide, dim lines.", False),
    "edge_after": ("Edge magnitude: MSSNet",
                   "Bright = strong edges after MSSNet. Sharpened edges are thinner and brighter.", False),
    "edge_gain": ("Edge gain (MSSNet - bicubic)",
                  "Red: edges MSSNet made stronger. Blue: edges it weakened (noise, ringing).", True),
    "sharpening": ("Sharpening map |change|",
                   "How much each pixel changed (RGB distance). Dark = left as bicubic had it.", False),
}
#: Simulate needs a zoom above this, and a crop of at least this side.
SIMULATE_MIN_ZOOM = 1.1
SIMULATE_MIN_SIDE = 32


def heat_map_figures(view: View) -> dict[str, Figure]:
    """The four heat maps of :data:`HEAT_MAPS`, each laid over the image it describes."""
    bicubic, sharp = view.bicubic, view.sharpened
    heats = {
        "edge_before": edge_magnitude(bicubic),
        "edge_after": edge_magnitude(sharp),
        "edge_gain": edge_gain(bicubic, sharp),
        "sharpening": sharpening_map(bicubic, sharp),
    }
    figures = {}
    for name, (title, caption, signed) in HEAT_MAPS.items():
        under = bicubic if name == "edge_before" else sharp
        figures[name] = plot_heatmap(under, heats[name], title=title, caption=caption, signed=signed)
    return figures


@dataclass(frozen=True)
class StageTable:
    """Mean edge energy of the last step's input and of each of MSSNet's six stage outputs."""

    input_energy: float
    energies: dict[str, float]  # stage name -> mean edge energy
    strength: float  # α applied to the final stage
    zoom: float
    steps: tuple[float, ...]

    def ratio(self, name: str) -> float | None:
        """A stage's energy over the input's (None when the input has no edges)."""
        return self.energies[name] / self.input_energy if self.input_energy > 0 else None


def stage_table(view: View) -> StageTable:
    energies = {name: mean_edge_energy(stage) for name, stage in zip(STAGE_NAMES, view.stages, strict=True)}
    return StageTable(mean_edge_energy(view.model_input), energies, view.last_strength, view.zoom, view.steps)


@dataclass(frozen=True)
class SweepRow:
    """One zoom of the sweep: mean edge energies, MSSNet's time (None: came from the cache)."""

    factor: float
    bicubic_energy: float
    mssnet_energy: float
    seconds: float | None


def sweep_row(step: SweepStep) -> SweepRow:
    view = step.view
    return SweepRow(step.factor, mean_edge_energy(view.bicubic), mean_edge_energy(view.sharpened),
                    None if step.cached else view.seconds["MSSNet"])


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
    sharpened = zoom_sharpen_image(model, small, zoom, size=(cw, ch))
    seconds = time.perf_counter() - t0
    shave = min(int(math.ceil(zoom)), (min(cw, ch) - 12) // 2)
    psnr = (psnr_y(bicubic, truth, shave), psnr_y(sharpened, truth, shave))
    ssim = (ssim_y(bicubic, truth, shave), ssim_y(sharpened, truth, shave))
    return Simulation(zoom, tuple(zoom_steps(zoom)), truth, bicubic, sharpened, psnr, ssim, shave, seconds)


def simulation_figures(sim: Simulation) -> tuple[Figure, Figure]:
    """(error maps of both results, radial power spectra against the truth)."""
    errors = plot_error_maps(sim.truth, {"bicubic": sim.bicubic, "MSSNet": sim.sharpened})
    spectrum = plot_spectrum(sim.bicubic, sim.sharpened, original=sim.truth, factor=sim.zoom)
    return errors, spectrum
