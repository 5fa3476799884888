"""Whole-view saliency that passes the randomisation check, with its random-weights twin.

The map shown is the **signed** input gradient of the view's total gradient gain (the sum of the
edge-strength change map of :mod:`explain.measure`, ``edge_strength_map(x + α (model(x) − x)) −
edge_strength_map(x)``, over the view: :func:`explain.objectives.edge_gain_objective`), summed over RGB, averaged
over noisy copies of the input (SmoothGrad) and over a few pixels (a Gaussian of
:data:`SMOOTH_PX`), so it is neither speckle nor a glow. The same map is made with the network's
weights re-initialised (:func:`explain.sanity.randomized_copy`): a map that looks the same for
both shows the network's shape, not what it learned (the model-randomisation check). Measured on
the examples (tiny and small weights): the shown form's trained-vs-random rank correlation is
between −0.3 and +0.3 (192² views, small; 128², tiny), the magnitude's below 0.2; the trained map
runs opposite to the image's fine detail (rank correlation with ``Y − blur(Y)`` about −0.55 to −0.75
on the photographs), the random one does not (−0.4 to +0.4). An objective on the edge strength itself
(root mean square) was tried and not kept: its ``− edge_strength(x)`` term, shared by both networks,
made the random map look like the trained one (ρ up to 0.43).

:func:`saliency_check` computes both maps and the numbers (:class:`SaliencyCheck`),
:func:`plot_saliency_check` draws them, :func:`saliency_check_markdown` says what they show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from mssnet.runtime.inference import resolve_precision
from mssnet.serve.views import View

from .attribution import Progress, smoothgrad
from .edges import luminance
from .measure import NAME
from .objectives import Autocast, edge_gain_objective
from .plots import MIN_TEXT_PT, SIGNED_CMAP, _new_figure, readable_text
from .sanity import randomized_copy, spearman

__all__ = ["DETAIL_SIGMA", "PASS_BELOW", "SMOOTH_PX", "SaliencyCheck",
           "plot_saliency_check", "saliency_check", "saliency_check_markdown", "signed_saliency"]

#: Gaussian (px) the signed SmoothGrad map is averaged over before it is shown.
SMOOTH_PX = 2.0
#: Gaussian (px) of the image's "fine detail" ``Y − blur(Y)`` the map is compared with.
DETAIL_SIGMA = 3.0
#: A map passes the randomisation check when |rank correlation| trained vs random is below this.
PASS_BELOW = 0.5
#: |rank correlation| with the image's detail from which the caption describes the pattern.
PATTERN_FROM = 0.3


def signed_saliency(model: nn.Module, image: np.ndarray, strength: float, n: int = 4, noise: float = 0.05,
                    smooth: float = SMOOTH_PX, seed: int = 0, precision: str = "fp32",
                    progress: Progress = None) -> tuple[np.ndarray, float]:
    """The shown form: SmoothGrad (``n`` copies, Gaussian ``noise`` in image units, ``seed``) of
    :func:`explain.objectives.edge_gain_objective` over the whole ``image``, signed, summed over RGB,
    Gaussian-averaged over ``smooth``
    px (0: not). image (H, W, 3) float in [0, 1] -> (map (H, W) float32, the objective at ``image``).
    ``progress(done, n)`` after each gradient (an exception it raises stops the work)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3); got {image.shape}")
    if smooth < 0:
        raise ValueError(f"smooth must be >= 0 px; got {smooth}")
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]  # (1, 3, H, W)
    device = next(model.parameters()).device
    if resolve_precision(precision, device) == "bf16":
        model = Autocast(model)
    h, w = image.shape[:2]
    fn = edge_gain_objective(model, (0, 0, w, h), strength=strength)
    grad = smoothgrad(fn, x, sigma=noise, n=n, seed=seed, abs=False, internal_batch_size=1,
                      progress=progress)  # (1, 3, H, W)
    with torch.no_grad():
        gain = float(fn(x)[0])
    signed = grad[0].sum(0).detach().float().numpy()  # (H, W)
    if smooth > 0:
        signed = cv2.GaussianBlur(signed, (0, 0), smooth, borderType=cv2.BORDER_REFLECT)
    return signed.astype(np.float32), gain


def _detail(image: np.ndarray) -> np.ndarray:
    """The image's fine detail: ``Y − Gaussian(Y, DETAIL_SIGMA)`` (H, W)."""
    y = luminance(np.clip(image, 0, 1))
    return y - cv2.GaussianBlur(y, (0, 0), DETAIL_SIGMA, borderType=cv2.BORDER_REFLECT)


@dataclass
class SaliencyCheck:
    """The whole view's signed saliency with trained and with random weights, and how alike they are.

    ``trained`` / ``random`` are None where there is nothing to explain (α = 0)."""

    trained: np.ndarray | None  # (H, W) float32, the shown form
    random: np.ndarray | None
    signed_similarity: float  # Spearman, trained vs random, of the shown (signed) maps
    magnitude_similarity: float  # Spearman of their absolute values
    detail_correlation: float  # Spearman of the trained map with the image's fine detail
    random_detail_correlation: float
    gain: float  # the view's total gradient gain through the model (sum of the edge-strength change map)
    strength: float
    n: int
    seed: int
    seconds: float

    @property
    def passes(self) -> bool:
        """Whether the shown form differs from its random-weights twin (|ρ| < :data:`PASS_BELOW`)."""
        return abs(self.signed_similarity) < PASS_BELOW


