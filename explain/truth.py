"""Checked against the truth: of the detail a zoom removes, how much MSSNet puts back, and how much of what it
adds the real image does not have (halos, ringing, invented texture).

The view on screen has no truth (nothing finer than the photograph exists), so the check runs the same zoom
where the truth is known, as *Simulate* does (:func:`explain.studio.simulate`): a crop of the photograph at ×1
is the truth, shrunk by the zoom and enlarged back with bicubic and with MSSNet (the pyramid's rule). Per pixel,
in squared edge strength (:func:`explain.measure.added_map`'s unit):

* **detail** — what the photograph has: ``truth²``;
* **lost** — what the zoom took away: ``max(truth² − bicubic², 0)``;
* **added** — what MSSNet added: :func:`explain.measure.added_map` of bicubic and MSSNet;
* **put back** — the part of the added that matches lost detail, ``min(added, lost)`` after both are summed over
  a small window (:data:`MATCH_RADIUS`: an edge put back one pixel off still counts);
* **invented** — the rest of the added, detail the truth does not have there.

``removed`` is the share of the photograph's detail the zoom took away, ``put_back`` the share of the lost detail
put back and ``invented`` the share of the added that is invented (each 0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .measure import added_map, edge_strength_map

__all__ = ["MATCH_RADIUS", "TRUTH_SIDE", "TruthCheck", "truth_check", "truth_sentence"]

#: Side (photograph px at ×1) of the crop around the view's centre that the answer checks.
TRUTH_SIDE = 192
#: Lost and added detail are matched within this many pixels.
MATCH_RADIUS = 1


@dataclass(frozen=True)
class TruthCheck:
    """What MSSNet did against the truth, for one zoom of one crop. Shares 0..1; totals are means per pixel in
    squared edge strength."""

    zoom: float
    side: int  # the crop's side, photograph px
    lost: float  # mean detail the zoom removed (bicubic against the truth)
    added: float  # mean detail MSSNet added (against bicubic)
    put_back: float  # share of the lost detail MSSNet put back (0 when nothing was lost)
    invented: float  # share of MSSNet's added detail that the truth does not have (0 when nothing was added)
    detail: float  # mean detail the photograph has (the truth's squared edge strength)

    @property
    def removed(self) -> float:
        """Share of the photograph's detail the zoom took away (0..1; 0 for a flat crop)."""
        return min(1.0, self.lost / self.detail) if self.detail > 0 else 0.0


def _box(a: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return a
    side = 2 * radius + 1
    return cv2.boxFilter(a, -1, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)


def truth_check(truth: np.ndarray, bicubic: np.ndarray, sharpened: np.ndarray, zoom: float, shave: int = 0,
                radius: int = MATCH_RADIUS) -> TruthCheck:
    """truth, bicubic, sharpened: (H, W, 3) float in [0, 1] (or uint8), the same size; ``shave`` px borders left
    out (the enlargement's edges) -> :class:`TruthCheck`. ``ValueError`` for mismatched shapes or nothing left
    after shaving."""
    shapes = {np.shape(truth), np.shape(bicubic), np.shape(sharpened)}
    if len(shapes) != 1:
        raise ValueError(f"truth, bicubic and sharpened must have the same shape; got {sorted(shapes)}")
    h, w = np.shape(truth)[:2]
    if shave < 0 or min(h, w) <= 2 * shave:
        raise ValueError(f"shave must leave pixels: {shave} px off {w}×{h}")
    e_t, e_b, e_s = (edge_strength_map(np.asarray(a)).astype(np.float64) for a in (truth, bicubic, sharpened))
    inner = (slice(shave, h - shave), slice(shave, w - shave))
    lost = np.maximum(e_t * e_t - e_b * e_b, 0.0)[inner]
    added = added_map(e_b, e_s)[inner]
    lost_w, added_w = _box(lost, radius), _box(added, radius)
    matched = np.minimum(added_w, lost_w)  # put back, as window sums
    total_lost, total_added = float(lost_w.sum()), float(added_w.sum())
    return TruthCheck(zoom, min(h, w), float(lost.mean()), float(added.mean()),
                      float(matched.sum()) / total_lost if total_lost > 0 else 0.0,
                      1.0 - float(matched.sum()) / total_added if total_added > 0 else 0.0,
                      float((e_t * e_t)[inner].mean()))


def truth_sentence(check: TruthCheck) -> str:
    """One sentence with the numbers, saying what was checked: 'Checked on the real photo (192 px around here,
    shrunk ×3 and zoomed back): it put back 41 % of the detail the zoom removed; 3 % of what it added is not in
    the photo (halos, ringing).'"""
    zoom = f"{check.zoom:.2f}".rstrip("0").rstrip(".")
    what = f"Checked on the real photo ({check.side} px around here, shrunk ×{zoom} and zoomed back)"
    if check.lost <= 0:
        return f"{what}: the zoom removed almost no detail here, so there was nothing to put back."
    if check.added <= 0:
        return f"{what}: it added nothing, so it put back none of the detail the zoom removed."
    return (f"{what}: it put back {100 * check.put_back:.0f} % of the detail the zoom removed; "
            f"{100 * check.invented:.0f} % of what it added is not in the photo (halos, ringing).")
