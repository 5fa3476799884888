"""Matplotlib figures for the studio, built with the object API.

Every builder returns a ``matplotlib.figure.Figure`` attached to its own Agg
canvas; nothing touches ``pyplot``, so no global figure registry keeps them alive
in a server (drop the reference and the figure is garbage). Images may be numpy
(H, W, 3) / (H, W) arrays in [0, 1] or tensors (3, H, W) / (1, 3, H, W).
:func:`figure_to_array` renders a figure to an RGB uint8 array for the app.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from torch import Tensor

from mssnet.image.io import png_by_content
from mssnet.image.tensors import single_image

from .edges import edge_magnitude, luminance
from .measure import NAME, rms
from .spectrum import radial_power_spectrum

__all__ = [
    "MIN_TEXT_PT",
    "colour_scales",
    "edge_scale",
    "figure_to_array",
    "plot_attribution",
    "plot_edge_gain",
    "plot_edge_pair",
    "plot_error_maps",
    "plot_heatmap",
    "plot_spectrum",
    "readable_text",
    "symmetric_limit",
    "text_sizes_px",
]

Image = Tensor | np.ndarray

#: Smallest font size (points) of any text in the studio's figures: the app renders them at 96 dpi
#: and shows them unscaled, so a point is 4/3 px and text is at least 16 px tall on screen.
MIN_TEXT_PT = 12.0
#: Widest figure (inches): 9.4 in is 902 px at 96 dpi, narrow enough not to be scaled down on a 1280 px screen.
MAX_WIDTH_IN = 9.4
#: Colour map of signed maps (red: more, blue: less, white: 0) and of magnitudes.
SIGNED_CMAP, MAGNITUDE_CMAP = "RdBu_r", "inferno"


# ------------------------------------------------------------------------ helpers
def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _to_numpy(image: object, name: str) -> np.ndarray:
    """One image -> float32 (H, W, 3) or (H, W) numpy array."""
    if isinstance(image, Tensor):
        t = single_image(image, f"{name}: plots take")
        if t.ndim == 3:
            if t.shape[0] not in (1, 3):
                raise ValueError(f"{name} must be (3, H, W) or (1, H, W); got {tuple(image.shape)}")
            arr = t.float().cpu().numpy().transpose(1, 2, 0)
            return arr[..., 0] if arr.shape[2] == 1 else arr
        if t.ndim == 2:
            return t.float().cpu().numpy()
        raise ValueError(f"{name} must be an image tensor; got shape {tuple(image.shape)}")
    if isinstance(image, np.ndarray):
        arr = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
            raise ValueError(f"{name} must be (H, W, 3) or (H, W); got {image.shape}")
        return arr
    raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray; got {type(image).__name__}")


def _heat_2d(heat: object, name: str) -> np.ndarray:
    """A map -> (H, W): (H, W), (1, H, W), (1, 1, H, W) or a channel-summed (C, H, W)."""
    if isinstance(heat, Tensor):
        heat = heat.detach().float().cpu().numpy()
    if not isinstance(heat, np.ndarray):
        raise TypeError(f"{name} must be a tensor or array; got {type(heat).__name__}")
    while heat.ndim > 2 and heat.shape[0] == 1:
        heat = heat[0]
    if heat.ndim == 3:
        heat = heat.sum(0) if heat.shape[0] <= 4 else heat.sum(2)
    if heat.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (H, W); got shape {heat.shape}")
    return heat.astype(np.float32)


def readable_text(fig: Figure, min_pt: float = MIN_TEXT_PT) -> Figure:
    """Raise every text of ``fig`` (titles, captions, tick and colour-bar labels) to at least
    ``min_pt`` points; the constrained layout makes room when the figure is drawn."""
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    for ax in fig.axes:
        ax.tick_params(labelsize=max(min_pt, 1.0))
    return fig


def text_sizes_px(fig: Figure, dpi: float = 96) -> list[tuple[str, float]]:
    """Every visible, non-empty text of ``fig`` (drawn first, so tick labels exist) with its rendered
    height in px at ``dpi`` (font size in points × dpi / 72) -> [(text, px)]."""
    figure_to_array(fig)
    return [(t.get_text(), t.get_fontsize() * dpi / 72) for t in fig.findobj(Text)
            if t.get_text().strip() and t.get_visible()]


def edge_scale(*images: Image, percentile: float = 99.5) -> float:
    """One upper limit for the edge-magnitude maps of ``images``: the largest ``percentile``
    of their Sobel magnitudes (so the map with stronger edges looks brighter)."""
    if not images:
        raise ValueError("edge_scale needs at least one image")
    maps = [edge_magnitude(np.clip(_to_numpy(im, f"images[{i}]"), 0, 1)) for i, im in enumerate(images)]
    return float(max(np.percentile(m, percentile) for m in maps)) or 1e-6


def symmetric_limit(*maps: np.ndarray, percentile: float = 99.5) -> float:
    """Limit ``L`` of a diverging scale ``[-L, L]`` centred on 0 shared by ``maps``:
    the largest ``percentile`` of their absolute values (never 0)."""
    if not maps:
        raise ValueError("symmetric_limit needs at least one map")
    return float(max(np.percentile(np.abs(m), percentile) for m in maps)) or 1e-12


def colour_scales(figures: dict[str, Figure]) -> dict[str, list[list[float]]]:
    """The colour scale ``[vmin, vmax]`` of every image drawn in each figure, by figure name: the
    figures' own limits, so a reader (or a test) compares the scales actually drawn."""
    return {name: [[round(float(v), 6) for v in im.get_clim()] for ax in fig.axes for im in ax.images]
            for name, fig in figures.items()}


