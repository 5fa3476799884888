"""The decision panel: which kinds of pixels MSSNet changed, and by how much.

Where MSSNet put the sharpness it added: the numbers behind the answer. Every
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
the coherence ``(l1 - l2) / (l1 + l2)`` in [0, 1]. Per class: its share of the view's **added
sharpness** (:func:`explain.measure.added_map`; the structure classes split the view, so their shares
add up to 100 %), the edge strength of its pixels in the bicubic view and in MSSNet's view with their
change, and the mean ``|sharpened - bicubic|`` (RGB distance, :func:`explain.edges.sharpening_map`).
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
    ADDED,
    NAME,
    added_map,
    change_pct,
    change_phrase,
    change_text,
    edge_strength_map,
    rms,
    whole_percents,
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
    added: float = 0.0  # share (0..1) of the whole view's added sharpness that lies on this class's pixels

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
    added: float = 0.0  # mean added sharpness over the view (explain.measure.added_map), 0: none anywhere

    def groups(self) -> dict[str, dict[str, ClassStats]]:
        return {"structure": self.structure, "contrast": self.contrast, "orientation (edges)": self.orientation}

    def shares(self) -> dict[str, int]:
        """Each structure class's share of the view's added sharpness, whole per cents summing to 100 (all 0
        when MSSNet added none): the classes split the view, so their shares add up."""
        return whole_percents({name: s.added for name, s in self.structure.items()})

    @property
    def pct(self) -> float | None:
        """Relative change of the whole view's edge strength, per cent (None: no edges)."""
        return change_pct(self.before, self.after)

    @property
    def text(self) -> str:
        return change_text(self.before, self.after)


def _stats(name: str, mask: np.ndarray, change: np.ndarray, before: np.ndarray, after: np.ndarray,
           added: np.ndarray) -> ClassStats:
    n = int(mask.sum())
    if n == 0:
        return ClassStats(name, 0, 0.0, 0.0, 0.0, 0.0)
    total = float(added.sum())
    b, a = rms(before, mask), rms(after, mask)
    return ClassStats(name, n, n / mask.size, b, a, float(change[mask].mean()),
                      float(added[mask].sum()) / total if total > 0 else 0.0)


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
    added = added_map(g0, g1)

    def stats(name: str, mask: np.ndarray) -> ClassStats:
        return _stats(name, mask, change, g0, g1, added)

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
    return Decision(structure, contrast, orientation, labels, view_before, rms(g1), float(added.mean()))


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def decision_sentence(decision: Decision) -> str:
    """One sentence that follows the numbers: where the view's added sharpness went, as shares of it per
    structure class that add up to 100 % (each with its share of the view's pixels), then the whole view's
    change of edge strength against the bicubic view. Never a per-class relative change."""
    if decision.labels.size == 0:
        return "The view has no pixels to classify."
    whole = f"Over the whole view MSSNet {change_phrase(decision.before, decision.after)} against the bicubic view."
    if decision.added <= 0:
        return f"MSSNet added no sharpness in this view: no pixel's edges got steeper. {whole}"
    shares = decision.shares()
    parts = [f"{shares[name]} % {'went to' if k == 0 else 'to'} {name} ({_pct(s.share)} of the view)"
             for k, (name, s) in enumerate((n, s) for n, s in decision.structure.items() if s.pixels)]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Of the {ADDED} MSSNet gave this view, {listed}. {whole}"


#: Colours of the structure classes in the map and the bars (edges, corners and fine texture, flat).
STRUCTURE_COLORS = ("#d62728", "#2ca02c", "#1f77b4")
GROUP_COLOR = "#7f7f7f"


def plot_decision(decision: Decision, bicubic: np.ndarray | None = None) -> Figure:
    """The decision panel as a picture: bars of each class's share of the view's added sharpness (per cent) —
    structure in the map's colours (their shares add up to 100 %), then contrast and orientation in gray (parts
    of the same whole) — beside a small map of the structure classes (over the bicubic view when given).
    8.8 × 5 inches (845 px wide at 96 dpi), text at least :data:`explain.plots.MIN_TEXT_PT`. Two axes: the map
    and the bars. An empty class says "none"; a class too small to speak for is marked "(few px)"."""
    fig = _new_figure((8.8, 5.0))
    ax_map, ax = fig.subplots(1, 2, width_ratios=(1, 1.9))
    if bicubic is not None:
        gray = luminance(_to_numpy(bicubic, "bicubic"))
        ax_map.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_map.imshow(decision.labels, cmap=ListedColormap(STRUCTURE_COLORS), vmin=-0.5, vmax=2.5,
                  alpha=0.55 if bicubic is not None else 1.0, interpolation="nearest")
    ax_map.set_title("the classes\n(colours as the bars)")
    ax_map.set_axis_off()
    shares = decision.shares()
    rows = []  # (label, stats, colour, per cent)
    for group, classes in decision.groups().items():
        for k, (name, stats) in enumerate(classes.items()):
            structure = group == "structure"
            rows.append((name, stats, STRUCTURE_COLORS[k] if structure else GROUP_COLOR,
                         shares[name] if structure else 100 * stats.added))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [v for *_, v in rows], color=[c for _, _, c, _ in rows], height=0.7)
    ax.axvline(0, color="black", lw=0.8)
    for yi, (_, stats, _, value) in zip(y, rows, strict=True):
        label = "none" if stats.pixels == 0 else f"{value:.0f} %"
        if stats.pixels and not stats.large_enough:
            label += " (few px)"
        ax.text(value + 2, yi, label, va="center", ha="left", fontsize=MIN_TEXT_PT)
    ax.set_yticks(y, [name for name, *_ in rows])
    for tick, (_, _, colour, _) in zip(ax.get_yticklabels(), rows, strict=True):
        if colour != GROUP_COLOR:
            tick.set_color(colour)
    ax.set_xlim(0, 130)
    for k in (3, 6):  # between the groups
        ax.axhline(len(rows) - k - 0.5, color="#cccccc", lw=1)
    ax.set_xlabel(f"share of the view's {ADDED} (%)")
    none = "" if decision.added > 0 else "\n(MSSNet added none here)"
    ax.set_title(f"Where MSSNet added sharpness{none}")
    return readable_text(fig)


def decision_table_markdown(decision: Decision) -> str:
    """The numbers behind the bars, as a Markdown table: per class its share of the view, its share of the
    view's added sharpness, edge strength before and after with the change, and the mean |change| of RGB."""
    shares = decision.shares()
    rows = [f"| class | share of the view | share of the {ADDED} | {NAME}: bicubic | {NAME}: MSSNet | change | "
            "mean \\|RGB change\\| |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| whole view | 100 % | {100 if decision.added > 0 else 0} % | {decision.before:.4f} | "
            f"{decision.after:.4f} | {decision.text} | |"]
    for group, classes in decision.groups().items():
        for stats in classes.values():
            if stats.pixels == 0:
                rows.append(f"| {stats.name} ({group}) | 0 % | 0 % | | | | |")
                continue
            added = shares[stats.name] if group == "structure" else round(100 * stats.added)
            rows.append(f"| {stats.name} ({group}) | {100 * stats.share:.0f} % | {added} % | {stats.before:.4f} | "
                        f"{stats.after:.4f} | {stats.text} | {stats.mean_change:.4f} |")
    return "\n".join(rows)
