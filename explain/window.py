"""Explain one window of a studio view: where MSSNet looked to sharpen it.

The user picks a point in the MSSNet view; the **window** is a ``side``² square around
it (inside the view), the **crop** a :data:`ATTRIBUTION_CROP`² square around the window
(inside the view too). The attribution explains the MSSNet pass that produced the pyramid
tile under the window (:meth:`mssnet.serve.views.View.tile_pass`): it runs on a crop of that
pass's input — the 2× bicubic enlargement of the level below, in level pixels — around the
window mapped into it, and explains the edge strength MSSNet added inside the window
(:func:`explain.edge_gain_objective`, at that level's calibrated strength α).

Methods are chosen by label from :data:`METHODS`; :func:`explain_window` returns a
:class:`WindowExplanation` with numbers (Diffusion Index, gain, geometry, timing) that
:mod:`explain.report` turns into text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from mssnet.serve.source import draw_box
from mssnet.serve.views import View

from .attribution import blur_path_attribution, saliency, smoothgrad
from .edges import strongest_edge_window
from .objectives import edge_gain_objective
from .plots import plot_attribution
from .spread import diffusion_index

__all__ = ["ATTRIBUTION_CROP", "METHODS", "WINDOW_SIDES", "WindowExplanation", "attribution_figure", "crop_box",
           "explain_window", "view_window", "window_box", "window_overlay"]

#: Side of the crop the attribution runs on (px of the view).
ATTRIBUTION_CROP = 128
#: Window sides offered (px of the view).
WINDOW_SIDES = (8, 16, 32)
#: Default number of path steps / noisy copies.
DEFAULT_STEPS = 16

Box = tuple[int, int, int, int]  # (x0, y0, w, h) in view pixels
Progress = Callable[[int, int], None] | None


def _blur_path(fn, x: Tensor, steps: int, progress: Progress) -> Tensor:
    return blur_path_attribution(fn, x, n_steps=steps, internal_batch_size=2, progress=progress)


def _saliency(fn, x: Tensor, steps: int, progress: Progress) -> Tensor:
    return saliency(fn, x)


def _smoothgrad(fn, x: Tensor, steps: int, progress: Progress) -> Tensor:
    return smoothgrad(fn, x, sigma=0.05, n=steps, internal_batch_size=2, progress=progress)


#: Attribution methods by their label: ``(objective, x (1, 3, c, c), steps, progress) -> (1, 3, c, c)``.
METHODS: dict[str, Callable[..., Tensor]] = {
    "Blur path (LAM)": _blur_path,
    "Gradient saliency": _saliency,
    "SmoothGrad": _smoothgrad,
}
#: Methods that take one gradient whatever the number of steps.
ONE_GRADIENT = frozenset({"Gradient saliency"})


def window_box(view_size: tuple[int, int], center: tuple[float, float] | None, side: int) -> Box:
    """The ``side``² window around ``center`` ((x, y) view pixels; None: the view's centre),
    shifted to lie inside a view of ``view_size = (w, h)`` (and no larger than it)."""
    w, h = view_size
    side = min(int(side), w, h)
    cx, cy = (w / 2, h / 2) if center is None else center
    x0 = int(min(max(round(cx - side / 2), 0), w - side))
    y0 = int(min(max(round(cy - side / 2), 0), h - side))
    return x0, y0, side, side


def crop_box(view_size: tuple[int, int], window: Box, crop: int = ATTRIBUTION_CROP) -> Box:
    """The ``crop``² square centred on ``window`` inside the view (at most the view's shorter side)."""
    w, h = view_size
    crop = min(int(crop), w, h)
    x0, y0, s, _ = window
    cx0 = int(min(max(x0 + s // 2 - crop // 2, 0), w - crop))
    cy0 = int(min(max(y0 + s // 2 - crop // 2, 0), h - crop))
    return cx0, cy0, crop, crop


def _view_size(view: View) -> tuple[int, int]:
    return view.sharpened.shape[1], view.sharpened.shape[0]


def view_window(view: View, center: tuple[float, float] | None, side: int) -> Box:
    """The window of ``view`` around ``center``; None: the window on the view's strongest
    sharpened edge (:func:`explain.edges.strongest_edge_window`)."""
    if center is None:
        return strongest_edge_window(view.bicubic, view.sharpened, side)
    return window_box(_view_size(view), center, side)


def window_overlay(view: View, center: tuple[float, float] | None, side: int) -> np.ndarray:
    """The MSSNet view (uint8) with the crop (blue) and the window (green) outlined
    (``center`` None: the window on the strongest sharpened edge)."""
    window = view_window(view, center, side)
    image = draw_box(np.rint(np.clip(view.sharpened, 0, 1) * 255).astype(np.uint8),
                     crop_box(_view_size(view), window), color=(80, 160, 255))
    return draw_box(image, window, color=(0, 255, 0))


@dataclass
class WindowExplanation:
    """What :func:`explain_window` found. ``attribution`` is None where there was nothing to
    explain (strength α = 0: MSSNet's view is the bicubic view). ``window`` and ``crop`` are in
    view pixels; ``input_window`` and ``input_crop`` the same places in the explained pass's
    input (level px)."""

    method: str
    window: Box  # in view pixels
    crop: Box  # in view pixels
    strength: float  # α of the explained pass (its pyramid level's)
    zoom: float
    level: int  # the pyramid level the view was cut from (0: the image itself)
    tile: tuple[int, int, int] | None = None  # (level, row, col) of the pass explained
    input_window: Box = (0, 0, 0, 0)  # in the pass's input px
    input_crop: Box = (0, 0, 0, 0)  # in the pass's input px
    gradients: int = 0  # gradient evaluations
    patch: np.ndarray | None = None  # (c, c, 3) float32: the crop of the pass's input
    attribution: np.ndarray | None = None  # (3, c, c) float32, shaped like the patch's CHW
    diffusion_index: float = 0.0  # 0 = a few pixels, 100 = evenly everywhere
    gain: float = 0.0  # edge strength MSSNet added inside the window (sum of Sobel gain)
    seconds: float = 0.0

    @property
    def local_window(self) -> Box:
        """The window in patch (crop) pixels."""
        return (self.input_window[0] - self.input_crop[0], self.input_window[1] - self.input_crop[1],
                self.input_window[2], self.input_window[3])


def explain_window(model: nn.Module, view: View, center: tuple[float, float] | None, method: str,
                   steps: int = DEFAULT_STEPS, side: int = WINDOW_SIDES[1],
                   progress: Progress = None) -> WindowExplanation:
    """Attribution of the edge gain inside the window around ``center`` of ``view``.

    ``model``: the network that computed the view; ``method``: a key of :data:`METHODS`;
    ``progress(done, total)`` is called after each batch of gradients. The pass explained is
    the one that produced the tile under the window's centre.
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    steps = int(steps)
    window = view_window(view, center, side)
    crop = crop_box(_view_size(view), window)
    result = WindowExplanation(method, window, crop, view.last_strength, view.zoom, view.level)
    if result.strength == 0:
        return result
    t0 = time.perf_counter()
    wx, wy, ws, _ = window
    tile_pass = view.tile_pass((wx + ws / 2, wy + ws / 2))
    result.tile = None if tile_pass.tile is None else tuple(tile_pass.tile)
    x_in = tile_pass.model_input  # (h, w, 3): what the pass saw
    ih, iw = x_in.shape[:2]
    # the window in the pass's input (level px: scale× the view's), then the crop around it, inside the input
    ix, iy = tile_pass.to_input((wx, wy))
    iside = max(2, min(int(round(ws * tile_pass.scale)), iw, ih))
    ix0 = int(min(max(round(ix), 0), iw - iside))
    iy0 = int(min(max(round(iy), 0), ih - iside))
    result.input_window = (ix0, iy0, iside, iside)
    result.input_crop = crop_box((iw, ih), result.input_window)
    cx0, cy0, c, _ = result.input_crop
    result.patch = x_in[cy0:cy0 + c, cx0:cx0 + c]  # (c, c, 3)
    x = torch.from_numpy(np.ascontiguousarray(result.patch)).permute(2, 0, 1)[None]  # (1, 3, c, c)
    fn = edge_gain_objective(model, result.local_window, strength=result.strength)
    attribution = METHODS[method](fn, x, steps, progress)  # (1, 3, c, c)
    with torch.no_grad():
        result.gain = float(fn(x)[0])
    result.attribution = attribution[0].detach().numpy()
    result.diffusion_index = float(diffusion_index(attribution[0]))
    result.gradients = 1 if method in ONE_GRADIENT else steps
    result.seconds = time.perf_counter() - t0
    return result


def attribution_figure(result: WindowExplanation, title: str) -> Figure | None:
    """The explained crop, its signed attribution and magnitude, the window drawn (None when nothing
    was attributed: no pass at ×1)."""
    if result.attribution is None:
        return None
    return plot_attribution(result.patch, result.attribution, result.local_window, di=result.diffusion_index,
                            title=title)
