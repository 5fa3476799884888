"""The decision panel: which kinds of pixels MSSNet changed, and by how much.

The studio's direct answer to "how does the network decide what to sharpen?". Every
pixel of the **bicubic** view (what MSSNet was given) is put into classes read from its
structure tensor (no network pass), and the change of the one measure, edge strength
(:mod:`explain.measure`), is computed per class:

* **structure** — ``edges and lines`` (strong and coherent: one dominant gradient
  direction within a few pixels: outlines, straight and curved edges, strokes), ``corners and
  fine texture`` (strong but incoherent: gradients in several directions at once; on the
  examples these are the corners and junctions of letters, the lettering of the astronaut's
  emblems, star points, hair, fur, fabric weave and wood grain) and ``flat areas`` (weak
  gradient);
* **contrast** — the local gradient strength of the non-flat pixels in fixed bins
  (:data:`CONTRAST_BINS`, intensity change per pixel), so views compare with each other;
* **orientation** — of the edges-and-lines pixels: ``horizontal``, ``vertical`` or
  ``diagonal`` edges (the edge runs perpendicular to the gradient).

The structure tensor ``J = G_sigma * [Ix², IxIy; IxIy, Iy²]`` uses the Sobel gradient of
:mod:`explain.edges` (units: intensity change per pixel) and a Gaussian window of
:data:`TENSOR_SIGMA`; with eigenvalues ``l1 >= l2``, the strength is ``sqrt(l1 + l2)`` and
the coherence ``(l1 - l2) / (l1 + l2)`` in [0, 1]. Per class: the edge strength of its pixels
in the bicubic view and in MSSNet's view and their relative change, the class's share of the
view's change (points of per cent, they add up to the whole view's change), and the mean
``|sharpened - bicubic|`` (RGB distance, :func:`explain.edges.sharpening_map`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from mssnet.image.metrics import sobel_gradients

from .edges import luminance, sharpening_map
from .measure import (
    NAME,
    NEAR_ZERO,
    UNCHANGED_PCT,
    change_pct,
    change_phrase,
    change_text,
    edge_strength_map,
    format_pct,
    rms,
)
from .plots import MIN_TEXT_PT, _new_figure, _to_numpy, readable_text

__all__ = ["CONTRAST_BINS", "COHERENCE_EDGE", "FLAT_BELOW", "MIN_CLASS_SHARE", "ORIENTATIONS", "STRUCTURES",
           "ClassStats", "Decision", "decide", "decision_sentence", "decision_table_markdown", "plot_decision",
           "structure_tensor"]

#: Gaussian window (px) of the structure tensor.
TENSOR_SIGMA = 2.0
#: Below this strength (intensity change per pixel) a pixel is flat.
FLAT_BELOW = 0.01
#: At or above this coherence a strong pixel is an edge or line, below it a corner or fine texture.
COHERENCE_EDGE = 0.5
#: Strength bins of the non-flat pixels: low < 0.04 <= medium < 0.12 <= high.
CONTRAST_BINS = (0.04, 0.12)
#: The structure classes, named by what they hold on the examples (see the module's docstring).
STRUCTURES = ("edges and lines", "corners and fine texture", "flat areas")
CONTRASTS = ("low contrast", "medium contrast", "high contrast")
ORIENTATIONS = ("horizontal edges", "vertical edges", "diagonal edges")
#: A class holding less than this share of the view (or fewer than :data:`MIN_CLASS_PIXELS`) is too
#: small to speak for: it is drawn but not described.
MIN_CLASS_SHARE = 0.01
MIN_CLASS_PIXELS = 64


def structure_tensor(image: np.ndarray, sigma: float = TENSOR_SIGMA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """image (H, W, 3) or (H, W) in [0, 1] -> (strength, coherence, gradient angle), each (H, W) float32.

    strength ``sqrt(l1 + l2)`` (intensity change per pixel, RMS over the window); coherence
    ``(l1 - l2) / (l1 + l2)`` (0 where flat); angle of the dominant gradient in radians,
    (-pi/2, pi/2], 0 = gradient along x (a vertical edge).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    y = luminance(_to_numpy(image, "image"))
    gx, gy = sobel_gradients(y)

    def smooth(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)

    jxx, jyy, jxy = smooth(gx * gx), smooth(gy * gy), smooth(gx * gy)
    trace = np.maximum(jxx + jyy, 0)
    diff = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy)  # l1 - l2
    coherence = np.where(trace > 1e-12, diff / np.maximum(trace, 1e-12), 0.0)
    angle = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    return np.sqrt(trace).astype(np.float32), np.clip(coherence, 0, 1).astype(np.float32), angle.astype(np.float32)