def saliency_check(model: nn.Module, view: View, n: int = 4, noise: float = 0.05, smooth: float = SMOOTH_PX,
                   seed: int = 0, precision: str = "auto", progress: Progress = None) -> SaliencyCheck:
    """:func:`signed_saliency` of ``view.bicubic`` (at the view's calibrated strength α) with ``model`` and
    with :func:`explain.sanity.randomized_copy` ``(model, seed)``, and their rank correlations. Cost:
    ``2 n`` forward and backward passes over the view (``precision`` as in
    :func:`mssnet.runtime.inference.resolve_precision`); ``progress(done, 2 n)`` after each of them (an
    exception it raises stops the work)."""
    strength = view.last_strength
    if strength == 0:
        return SaliencyCheck(None, None, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, n, seed, 0.0)
    t0 = time.perf_counter()

    def counted(before: int) -> Progress:  # one count over both networks' gradients
        return None if progress is None else lambda done, _total: progress(before + done, 2 * n)

    kwargs = dict(n=n, noise=noise, smooth=smooth, seed=seed, precision=precision)
    trained, gain = signed_saliency(model, view.bicubic, strength, progress=counted(0), **kwargs)
    random, _ = signed_saliency(randomized_copy(model, seed), view.bicubic, strength, progress=counted(n), **kwargs)
    detail = _detail(view.bicubic)
    return SaliencyCheck(trained, random, spearman(trained, random), spearman(np.abs(trained), np.abs(random)),
                         spearman(trained, detail), spearman(random, detail), gain, strength, n, seed,
                         time.perf_counter() - t0)


def _pattern(rho: float) -> str:
    """What a correlation with the image's detail looks like on the map."""
    if rho <= -PATTERN_FROM:
        return "red where the input is darker than its surroundings, blue where it is brighter"
    if rho >= PATTERN_FROM:
        return "red where the input is brighter than its surroundings, blue where it is darker"
    return "no clear relation to the image's fine detail"


def saliency_caption(check: SaliencyCheck) -> str:
    """The figure's caption: what is visible on the two maps, from the numbers."""
    if check.trained is None:
        return "At ×1 MSSNet applies no correction: nothing depends on any pixel."
    rho = check.detail_correlation
    text = f"Trained: {_pattern(rho)} (ρ = {rho:+.2f} with the detail)."
    if rho <= -PATTERN_FROM:
        text += " Blurring the detail would make MSSNet add more: it puts back what blur removes."
    elif rho >= PATTERN_FROM:
        text += " More contrast here would make MSSNet add more."
    return text + (f" Random weights: {_pattern(check.random_detail_correlation)} "
                   f"(ρ = {check.random_detail_correlation:+.2f}).")


def plot_saliency_check(view: View, check: SaliencyCheck) -> Figure | None:
    """The shown saliency (large, signed, diverging scale centred on 0) beside its random-weights twin
    and the view (small). Each map on its own symmetric scale (99th percentile of |map|): the shapes
    compare, not the sizes. 9 × 5.4 inches. None without a map. Axes: trained map, random map, view."""
    if check.trained is None:
        return None
    fig = _new_figure((9.0, 5.4))
    grid = fig.add_gridspec(2, 2, width_ratios=(2.1, 1))
    ax_t, ax_r, ax_v = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    for ax, m in ((ax_t, check.trained), (ax_r, check.random)):
        lim = float(np.percentile(np.abs(m), 99)) or 1e-12
        ax.imshow(m, cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_axis_off()
    ax_t.set_title(f"Trained MSSNet: what raises\nthe view's {NAME}")
    ax_r.set_title(f"random weights\n(ρ = {check.signed_similarity:+.2f})")
    gray = luminance(np.clip(view.bicubic, 0, 1))
    ax_v.imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_v.set_title("the view")
    ax_v.set_axis_off()
    fig.supxlabel(saliency_caption(check), fontsize=MIN_TEXT_PT, wrap=True)
    return readable_text(fig)


def saliency_check_markdown(check: SaliencyCheck) -> str:
    """How to read the saliency pair, and the randomisation check's numbers."""
    if check.trained is None:
        return "No saliency at this zoom: MSSNet applies no correction (α = 0), so nothing depends on any pixel."
    verdict = ("**passes** the random-weights check: training, not the network's shape, made this pattern"
               if check.passes else
               "**fails** the random-weights check: read it as the network's shape, not as what it learned")
    return (f"The map is the gradient of how much MSSNet raised the gradients of the whole view (the sum of the "
            f"{NAME} change map, {check.gain:+.1f}) with respect to each input pixel, signed and summed over RGB, "
            f"averaged over {check.n} noisy copies (SmoothGrad) and "
            f"{SMOOTH_PX:g} px: **red** pixels, made brighter, would raise the gain; **blue** ones would lower it. "
            f"Trained and random-weights maps have rank correlation {check.signed_similarity:+.2f} "
            f"(their magnitudes {check.magnitude_similarity:+.2f}), so this map {verdict}. The glow of the "
            "magnitude alone is not shown: it mostly follows the network's shape.  \n"
            f"Time: {2 * check.n} forward and backward passes, {check.seconds:.1f} s")
