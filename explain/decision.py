"""The decision panel: which kinds of pixels MSSNet changed, and by how much.

The studio's direct answer to "how does the network decide what to sharpen?". Every
pixel of the **bicubic** view (what MSSNet was given) is put into classes read from its
structure tensor (no network pass), and the change MSSNet made is averaged per class:

* **structure** — ``edges and lines`` (strong and coherent: one dominant gradient
  direction), ``texture`` (strong but incoherent: gradients in many directions) and
  ``flat`` (weak gradient);
* **contrast** — the local gradient strength of the non-flat pixels in fixed bins
  (:data:`CONTRAST_BINS`, intensity change per pixel), so views compare with each other;
* **orientation** — of the edges-and-lines pixels: ``horizontal``, ``vertical`` or
  ``diagonal`` edges (the edge runs perpendicular to the gradient).

The structure tensor ``J = G_sigma * [Ix², IxIy; IxIy, Iy²]`` uses the Sobel gradient of
:mod:`explain.edges` (units: intensity change per pixel) and a Gaussian window of
:data:`TENSOR_SIGMA`; with eigenvalues ``l1 >= l2``, the strength is ``sqrt(l1 + l2)`` and
the coherence ``(l1 - l2) / (l1 + l2)`` in [0, 1]. Per class: the mean change
``|sharpened - bicubic|`` (RGB distance, :func:`explain.edges.sharpening_map`), the mean
edge gain (:func:`explain.edges.edge_gain`), the mean edge strength *added* (the gain where
it is positive) and the ratio of edge energy (mean squared edge magnitude) after and before.

Why three edge numbers: sharpening a blurred step makes its edge narrower and taller, but
the Sobel magnitude summed across a monotone edge is its contrast, whatever the blur, so the
signed mean gain of a region holding whole edges stays near 0 (the flanks lose what the
centre gains). The added strength and the energy ratio (a narrower edge of the same
contrast has more energy) show the sharpening; the signed gain shows softening.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .edges import _SOBEL_X, _SOBEL_Y, edge_gain, edge_magnitude, luminance, sharpening_map
from .plots import _new_figure, _to_numpy, readable_text

__all__ = ["CONTRAST_BINS", "COHERENCE_EDGE", "FLAT_BELOW", "ORIENTATIONS", "STRUCTURES", "ClassStats", "Decision",
           "decide", "decision_sentence", "plot_decision", "structure_tensor"]

#: Gaussian window (px) of the structure tensor.
TENSOR_SIGMA = 2.0
#: Below this strength (intensity change per pixel) a pixel is flat.
FLAT_BELOW = 0.01
#: At or above this coherence a strong pixel is an edge or line, below it texture.
COHERENCE_EDGE = 0.5
#: Strength bins of the non-flat pixels: low < 0.04 <= medium < 0.12 <= high.
CONTRAST_BINS = (0.04, 0.12)
STRUCTURES = ("edges and lines", "texture", "flat")
CONTRASTS = ("low contrast", "medium contrast", "high contrast")
ORIENTATIONS = ("horizontal", "vertical", "diagonal")
#: A class's mean change below this fraction of the largest class's counts as "almost unchanged".
UNCHANGED_FRACTION = 0.25


def structure_tensor(image: np.ndarray, sigma: float = TENSOR_SIGMA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """image (H, W, 3) or (H, W) in [0, 1] -> (strength, coherence, gradient angle), each (H, W) float32.

    strength ``sqrt(l1 + l2)`` (intensity change per pixel, RMS over the window); coherence
    ``(l1 - l2) / (l1 + l2)`` (0 where flat); angle of the dominant gradient in radians,
    (-pi/2, pi/2], 0 = gradient along x (a vertical edge).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    y = luminance(_to_numpy(image, "image"))
    gx = cv2.filter2D(y, cv2.CV_32F, _SOBEL_X.astype(np.float32), borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(y, cv2.CV_32F, _SOBEL_Y.astype(np.float32), borderType=cv2.BORDER_REPLICATE)

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
    """One class of pixels and what MSSNet did to it."""

    name: str
    pixels: int
    share: float  # of all the view's pixels, 0..1
    mean_change: float  # mean |sharpened - bicubic| (RGB distance)
    mean_gain: float  # mean edge gain (Sobel of sharpened minus bicubic), signed
    mean_edge: float  # mean edge magnitude of the bicubic view
    mean_added: float = 0.0  # mean of the gain where positive: edge strength added
    energy_ratio: float | None = None  # mean edge² after / before (None where the class has no edges)

    @property
    def relative_gain(self) -> float | None:
        """Edge gain over the edge strength the class had (None without edges)."""
        return self.mean_gain / self.mean_edge if self.mean_edge > 1e-9 else None


@dataclass
class Decision:
    """The decision panel's numbers: per class of structure, contrast and orientation."""

    structure: dict[str, ClassStats]
    contrast: dict[str, ClassStats]
    orientation: dict[str, ClassStats]
    labels: np.ndarray  # (H, W) uint8: index into STRUCTURES

    def groups(self) -> dict[str, dict[str, ClassStats]]:
        return {"structure": self.structure, "contrast": self.contrast, "orientation (edges)": self.orientation}


def _stats(name: str, mask: np.ndarray, change: np.ndarray, gain: np.ndarray, edge: np.ndarray) -> ClassStats:
    n = int(mask.sum())
    if n == 0:
        return ClassStats(name, 0, 0.0, 0.0, 0.0, 0.0)
    g, e = gain[mask].astype(np.float64), edge[mask].astype(np.float64)
    before = float((e * e).mean())
    after = float(((e + g) ** 2).mean())
    return ClassStats(name, n, n / mask.size, float(change[mask].mean()), float(g.mean()), float(e.mean()),
                      float(np.clip(g, 0, None).mean()), after / before if before > 1e-12 else None)


def decide(bicubic: np.ndarray, sharpened: np.ndarray, flat_below: float = FLAT_BELOW,
           coherence_edge: float = COHERENCE_EDGE, contrast_bins: tuple[float, float] = CONTRAST_BINS) -> Decision:
    """Classify the bicubic view's pixels and measure MSSNet's change per class.

    bicubic, sharpened: (H, W, 3) float in [0, 1] (or uint8), same size. No network pass.
    """
    before, after = _to_numpy(bicubic, "bicubic"), _to_numpy(sharpened, "sharpened")
    if before.shape != after.shape:
        raise ValueError(f"bicubic and sharpened must have the same shape; got {before.shape} and {after.shape}")
    lo, hi = contrast_bins
    if not 0 <= flat_below <= lo <= hi:
        raise ValueError(f"need 0 <= flat_below <= contrast bins (ascending); got {flat_below}, {contrast_bins}")
    strength, coherence, angle = structure_tensor(before)
    change = sharpening_map(before, after)
    gain = edge_gain(before, after)
    edge = edge_magnitude(before)
    flat = strength < flat_below
    edges = ~flat & (coherence >= coherence_edge)
    texture = ~flat & ~edges
    labels = np.where(edges, 0, np.where(texture, 1, 2)).astype(np.uint8)
    structure = {name: _stats(name, labels == k, change, gain, edge) for k, name in enumerate(STRUCTURES)}
    bins = (~flat & (strength < lo), ~flat & (strength >= lo) & (strength < hi), ~flat & (strength >= hi))
    contrast = {name: _stats(name, m, change, gain, edge) for name, m in zip(CONTRASTS, bins, strict=True)}
    a = np.abs(np.degrees(angle))  # 0: gradient along x (vertical edge), 90: along y (horizontal edge)
    orient = (edges & (a > 67.5), edges & (a < 22.5), edges & (a >= 22.5) & (a <= 67.5))
    orientation = {name: _stats(name, m, change, gain, edge) for name, m in zip(ORIENTATIONS, orient, strict=True)}
    return Decision(structure, contrast, orientation, labels)


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def decision_sentence(decision: Decision) -> str:
    """One sentence that follows the numbers: how much edge strength MSSNet added to edges and
    lines against texture (mean added strength per pixel), and whether flat areas were left alone."""
    e, t, f = (decision.structure[name] for name in STRUCTURES)
    clauses = []
    if e.pixels and t.pixels:
        if max(e.mean_added, t.mean_added) <= 1e-6:
            clauses.append("MSSNet added no edge strength to edges and lines or to texture")
        elif e.mean_added >= t.mean_added:
            ratio = e.mean_added / t.mean_added if t.mean_added > 1e-6 else float("inf")
            more = "gained edge strength while texture gained none" if ratio == float("inf") else \
                f"gained {ratio:.1f}× more edge strength per pixel than texture ({_pct(t.share)})"
            clauses.append(f"edges and lines ({_pct(e.share)} of the view) {more}")
        else:
            ratio = t.mean_added / e.mean_added if e.mean_added > 1e-6 else float("inf")
            more = "gained edge strength while edges and lines gained none" if ratio == float("inf") else \
                f"gained {ratio:.1f}× more edge strength per pixel than edges and lines ({_pct(e.share)})"
            clauses.append(f"texture ({_pct(t.share)} of the view) {more}")
    elif e.pixels or t.pixels:
        c = e if e.pixels else t
        clauses.append(f"{c.name} ({_pct(c.share)} of the view) gained {c.mean_added:.4f} edge strength per pixel")
    if f.pixels:
        busiest = max((s.mean_change for s in (e, t) if s.pixels), default=0.0)
        if busiest > 0 and f.mean_change < UNCHANGED_FRACTION * busiest:
            clauses.append(f"flat areas ({_pct(f.share)}) were left almost unchanged (mean change "
                           f"{f.mean_change:.4f} against {busiest:.4f})")
        else:
            clauses.append(f"flat areas ({_pct(f.share)}) changed too (mean change {f.mean_change:.4f})")
    if not clauses:
        return "The view has no pixels to classify."
    text = "; ".join(clauses)
    return text[0].upper() + text[1:] + "."


#: Colours of the structure classes in the map (edges, texture, flat).
STRUCTURE_COLORS = ("#d62728", "#2ca02c", "#1f77b4")


def plot_decision(decision: Decision, bicubic: np.ndarray | None = None) -> Figure:
    """The decision panel: the structure classes as a map (over the bicubic view when given)
    and bars of the mean edge strength added and the mean change per class (structure,
    contrast, orientation). Seven axes: the map and six bar charts."""
    fig = _new_figure((15.0, 6.4))
    groups = decision.groups()
    mosaic = [["map", *(f"gain {g}" for g in groups)], ["map", *(f"change {g}" for g in groups)]]
    axes = fig.subplot_mosaic(mosaic, width_ratios=(1.4, 1, 1, 1))
    ax_map = axes["map"]
    if bicubic is not None:
        gray = luminance(_to_numpy(bicubic, "bicubic"))
        ax_map.imshow(np.clip(gray, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_map.imshow(decision.labels, cmap=ListedColormap(STRUCTURE_COLORS), vmin=-0.5, vmax=2.5,
                  alpha=0.55 if bicubic is not None else 1.0, interpolation="nearest")
    ax_map.set_title("red: edges and lines\ngreen: texture · blue: flat")
    ax_map.set_axis_off()
    for group, classes in groups.items():
        names = list(classes)
        short = [n.replace(" contrast", "").replace("edges and lines", "edges") for n in names]
        colors = STRUCTURE_COLORS if group == "structure" else ["#7f7f7f"] * len(names)
        for kind, attr, label in (("gain", "mean_added", "edge strength added"),
                                  ("change", "mean_change", "mean |change|")):
            ax = axes[f"{kind} {group}"]
            values = [getattr(classes[n], attr) for n in names]
            ax.bar(short, values, color=colors)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_ylabel(label)
            if kind == "gain":
                ax.set_title(group)
            for i, n in enumerate(names):
                if classes[n].pixels == 0:
                    ax.text(i, 0, "none", ha="center", va="bottom")
    fig.suptitle(decision_sentence(decision), wrap=True)
    return readable_text(fig)