@dataclass(frozen=True)
class ClassStats:
    """One class of pixels and what MSSNet did to it (edge strengths in intensity change per pixel)."""

    name: str
    pixels: int
    share: float  # of all the view's pixels, 0..1
    before: float  # edge strength of the class's pixels in the bicubic view
    after: float  # ... in MSSNet's view
    mean_change: float  # mean |sharpened - bicubic| (RGB distance)
    points: float = 0.0  # this class's part of the whole view's relative change, in points of per cent

    @property
    def pct(self) -> float | None:
        """Relative change of the class's edge strength, per cent (None: almost no edges before)."""
        return change_pct(self.before, self.after) if self.pixels else None

    @property
    def text(self) -> str:
        """'+17 % edge strength' (see :func:`explain.measure.change_text`)."""
        return change_text(self.before, self.after)

    @property
    def large_enough(self) -> bool:
        """Whether the class holds enough pixels to be described (:data:`MIN_CLASS_SHARE`)."""
        return self.pixels >= MIN_CLASS_PIXELS and self.share >= MIN_CLASS_SHARE


@dataclass
class Decision:
    """The decision panel's numbers: the whole view, and per class of structure, contrast and orientation."""

    structure: dict[str, ClassStats]
    contrast: dict[str, ClassStats]
    orientation: dict[str, ClassStats]
    labels: np.ndarray  # (H, W) uint8: index into STRUCTURES
    before: float = 0.0  # edge strength of the whole bicubic view
    after: float = 0.0  # ... of MSSNet's view

    def groups(self) -> dict[str, dict[str, ClassStats]]:
        return {"structure": self.structure, "contrast": self.contrast, "orientation (edges)": self.orientation}

    @property
    def pct(self) -> float | None:
        """Relative change of the whole view's edge strength, per cent (None: no edges)."""
        return change_pct(self.before, self.after)

    @property
    def text(self) -> str:
        return change_text(self.before, self.after)


def _stats(name: str, mask: np.ndarray, change: np.ndarray, before: np.ndarray, after: np.ndarray,
           view_before: float) -> ClassStats:
    n = int(mask.sum())
    if n == 0:
        return ClassStats(name, 0, 0.0, 0.0, 0.0, 0.0)
    b, a = rms(before, mask), rms(after, mask)
    share = n / mask.size
    # the view's mean square is the share-weighted sum of the classes' mean squares
    points = 100.0 * share * (a * a - b * b) / (2 * view_before * view_before) if view_before > 0 else 0.0
    return ClassStats(name, n, share, b, a, float(change[mask].mean()), points)


