"""Where the eye looks vs where the network sharpens.

:func:`visual_saliency` estimates visual conspicuity from the image alone, with no network: the
spectral residual of the luma's log amplitude spectrum (what is left after removing the smooth,
average-image part of the spectrum marks the unexpected, conspicuous regions), computed on a small
copy of the image (:data:`SALIENCY_SIDE` px on the long side), squared, smoothed and normalised to
[0, 1]. :func:`sharpening_focus` is MSSNet's positive edge-strength gain per pixel at the same scale.
:func:`compare_saliency` correlates the two for a view (:class:`SaliencyComparison`);
:func:`plot_visual_saliency` draws them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from matplotlib.figure import Figure

from .edges import luminance
from .measure import NAME, edge_strength_map
from .plots import MIN_TEXT_PT, _new_figure, _to_numpy, readable_text
from .sanity import spearman

__all__ = ["SALIENCY_SIDE", "SaliencyComparison", "compare_saliency", "plot_visual_saliency",
           "sharpening_focus", "visual_saliency", "visual_saliency_markdown"]

#: Long side (px) of the copy the spectral residual is computed on.
SALIENCY_SIDE = 64
#: Gaussian (px of that copy) smoothing both maps.
SMOOTH = 2.5


def _small_size(h: int, w: int, side: int) -> tuple[int, int]:
    scale = side / max(h, w)
    return max(4, round(w * scale)), max(4, round(h * scale))


def _normalise(m: np.ndarray) -> np.ndarray:
    lo, hi = float(m.min()), float(m.max())
    return ((m - lo) / (hi - lo)).astype(np.float32) if hi > lo else np.zeros_like(m, np.float32)


def visual_saliency(image: np.ndarray, side: int = SALIENCY_SIDE, full_size: bool = True) -> np.ndarray:
    """Visual conspicuity of an image from its spectral residual (no network).

    image: (H, W, 3) or (H, W), float in [0, 1] or uint8 -> (H, W) float32 in [0, 1] (``full_size``;
    otherwise at the small size, long side ``side``). 1 = the most conspicuous region; a flat image
    gives zeros.
    """
    y = luminance(np.clip(_to_numpy(image, "image"), 0, 1))
    if side < 8:
        raise ValueError(f"side must be >= 8 px; got {side}")
    h, w = y.shape
    small = cv2.resize(y, _small_size(h, w, side), interpolation=cv2.INTER_AREA).astype(np.float64)
    sh, sw = small.shape
    py, px = sh // 2, sw // 2  # mirrored margins: the spectrum sees no jump at the image's borders
    padded = cv2.copyMakeBorder(small, py, py, px, px, cv2.BORDER_REFLECT)
    spectrum = np.fft.fft2(padded)
    log_amp = np.log(np.abs(spectrum) + 1e-9)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REFLECT)
    back = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    sal = cv2.GaussianBlur(back.astype(np.float32), (0, 0), SMOOTH, borderType=cv2.BORDER_REFLECT)
    sal = sal[py:py + sh, px:px + sw]
    if np.ptp(small) > 1e-6:
        sal = _normalise(np.minimum(sal, np.percentile(sal, 99.5)))
    else:
        sal = np.zeros_like(sal)
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR) if full_size else sal


def sharpening_focus(bicubic: np.ndarray, sharpened: np.ndarray, side: int = SALIENCY_SIDE,
                     full_size: bool = True) -> np.ndarray:
    """Where MSSNet raised edge strength: the positive part of ``edge_strength_map(sharpened) −
    edge_strength_map(bicubic)``, averaged down to the scale of :func:`visual_saliency` and smoothed the
    same way, normalised to [0, 1]. Both (H, W, 3), same size -> (H, W) (or the small size)."""
    gain = np.clip(edge_strength_map(sharpened) - edge_strength_map(bicubic), 0, None)
    h, w = gain.shape
    small = cv2.resize(gain, _small_size(h, w, side), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), SMOOTH, borderType=cv2.BORDER_REFLECT)
    small = _normalise(np.minimum(small, np.percentile(small, 99.5)))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) if full_size else small


@dataclass
class SaliencyComparison:
    """Visual saliency of the bicubic view, MSSNet's sharpening focus, and their rank correlation."""

    visual: np.ndarray  # (H, W) in [0, 1]
    focus: np.ndarray  # (H, W) in [0, 1]
    correlation: float  # Spearman of the two, at the small scale
    top_overlap: float  # share of the most salient 20 % of the view among the 20 % MSSNet sharpened most


def compare_saliency(bicubic: np.ndarray, sharpened: np.ndarray) -> SaliencyComparison:
    """:func:`visual_saliency` of the bicubic view beside :func:`sharpening_focus`, their rank correlation
    and the overlap of their top fifths (0.2 by chance). Images (H, W, 3), same size."""
    b, s = _to_numpy(bicubic, "bicubic"), _to_numpy(sharpened, "sharpened")
    if b.shape != s.shape:
        raise ValueError(f"bicubic and sharpened must have the same shape; got {b.shape} and {s.shape}")
    vis, foc = visual_saliency(b, full_size=False), sharpening_focus(b, s, full_size=False)
    top_v, top_f = vis >= np.quantile(vis, 0.8), foc >= np.quantile(foc, 0.8)
    overlap = float((top_v & top_f).sum() / max(top_v.sum(), 1))
    h, w = b.shape[:2]
    full = [cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) for m in (vis, foc)]
    return SaliencyComparison(full[0], full[1], spearman(vis, foc), overlap)


def _agreement(rho: float) -> str:
    if rho >= 0.6:
        return "mostly the same places"
    if rho >= 0.3:
        return "partly the same places"
    if rho > -0.3:
        return "largely different places"
    return "opposite places"


def plot_visual_saliency(bicubic: np.ndarray, comparison: SaliencyComparison) -> Figure:
    """Where the eye looks (visual saliency over the view) beside where MSSNet sharpened (its edge-strength
    gain at the same scale), one colour scale [0, 1], the correlation in the title. 9 × 4.8 inches.
    Axes: two maps and a colour bar."""
    fig = _new_figure((9.0, 4.8))
    axes = fig.subplots(1, 2)
    gray = luminance(np.clip(_to_numpy(bicubic, "bicubic"), 0, 1))
    im = None
    for ax, m, title in ((axes[0], comparison.visual, "a model of where the eye looks\n(spectral residual)"),
                         (axes[1], comparison.focus, f"where MSSNet raised\n{NAME}")):
        ax.imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        im = ax.imshow(m, cmap="inferno", vmin=0, vmax=1, alpha=0.65, interpolation="bilinear")
        ax.set_title(title)
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="0 = least, 1 = most")
    fig.supxlabel(f"Rank correlation {comparison.correlation:+.2f}: {_agreement(comparison.correlation)}.",
                  fontsize=MIN_TEXT_PT)
    return readable_text(fig)


def visual_saliency_markdown(comparison: SaliencyComparison) -> str:
    """What the comparison shows for this view, from its numbers."""
    rho = comparison.correlation
    return (f"**A model of where the eye looks vs where MSSNet sharpens.** Left: visual saliency, computed "
            f"from the image's own contrast (its spectral residual), with no network; right: where MSSNet raised "
            f"{NAME}. They mark {_agreement(rho)} (rank correlation {rho:+.2f}; "
            f"{100 * comparison.top_overlap:.0f} % of the most conspicuous fifth of the view is among the fifth "
            "MSSNet sharpened most, 20 % by chance). "
            "MSSNet was never told where people look: it learned to undo zoom blur wherever an edge was "
            "blurred; where the two agree, it is because conspicuous places are where the edges are.")
