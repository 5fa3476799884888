"""Figures that set many maps side by side: every zoom level, the six stages, what each stage
changed and how strong its edges are. Built on the figure basics of :mod:`explain.plots` (one
figure per call, object API, readable text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from .edges import edge_magnitude, luminance
from .measure import NAME, rms
from .plots import SIGNED_CMAP, Image, _new_figure, _to_numpy, readable_text, symmetric_limit

__all__ = ["amplification", "plot_stage_changes", "plot_stage_gallery", "plot_stage_checks", "plot_zoom_sweep",
           "stage_changes"]


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
    titles = [f"{name}\n{NAME} {rms(m):.4f}" for name, m in zip(names, maps, strict=True)]
    fig = _map_grid(maps, titles, "magma", (0.0, vmax), (2.8, 3.0, 0.8, 0.0))
    fig.colorbar(fig.axes[0].images[0], ax=fig.axes, shrink=0.8, label=NAME)
    fig.suptitle(f"Coarse to fine: {NAME} of each stage output")
    return readable_text(fig)


def _map_grid(maps: Sequence[np.ndarray], titles: Sequence[str], cmap: str, limits: tuple[float, float],
              size: tuple[float, float, float, float]) -> Figure:
    """Maps (H, W) in a grid of at most three columns, every one on the same colour ``limits``.
    ``size``: inches per column and per row, plus extra width and height (for the colour bar)."""
    cols = min(3, len(maps))
    rows = -(-len(maps) // cols)
    fig = _new_figure((size[0] * cols + size[2], size[1] * rows + size[3]))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(maps):
            fig.delaxes(ax)
            continue
        ax.imshow(maps[k], cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
        ax.set_title(titles[k])
    return fig


def _curves(x: np.ndarray, ticks: Sequence[str], series: Mapping[str, tuple[Sequence[float], str]], xlabel: str,
            ylabel: str, title: str, log2: bool = False) -> Figure:
    """Curves over ``x`` (one value per point each; ``series``: label -> (values, colour)), the legend below the
    axes where it covers no curve. One axis; ``ValueError`` for a curve of another length."""
    for label, (values, _) in series.items():
        if len(values) != x.size:
            raise ValueError(f"{label}: need {x.size} values, one per point; got {len(values)}")
    fig = _new_figure((6.4, 4.4 + 0.35 * len(series)))
    ax = fig.add_subplot()
    for label, (values, colour) in series.items():
        ax.plot(x, np.asarray(values, dtype=float), "o-", label=label, color=colour)
    if log2:
        ax.set_xscale("log", base=2)
    ax.set_xticks(x, list(ticks))
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return readable_text(fig)


def plot_zoom_sweep(factors: Sequence[float], series: Mapping[str, tuple[Sequence[float], str]], ylabel: str,
                    title: str) -> Figure:
    """Curves against the zoom factor (log2 x axis): ``series`` maps a label to (one value per factor, colour).
    One axis; ``ValueError`` for no factors, a factor ≤ 0 or a curve of another length."""
    f = np.asarray(factors, dtype=float)
    if f.ndim != 1 or f.size == 0 or np.any(f <= 0):
        raise ValueError(f"factors must be a non-empty list of positive numbers; got {factors!r}")
    return _curves(f, [f"×{v:g}" for v in f], series, "zoom", ylabel, title, log2=True)


def plot_stage_checks(stages: Sequence[str], series: Mapping[str, tuple[Sequence[float], str]], title: str
                      ) -> Figure:
    """Per cent shares after each stage, coarse to fine (``series``: label -> (one value per stage, colour)).
    One axis; ``ValueError`` for no stage or a curve of another length."""
    if not stages:
        raise ValueError("need at least one stage")
    return _curves(np.arange(len(stages), dtype=float), [str(k + 1) for k in range(len(stages))], series,
                   "after stage (1–6: coarse to fine)", "%", title)


def _gray_full(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Luminance of ``image`` at ``size = (h, w)`` (bilinear where the size differs)."""
    y = luminance(np.clip(image, 0, 1)) if image.ndim == 3 else image
    h, w = size
    return y if y.shape == (h, w) else cv2.resize(y, (w, h), interpolation=cv2.INTER_LINEAR)