def decide(bicubic: np.ndarray, sharpened: np.ndarray, flat_below: float = FLAT_BELOW,
           coherence_edge: float = COHERENCE_EDGE, contrast_bins: tuple[float, float] = CONTRAST_BINS) -> Decision:
    """Classify the bicubic view's pixels and measure the change of edge strength per class.

    bicubic, sharpened: (H, W, 3) float in [0, 1] (or uint8), same size. No network pass.
    ``points`` of the classes of one group add up to about the whole view's relative change (exactly
    for small changes: the view's squared edge strength is the share-weighted sum of the classes').
    """
    before, after = _to_numpy(bicubic, "bicubic"), _to_numpy(sharpened, "sharpened")
    if before.shape != after.shape:
        raise ValueError(f"bicubic and sharpened must have the same shape; got {before.shape} and {after.shape}")
    lo, hi = contrast_bins
    if not 0 <= flat_below <= lo <= hi:
        raise ValueError(f"need 0 <= flat_below <= contrast bins (ascending); got {flat_below}, {contrast_bins}")
    strength, coherence, angle = structure_tensor(before)
    change = sharpening_map(before, after)
    g0, g1 = edge_strength_map(before), edge_strength_map(after)
    view_before = rms(g0)

    def stats(name: str, mask: np.ndarray) -> ClassStats:
        return _stats(name, mask, change, g0, g1, view_before)

    flat = strength < flat_below
    edges = ~flat & (coherence >= coherence_edge)
    texture = ~flat & ~edges
    labels = np.where(edges, 0, np.where(texture, 1, 2)).astype(np.uint8)
    structure = {name: stats(name, labels == k) for k, name in enumerate(STRUCTURES)}
    bins = (~flat & (strength < lo), ~flat & (strength >= lo) & (strength < hi), ~flat & (strength >= hi))
    contrast = {name: stats(name, m) for name, m in zip(CONTRASTS, bins, strict=True)}
    a = np.abs(np.degrees(angle))  # 0: gradient along x (vertical edge), 90: along y (horizontal edge)
    orient = (edges & (a > 67.5), edges & (a < 22.5), edges & (a >= 22.5) & (a <= 67.5))
    orientation = {name: stats(name, m) for name, m in zip(ORIENTATIONS, orient, strict=True)}
    return Decision(structure, contrast, orientation, labels, view_before, rms(g1))


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def decision_sentence(decision: Decision) -> str:
    """One sentence that follows the numbers: the change of edge strength of the whole view, then of
    each structure class large enough to speak for (:attr:`ClassStats.large_enough`), in the one measure.
    Near-zero, tied, negative and empty cases are said as they are, never as a ratio."""
    if decision.labels.size == 0:
        return "The view has no pixels to classify."
    clauses = [_class_clause(s) for s in decision.structure.values() if s.large_enough]
    text = f"MSSNet {change_phrase(decision.before, decision.after)} over the whole view"
    text += (": " + "; ".join(clauses) if clauses else "") + "."
    small = [s.name for s in decision.structure.values() if s.pixels and not s.large_enough]
    if small:
        text += f" Too few pixels to say for {' and '.join(small)}."
    return text


def _class_clause(s: ClassStats) -> str:
    """'+20 % on edges and lines (14 % of the view)' and the near-zero and unchanged cases."""
    where = f"{s.name} ({_pct(s.share)} of the view)"
    pct = s.pct
    if pct is None:
        if s.after < NEAR_ZERO:
            return f"{where} had almost no edges before and after"
        return f"{where} went from almost no edges ({s.before:.4f}) to {s.after:.4f}"
    if abs(pct) < UNCHANGED_PCT:
        return f"{where} unchanged (±0 %)"
    return f"{format_pct(pct)} on {where}"


#: Colours of the structure classes in the map and the bars (edges, corners and fine texture, flat).
STRUCTURE_COLORS = ("#d62728", "#2ca02c", "#1f77b4")
GROUP_COLOR = "#7f7f7f"


