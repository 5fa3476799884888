"""Matplotlib figures for the studio, built with the object API.

Every builder returns a ``matplotlib.figure.Figure`` attached to its own Agg
canvas; nothing touches ``pyplot``, so no global figure registry keeps them alive
in a server (drop the reference and the figure is garbage). Images may be numpy
(H, W, 3) / (H, W) arrays in [0, 1] or tensors (3, H, W) / (1, 3, H, W).
:func:`figure_to_array` renders a figure to an RGB uint8 array for the app.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from mssnet.tensors import single_image

from .edges import edge_magnitude, luminance
from .spectrum import radial_power_spectrum

__all__ = [
    "figure_to_array",
    "plot_attribution",
    "plot_error_maps",
    "plot_heatmap",
    "plot_spectrum",
    "plot_stage_gallery",
    "plot_zoom_sweep",
]

Image = Tensor | np.ndarray


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
) -> Figure:
    """A map laid over the gray image, with a colour bar.

    image: (H, W, 3) etc.; heat: (H, W) (or (1, H, W), (1, 1, H, W)), same H, W.
    ``signed=True`` centres a diverging colour map on 0 (red: more, blue: less),
    otherwise the scale runs from the map's minimum to its 99.5th percentile.
    ``caption`` is printed under the image. Two axes: the image and the colour bar.
    """
    img = _to_numpy(image, "image")
    h2 = _heat_2d(heat, "heat")
    if h2.shape != img.shape[:2]:
        raise ValueError(f"heat must match the image size {img.shape[:2]}; got {h2.shape}")
    if signed:
        lim = float(np.percentile(np.abs(h2), 99.5)) or 1e-12
        norm, cmap = Normalize(-lim, lim), cmap or "RdBu_r"
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
        fig.supxlabel(caption, fontsize=9, wrap=True)
    return fig


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
    fig = _new_figure((4.5 * len(errors), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(errors)))
    im = None
    for ax, (name, err) in zip(axes, errors.items(), strict=True):
        im = ax.imshow(err, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"|error| of {name} (mean {err.mean():.4f})")
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="|Y error| (0-1 scale)")
    fig.suptitle("Error against the ground truth: dark = right, bright = wrong (same scale)")
    return fig


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
    return fig


def plot_stage_gallery(stages: Sequence[Image], names: Sequence[str] | None = None) -> Figure:
    """Edge maps of MSSNet's six stage outputs on one shared colour scale.

    stages: six images (e.g. ``model(x)`` unbatched); the half-resolution first one
    is resized (bilinear) to the size of the last so the edge maps compare per
    full-resolution pixel. Each panel is titled with its name and mean edge energy
    (mean Sobel magnitude). Seven axes: six panels and the colour bar.
    """
    if not isinstance(stages, (list, tuple)) or len(stages) == 0:
        raise TypeError(f"stages must be a non-empty list of images; got {type(stages).__name__}")
    names = list(names) if names is not None else [f"stage {i + 1}" for i in range(len(stages))]
    if len(names) != len(stages):
        raise ValueError(f"need one name per stage; got {len(names)} names for {len(stages)} stages")
    imgs = [_to_numpy(s, f"stages[{i}]") for i, s in enumerate(stages)]
    h, w = imgs[-1].shape[:2]
    imgs = [
        i if i.shape[:2] == (h, w) else cv2.resize(i, (w, h), interpolation=cv2.INTER_LINEAR) for i in imgs
    ]
    maps = [edge_magnitude(np.clip(i, 0, 1)) for i in imgs]
    vmax = float(max(np.percentile(m, 99.5) for m in maps)) or 1e-12
    cols = min(3, len(maps))
    rows = -(-len(maps) // cols)
    fig = _new_figure((3.4 * cols + 0.8, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    im = None
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(maps):
            fig.delaxes(ax)
            continue
        im = ax.imshow(maps[k], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{names[k]}\nmean edge {maps[k].mean():.4f}", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="edge magnitude")
    fig.suptitle("Coarse to fine: edge energy of each stage output")
    return fig


def plot_zoom_sweep(
    factors: Sequence[float],
    sharpness_bicubic: Sequence[float],
    sharpness_mssnet: Sequence[float],
    sharpness_original: Sequence[float] | None = None,
    ylabel: str = "mean edge energy",
) -> Figure:
    """Sharpness against zoom factor for bicubic and MSSNet (log2 x axis). One axis."""
    f = np.asarray(factors, dtype=float)
    series = [("bicubic zoom", sharpness_bicubic, "tab:blue"), ("MSSNet", sharpness_mssnet, "tab:orange")]
    if sharpness_original is not None:
        series.append(("original", sharpness_original, "black"))
    if f.ndim != 1 or f.size == 0 or np.any(f <= 0):
        raise ValueError(f"factors must be a non-empty list of positive numbers; got {factors!r}")
    for label, values, _ in series:
        if len(values) != f.size:
            raise ValueError(f"{label}: need {f.size} values, one per factor; got {len(values)}")
    fig = _new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    for label, values, color in series:
        ax.plot(f, np.asarray(values, dtype=float), "o-", label=label, color=color)
    ax.set_xscale("log", base=2)
    ax.set_xticks(f, [f"x{v:g}" for v in f])
    ax.set_xlabel("zoom factor")
    ax.set_ylabel(ylabel)
    ax.set_title("Sharpness vs zoom level")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_attribution(
    image: Image,
    attr: Tensor | np.ndarray,
    window: Sequence[int],
    di: float | None = None,
    title: str = "Where the network looked",
) -> Figure:
    """Input with the explained window, beside the attribution heat map.

    image: (H, W, 3) etc.; attr: (3, H, W) / (1, 3, H, W) / (H, W), shown as
    ``|attr summed over channels|`` normalised to its maximum (as in LAM);
    window: (x0, y0, w, h); ``di``: the diffusion index, shown in the title.
    Three axes: image, heat map, colour bar.
    """
    img = _to_numpy(image, "image")
    mag = np.abs(_heat_2d(attr, "attr"))
    if mag.shape != img.shape[:2]:
        raise ValueError(f"attr must match the image size {img.shape[:2]}; got {mag.shape}")
    if len(window) != 4:
        raise ValueError(f"window must be (x0, y0, w, h); got {window!r}")
    x0, y0, w, h = (float(v) for v in window)
    mag = mag / (mag.max() or 1.0)
    fig = _new_figure((9.0, 4.4))
    ax_img, ax_heat = fig.subplots(1, 2)
    ax_img.imshow(np.clip(img, 0, 1), cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1)
    gray = luminance(img) if img.ndim == 3 else img
    ax_heat.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1)
    im = ax_heat.imshow(mag, cmap="hot", vmin=0, vmax=1, alpha=0.7, interpolation="nearest")
    for ax in (ax_img, ax_heat):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, edgecolor="lime", lw=1.5))
        ax.set_axis_off()
    ax_img.set_title("input and explained window")
    ax_heat.set_title("attribution |sum over RGB|")
    fig.colorbar(im, ax=ax_heat, shrink=0.85)
    fig.suptitle(title + (f" (diffusion index {di:.1f})" if di is not None else ""))
    return fig