def save_png(image: np.ndarray | Figure | None, folder: str | os.PathLike, dpi: int = 96) -> str | None:
    """Image array (float, clipped, or uint8) or figure (rendered at ``dpi``) -> PNG in ``folder`` named by
    its pixels (:func:`mssnet.image.io.png_by_content`) -> its path; None stays None."""
    if isinstance(image, Figure):
        image.set_dpi(dpi)
        image = figure_to_array(image)
    return None if image is None else str(png_by_content(image, folder))


def figure_to_array(fig: Figure) -> np.ndarray:
    """Render ``fig`` with Agg -> uint8 (H, W, 3) RGB array."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# ------------------------------------------------------------------------ figures
def plot_heatmap(
    image: Image,
    heat: Tensor | np.ndarray,
    title: str = "",
    caption: str | None = None,
    cmap: str | None = None,
    signed: bool = False,
    alpha: float = 0.6,
    vmax: float | None = None,
) -> Figure:
    """A map laid over the gray image, with a colour bar.

    image: (H, W, 3) etc.; heat: (H, W) (or (1, H, W), (1, 1, H, W)), same H, W.
    ``signed=True`` centres a diverging colour map on 0 (red: more, blue: less),
    otherwise the scale runs from the map's minimum to its 99.5th percentile.
    ``vmax`` fixes the top of the scale (``[-vmax, vmax]`` when signed, ``[0, vmax]`` otherwise),
    so several maps can share one scale. ``caption`` is printed under the image. Two axes:
    the image and the colour bar.
    """
    img = _to_numpy(image, "image")
    h2 = _heat_2d(heat, "heat")
    if h2.shape != img.shape[:2]:
        raise ValueError(f"heat must match the image size {img.shape[:2]}; got {h2.shape}")
    if vmax is not None and not vmax > 0:
        raise ValueError(f"vmax must be > 0; got {vmax}")
    if signed:
        lim = vmax or float(np.percentile(np.abs(h2), 99.5)) or 1e-12
        norm, cmap = Normalize(-lim, lim), cmap or SIGNED_CMAP
    elif vmax is not None:
        norm, cmap = Normalize(0.0, float(vmax)), cmap or MAGNITUDE_CMAP
    else:
        lo, hi = float(h2.min()), float(np.percentile(h2, 99.5))
        norm, cmap = Normalize(lo, hi if hi > lo else lo + 1e-12), cmap or "inferno"
    fig = _new_figure((6.0, 5.4 if caption else 5.0))
    ax = fig.add_subplot()
    gray = luminance(img) if img.ndim == 3 else img
    ax.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    im = ax.imshow(h2, cmap=cmap, norm=norm, alpha=alpha, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.85)
    ax.set_title(title)
    ax.set_axis_off()
    if caption:
        fig.supxlabel(caption, fontsize=MIN_TEXT_PT, wrap=True)
    return readable_text(fig)


def plot_edge_pair(bicubic: Image, sharpened: Image, vmax: float | None = None,
                   titles: tuple[str, str] = ("Edge strength: bicubic", "Edge strength: MSSNet")) -> Figure:
    """Edge magnitude of the bicubic and the sharpened view side by side on ONE colour scale.

    Both images (H, W, 3) etc., same size. The scale runs from 0 to ``vmax`` (default:
    :func:`edge_scale` of both), so the brighter map has the stronger edges; one colour bar.
    Three axes: two maps (``ax.images[0].get_clim()`` is the shared ``(0, vmax)``) and the bar.
    """
    before = edge_magnitude(np.clip(_to_numpy(bicubic, "bicubic"), 0, 1))
    after = edge_magnitude(np.clip(_to_numpy(sharpened, "sharpened"), 0, 1))
    if before.shape != after.shape:
        raise ValueError(f"bicubic and sharpened must have the same size; got {before.shape} and {after.shape}")
    vmax = edge_scale(bicubic, sharpened) if vmax is None else float(vmax)
    if not vmax > 0:
        raise ValueError(f"vmax must be > 0; got {vmax}")
    fig = _new_figure((9.0, 5.0))
    axes = fig.subplots(1, 2)
    im = None
    for ax, title, mag in zip(axes, titles, (before, after), strict=True):
        im = ax.imshow(mag, cmap="magma", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{title}\n{NAME} {rms(mag):.4f}")
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="edge strength (same scale)")
    fig.supxlabel("Bright = strong edge. One colour scale for both: brighter on the right = MSSNet's edges "
                  "are stronger.", fontsize=MIN_TEXT_PT, wrap=True)
    return readable_text(fig)


def plot_edge_gain(image: Image, gain: Tensor | np.ndarray, limit: float | None = None,
                   title: str = "Change of edge strength (MSSNet − bicubic)") -> Figure:
    """The signed edge gain on a diverging scale ``[-limit, limit]`` centred on 0 (white).

    Red: edges MSSNet made stronger; blue: weaker. Drawn at full opacity over nothing, so
    the colours are not washed out; the gray image is shown small beside it for orientation.
    ``limit`` defaults to :func:`symmetric_limit` (99th percentile of |gain|). Three axes:
    the map, its colour bar and the image.
    """
    img = _to_numpy(image, "image")
    g = _heat_2d(gain, "gain")
    if g.shape != img.shape[:2]:
        raise ValueError(f"gain must match the image size {img.shape[:2]}; got {g.shape}")
    limit = symmetric_limit(g, percentile=99.0) if limit is None else float(limit)
    if not limit > 0:
        raise ValueError(f"limit must be > 0; got {limit}")
    fig = _new_figure((9.0, 5.0))
    ax_map, ax_img = fig.subplots(1, 2, width_ratios=(2, 1))
    im = ax_map.imshow(g, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit, interpolation="nearest")
    fig.colorbar(im, ax=ax_map, shrink=0.85, label="change of gradient per pixel")
    up, down = float(np.clip(g, 0, None).sum()), float(np.clip(-g, 0, None).sum())
    ax_map.set_title(f"{title}\n{100 * up / ((up + down) or 1):.0f} % of the change is a rise")
    gray = luminance(img) if img.ndim == 3 else img
    ax_img.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_img.set_title("the view")
    for ax in (ax_map, ax_img):
        ax.set_axis_off()
    fig.supxlabel("Red: edges MSSNet made stronger. Blue: edges it weakened. White: unchanged.",
                  fontsize=MIN_TEXT_PT, wrap=True)
    return readable_text(fig)


def plot_error_maps(truth: Image, results: dict[str, Image]) -> Figure:
    """|Y error| of each result against ``truth``, side by side on one shared colour scale.

    truth and every result: (H, W, 3) etc., same size. The scale runs from 0 to the largest
    99.5th percentile of the errors, so a darker map is a better result. One axis per result
    and a colour bar.
    """
    if not results:
        raise ValueError("results must name at least one image")
    y_true = luminance(_to_numpy(truth, "truth"))
    errors = {}
    for name, image in results.items():
        y = luminance(_to_numpy(image, name))
        if y.shape != y_true.shape:
            raise ValueError(f"{name} must match the truth's size {y_true.shape}; got {y.shape}")
        errors[name] = np.abs(y - y_true)
    vmax = float(max(np.percentile(e, 99.5) for e in errors.values())) or 1e-6
    fig = _new_figure((min(MAX_WIDTH_IN - 0.2, 4.5 * len(errors)), 4.6))
    axes = np.atleast_1d(fig.subplots(1, len(errors)))
    im = None
    for ax, (name, err) in zip(axes, errors.items(), strict=True):
        im = ax.imshow(err, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"|error| of {name}\n(mean {err.mean():.4f})")
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="|Y error| (0-1 scale)")
    fig.suptitle("Error against the ground truth:\ndark = right, bright = wrong (same scale)")
    return readable_text(fig)


def plot_spectrum(
    bicubic: Image, sharpened: Image, original: Image | None = None, factor: float | None = None
) -> Figure:
    """Radial power spectra of the bicubic zoom, MSSNet's output and (if known) the original.

    Images of the same size. With the zoom ``factor``, a dashed line marks
    ``0.5 / factor`` cycles/pixel: the finest detail the source had. One axis.
    """
    fig = _new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    curves = [("bicubic zoom", bicubic, "tab:blue"), ("MSSNet", sharpened, "tab:orange")]
    if original is not None:
        curves.append(("original", original, "black"))
    for label, image, color in curves:
        freqs, power = radial_power_spectrum(_to_numpy(image, label))
        ax.plot(freqs, power, label=label, color=color, lw=1.6)
    if factor is not None:
        if not factor > 0:
            raise ValueError(f"factor must be > 0; got {factor}")
        ax.axvline(0.5 / factor, color="gray", ls="--", lw=1, label=f"source limit (x{factor:g})")
    ax.set_xlim(0, 0.5)
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("log10 power")
    ax.set_title("Which frequencies came back")
    ax.grid(alpha=0.3)
    ax.legend()
    return readable_text(fig)


def plot_attribution(
    image: Image,
    attr: Tensor | np.ndarray,
    window: Sequence[int],
    di: float | None = None,
    title: str = "Where the network looked",
    signed: bool = True,
) -> Figure:
    """Input with the explained window, the signed attribution, and its magnitude.

    image: (H, W, 3) etc.; attr: (3, H, W) / (1, 3, H, W) / (H, W), summed over channels;
    window: (x0, y0, w, h); ``di``: the diffusion index, shown in the title.
    ``signed=True`` (default): the sum over RGB on a diverging scale centred on 0 (red:
    these pixels push the window's edge gain up, blue: down) beside ``|sum|`` normalised to
    its maximum (as in LAM). Axes: image, signed map + bar, magnitude + bar (five);
    ``signed=False``: image, magnitude + bar (three).
    """
    img = _to_numpy(image, "image")
    summed = _heat_2d(attr, "attr")
    if summed.shape != img.shape[:2]:
        raise ValueError(f"attr must match the image size {img.shape[:2]}; got {summed.shape}")
    if len(window) != 4:
        raise ValueError(f"window must be (x0, y0, w, h); got {window!r}")
    x0, y0, w, h = (float(v) for v in window)
    mag = np.abs(summed)
    mag = mag / (mag.max() or 1.0)
    fig = _new_figure((9.2 if signed else 8.0, 4.6))
    axes = fig.subplots(1, 3 if signed else 2)
    ax_img, ax_heat = axes[0], axes[-1]
    ax_img.imshow(np.clip(img, 0, 1), cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1)
    ax_img.set_title("input and\nwindow")
    if signed:
        lim = symmetric_limit(summed)
        im = axes[1].imshow(summed, cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(im, ax=axes[1], shrink=0.8)
        axes[1].set_title("signed: red\nraises it")
    gray = luminance(img) if img.ndim == 3 else img
    ax_heat.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1)
    im = ax_heat.imshow(mag, cmap="hot", vmin=0, vmax=1, alpha=0.7, interpolation="nearest")
    fig.colorbar(im, ax=ax_heat, shrink=0.8)
    ax_heat.set_title("magnitude")
    for ax in axes:
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, edgecolor="lime", lw=1.5))
        ax.set_axis_off()
    fig.suptitle(title + (f"\n(diffusion index {di:.1f})" if di is not None else ""))
    return readable_text(fig)