def plot_decision(decision: Decision, bicubic: np.ndarray | None = None) -> Figure:
    """The decision panel as a picture: bars of the change of edge strength (per cent) per class —
    structure in the map's colours, then contrast and orientation in gray — with the whole view's change
    as a dashed line, beside a small map of the structure classes (over the bicubic view when given).
    8.8 × 5 inches (845 px wide at 96 dpi), text at least :data:`explain.plots.MIN_TEXT_PT`.
    Two axes: the map and the bars. A class with almost no edges before gets no bar but its numbers;
    an empty class says "none"; a class too small to speak for is marked "(few px)"."""
    fig = _new_figure((8.8, 5.0))
    ax_map, ax = fig.subplots(1, 2, width_ratios=(1, 1.9))
    if bicubic is not None:
        gray = luminance(_to_numpy(bicubic, "bicubic"))
        ax_map.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_map.imshow(decision.labels, cmap=ListedColormap(STRUCTURE_COLORS), vmin=-0.5, vmax=2.5,
                  alpha=0.55 if bicubic is not None else 1.0, interpolation="nearest")
    ax_map.set_title("the classes\n(colours as the bars)")
    ax_map.set_axis_off()
    rows = []  # (label, stats, colour)
    for group, classes in decision.groups().items():
        for k, (name, stats) in enumerate(classes.items()):
            colour = STRUCTURE_COLORS[k] if group == "structure" else GROUP_COLOR
            rows.append((name, stats, colour))
    values = [s.pct if s.pct is not None else 0.0 for _, s, _ in rows]
    span = max([abs(v) for v in values] + [abs(decision.pct or 0.0), 1.0])
    y = np.arange(len(rows))[::-1]
    ax.barh(y, values, color=[c for _, _, c in rows], height=0.7)
    ax.axvline(0, color="black", lw=0.8)
    if decision.pct is not None:
        ax.axvline(decision.pct, color="black", ls="--", lw=1.2)
    for yi, value, (_, stats, _) in zip(y, values, rows, strict=True):
        if stats.pixels == 0:
            label = "none"
        elif stats.pct is None:
            label = f"{stats.before:.4f} → {stats.after:.4f}"
        else:
            label = format_pct(stats.pct)
        if stats.pixels and not stats.large_enough:
            label += " (few px)"
        ax.text(value + (0.03 * span if value >= 0 else -0.03 * span), yi, label, va="center",
                ha="left" if value >= 0 else "right", fontsize=MIN_TEXT_PT)
    ax.set_yticks(y, [name for name, _, _ in rows])
    for tick, (_, _, colour) in zip(ax.get_yticklabels(), rows, strict=True):
        if colour != GROUP_COLOR:
            tick.set_color(colour)
    low = min(0.0, min(values)) - 0.5 * span
    ax.set_xlim(low if min(values) < 0 else -0.05 * span, max(0.0, max(values)) + 0.7 * span)
    for k in (3, 6):  # between the groups
        ax.axhline(len(rows) - k - 0.5, color="#cccccc", lw=1)
    ax.set_xlabel(f"change of {NAME} (%)")
    whole = "" if decision.pct is None else f"\n(dashed: whole view, {format_pct(decision.pct)})"
    ax.set_title(f"{NAME.capitalize()}: MSSNet vs bicubic{whole}")
    return readable_text(fig)


def decision_table_markdown(decision: Decision) -> str:
    """The numbers behind the bars, as a Markdown table: per class its share of the view, edge strength
    before and after, the change, its points of the whole view's change, and the mean |change| of RGB."""
    rows = [f"| class | share of the view | {NAME}: bicubic | {NAME}: MSSNet | change | points of the view's "
            "change | mean \\|RGB change\\| |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| whole view | 100 % | {decision.before:.4f} | {decision.after:.4f} | {decision.text} | | |"]
    for group, classes in decision.groups().items():
        for stats in classes.values():
            if stats.pixels == 0:
                rows.append(f"| {stats.name} ({group}) | 0 % | | | | | |")
                continue
            rows.append(f"| {stats.name} ({group}) | {100 * stats.share:.0f} % | {stats.before:.4f} | "
                        f"{stats.after:.4f} | {stats.text} | {stats.points:+.1f} | {stats.mean_change:.4f} |")
    return "\n".join(rows)
