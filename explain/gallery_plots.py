"""Figures that set many maps side by side: every zoom level, the six stages, what each stage
changed and how strong its edges are. Built on the figure basics of :mod:`explain.plots` (one
figure per call, object API, readable text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from .edges import edge_magnitude, luminance
from .measure import NAME, change_text, rms
from .plots import MIN_TEXT_PT, SIGNED_CMAP, Image, _new_figure, _to_numpy, readable_text, symmetric_limit

__all__ = ["amplification", "plot_stage_changes", "plot_stage_gallery", "plot_stage_strength", "plot_zoom_sweep",
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


def plot_zoom_sweep(factors: Sequence[float], series: Mapping[str, tuple[Sequence[float], str]], ylabel: str,
                    title: str) -> Figure:
    """Curves against the zoom factor (log2 x axis): ``series`` maps a label to (one value per factor, colour).
    One axis; ``ValueError`` for no factors, a factor ≤ 0 or a curve of another length."""
    f = np.asarray(factors, dtype=float)
    if f.ndim != 1 or f.size == 0 or np.any(f <= 0):
        raise ValueError(f"factors must be a non-empty list of positive numbers; got {factors!r}")
    for label, (values, _) in series.items():
        if len(values) != f.size:
            raise ValueError(f"{label}: need {f.size} values, one per factor; got {len(values)}")
    fig = _new_figure((6.4, 4.4 + 0.35 * len(series)))
    ax = fig.add_subplot()
    for label, (values, colour) in series.items():
        ax.plot(f, np.asarray(values, dtype=float), "o-", label=label, color=colour)
    ax.set_xscale("log", base=2)
    ax.set_xticks(f, [f"×{v:g}" for v in f])
    ax.minorticks_off()
    ax.set_xlabel("zoom")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below: it covers no curve
    return readable_text(fig)


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


def plot_stage_strength(names: Sequence[str], strengths: Sequence[float]) -> Figure:
    """Edge strength of MSSNet's input and of each stage output, in order (a small line plot with the
    change from the input written at each point). 7 × 3.6 inches, one axis."""
    if len(names) != len(strengths) or not names:
        raise ValueError(f"need one strength per name; got {len(names)} names and {len(strengths)} values")
    fig = _new_figure((7.0, 3.8))
    ax = fig.add_subplot()
    x = np.arange(len(names))
    values = np.asarray(strengths, dtype=float)
    ax.plot(x, values, "o-", color="tab:orange")
    base = values[0]
    for xi, v in zip(x[1:], values[1:], strict=True):
        ax.annotate(change_text(base, v).replace(f" {NAME}", ""), (xi, v), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=MIN_TEXT_PT)
    ax.set_xticks(x, ["in"] + [str(k) for k in range(1, len(names))])
    ax.set_xlabel("input, then stages 1–6 (coarse to fine)")
    ax.set_ylabel(NAME)
    pad = max(float(np.ptp(values)), 1e-4 * max(float(values.max()), 1e-6))
    ax.set_ylim(values.min() - 0.3 * pad, values.max() + 0.6 * pad)
    ax.set_title(f"{NAME.capitalize()} at each stage")
    ax.grid(alpha=0.3)
    return readable_text(fig)