def stage_changes(stages: Sequence[Image], model_input: Image) -> list[np.ndarray]:
    """What each stage changed: ``Y(stage k) − Y(stage k−1)``, and ``Y(stage 1) − Y(input)``.

    Images of any size are compared at the size of the last stage: the half-resolution
    first stage and the input are both taken to half resolution first (area), so stage 1's
    change is not the resize's blur, then every map is resized (bilinear) to full size.
    Returns one (H, W) float32 map per stage (luminance in [0, 1] units).
    """
    if not isinstance(stages, (list, tuple)) or len(stages) == 0:
        raise TypeError(f"stages must be a non-empty list of images; got {type(stages).__name__}")
    imgs = [_to_numpy(s, f"stages[{i}]") for i, s in enumerate(stages)]
    x = _to_numpy(model_input, "model_input")
    h, w = imgs[-1].shape[:2]
    first = imgs[0]
    if first.shape[:2] != (h, w):
        small = cv2.resize(x, (first.shape[1], first.shape[0]), interpolation=cv2.INTER_AREA)
        changes = [_gray_full(first, (h, w)) - _gray_full(small, (h, w))]
    else:
        changes = [_gray_full(first, (h, w)) - _gray_full(x, (h, w))]
    previous = _gray_full(first, (h, w))
    for img in imgs[1:]:
        current = _gray_full(img, (h, w))
        changes.append(current - previous)
        previous = current
    return [c.astype(np.float32) for c in changes]


def amplification(limit: float) -> int:
    """The factor ``N`` a change map of symmetric scale ``[-limit, limit]`` is amplified by, against the full
    intensity range (−1 … 1): ``1 / limit`` rounded down to 1, 2 or 5 × a power of ten (at least 1)."""
    if not limit > 0:
        raise ValueError(f"limit must be > 0; got {limit}")
    raw = 1.0 / limit
    if raw <= 1:
        return 1
    power = 10 ** int(np.floor(np.log10(raw)))
    return int(max(m for m in (1, 2, 5, 10) if m * power <= raw * (1 + 1e-9)) * power)


def plot_stage_changes(stages: Sequence[Image], model_input: Image, names: Sequence[str] | None = None,
                       limit: float | None = None) -> Figure:
    """Each stage's change from the previous stage (stage 1: from the input), all on ONE
    symmetric diverging scale centred on 0, amplified ×N (:func:`amplification` of the shared limit, default
    :func:`symmetric_limit` of all maps): full colour is a change of 1/N of the intensity range, and the
    figure says so. Titles give the mean |change|. Axes: one per stage and the colour bar."""
    changes = stage_changes(stages, model_input)
    names = list(names) if names is not None else [f"stage {i + 1}" for i in range(len(changes))]
    if len(names) != len(changes):
        raise ValueError(f"need one name per stage; got {len(names)} names for {len(changes)} stages")
    limit = symmetric_limit(*changes) if limit is None else float(limit)
    n = amplification(limit)
    shown = 1.0 / n
    titles = [f"{names[k].split(' (')[0]} − {'input' if k == 0 else 'previous'}\nmean |Δ| {np.abs(c).mean():.4f}"
              for k, c in enumerate(changes)]
    fig = _map_grid(changes, titles, SIGNED_CMAP, (-shown, shown), (2.8, 2.9, 0.9, 0.9))
    fig.colorbar(fig.axes[0].images[0], ax=fig.axes, shrink=0.8, label="change of Y")
    fig.suptitle(f"What each stage changed, ×{n} amplified\n(full red / blue = ±1/{n} of the brightness range)"
                 if n > 1 else "What each stage changed (not amplified)\n(full red / blue = ±the brightness range)")
    return readable_text(fig)


