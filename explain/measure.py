"""The studio's one measure of sharpness: **edge strength**.

Every panel (edge maps, decision panel, stages, every-zoom-level sweep, saliency titles, the
answer, the ``/zoom_sharpen`` info) says "how much sharper" with this measure, computed here
and written the same way everywhere ("+17 % edge strength").

Edge strength is the root mean square of the gradient magnitude of the luma: the BT.601
luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` of an image in [0, 1], a 3x3 Sobel operator
normalised by 1/8, squared, averaged over the pixels and square-rooted. Units: intensity change
per pixel, so a ramp rising by ``s`` per pixel has edge strength ``s``. Per pixel the gradient
magnitude is :func:`mssnet.image.metrics.edge_strength_map` (re-exported here), the one definition.

Why the root mean square and not the plain mean: the gradient magnitude summed across a monotone
edge is its contrast, whatever its width, so the plain mean of a region holding whole edges does not
change when the edges get narrower (the flanks lose what the centre gains). The mean *square* grows as
an edge of the same contrast gets narrower (a step blurred over ``w`` pixels has about ``c² / w``), so
sharpening a blurred edge raises the edge strength and blurring it lowers it.

How it relates to the other numbers the studio shows: the squared edge strength is the *edge energy*
(mean squared gradient), so +32 % edge strength is 1.73× the energy; the *edge-strength change map* is
``edge_strength_map(after) - edge_strength_map(before)``, per pixel (red where the gradient grew);
PSNR (Simulate) measures closeness to a ground truth, not sharpness.
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from mssnet.image.metrics import edge_strength_map

__all__ = ["ADDED", "ADDED_DEFINITION", "added_map", "whole_percents",
           "DEFINITION", "NAME", "NEAR_ZERO", "UNCHANGED_PCT", "change_pct", "change_phrase", "change_text",
           "edge_strength", "edge_strength_map", "format_pct", "rms"]

#: The measure's name, as every panel writes it.
NAME = "edge strength"
#: The one sentence that defines it (the lesson and the panels quote it).
DEFINITION = ("**Edge strength** is how steeply the brightness changes from one pixel to the next in a region: "
              "the root mean square of the Sobel gradient of the luma, in intensity change per pixel (0 = flat); "
              "it rises when a blurred edge gets narrower.")
#: What MSSNet added, as every panel names it, and how it is measured.
ADDED = "added sharpness"
ADDED_DEFINITION = ("**Added sharpness** is where the edges got steeper: per pixel, how much the squared edge "
                    "strength rose from the bicubic view to MSSNet's (pixels where it fell count 0). Shares of it "
                    "add up to 100 %.")
#: Per-pixel gains of squared edge strength up to this count as none (far below a gray level's step:
#: (1/255)² ≈ 1.5e-5).
ADDED_FLOOR = 1e-9
#: Below this edge strength (intensity change per pixel; a gray level, 1/255, every four pixels) a region
#: has almost no edges, and a relative change of it says nothing: it is given in absolute numbers.
NEAR_ZERO = 0.001
#: A relative change smaller than this (per cent, either way) counts as "unchanged".
UNCHANGED_PCT = 0.5

Image = Tensor | np.ndarray


def _as_array(image: Image) -> np.ndarray:
    """One (3, H, W) / (1, 3, H, W) tensor -> (H, W, 3) array; arrays pass as they are."""
    if isinstance(image, Tensor):
        if image.ndim == 4:
            if image.shape[0] != 1:
                raise ValueError(f"edge_strength takes one image; got a batch of {image.shape[0]}")
            image = image[0]
        image = image.detach().float().cpu().numpy().transpose(1, 2, 0)  # (H, W, C)
    return image


def edge_strength(image: Image, mask: np.ndarray | None = None) -> float:
    """The one measure: the root mean square of :func:`edge_strength_map` over the image (or over the
    ``mask`` pixels, a bool (H, W) array; an empty mask gives 0). image: (H, W, 3) or (H, W) array (float
    in [0, 1] or uint8), or one (3, H, W) / (1, 3, H, W) tensor -> float, intensity change per pixel."""
    return rms(edge_strength_map(_as_array(image)), mask)


def added_map(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-pixel added sharpness: ``after² − before²`` of two :func:`edge_strength_map` maps (H, W) where it
    exceeds :data:`ADDED_FLOOR` and a ten-thousandth of ``before²`` (float32 rounding of equal images), else 0
    -> (H, W) float64, in squared intensity change per pixel."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if before.shape != after.shape:
        raise ValueError(f"the two maps must have the same shape; got {before.shape} and {after.shape}")
    gain = after * after - before * before
    return np.where(gain > ADDED_FLOOR + 1e-4 * before * before, gain, 0.0)


def whole_percents(shares: dict[str, float]) -> dict[str, int]:
    """Shares (>= 0, summing to 1, or all 0) -> whole per cents that sum to exactly 100 (largest remainder);
    all 0 stays all 0."""
    if any(v < 0 for v in shares.values()):
        raise ValueError(f"shares must be >= 0; got {shares}")
    total = sum(shares.values())
    if total <= 0:
        return {k: 0 for k in shares}
    exact = {k: 100.0 * v / total for k, v in shares.items()}
    out = {k: int(math.floor(v)) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: out[k] - exact[k])[:100 - sum(out.values())]:
        out[k] += 1
    return out


def rms(strength: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root mean square of a gradient-magnitude map (H, W) (over ``mask`` when given; empty -> 0): the
    edge strength of a map that is already computed."""
    strength = np.asarray(strength, dtype=np.float64)
    if mask is None:
        return float(np.sqrt(np.mean(strength * strength)))
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != strength.shape:
        raise ValueError(f"mask must be {strength.shape} like the image; got {mask.shape}")
    if not mask.any():
        return 0.0
    values = strength[mask]
    return float(np.sqrt(np.mean(values * values)))


def _strength(value: float | Image, name: str) -> float:
    if isinstance(value, np.ndarray | Tensor) and np.ndim(value) >= 2:
        return edge_strength(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an edge strength (a number) or an image; got {type(value).__name__}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite edge strength >= 0; got {number}")
    return number


def change_pct(before: float | Image, after: float | Image) -> float | None:
    """Relative change of edge strength in per cent, ``100 (after / before - 1)``; None where ``before``
    is below :data:`NEAR_ZERO` (a region without edges: a percentage of almost nothing means nothing).
    ``before`` / ``after``: edge strengths, or images (their :func:`edge_strength`)."""
    b, a = _strength(before, "before"), _strength(after, "after")
    if b < NEAR_ZERO:
        return None
    return 100.0 * (a / b - 1.0)


def format_pct(pct: float) -> str:
    """A relative change as the panels write it: '+17 %', '−3 %', '+0.8 %', '±0 %' (within
    :data:`UNCHANGED_PCT`). Whole per cents from 10 % on, one decimal below."""
    if abs(pct) < UNCHANGED_PCT:
        return "±0 %"
    sign = "+" if pct > 0 else "−"
    size = abs(pct)
    return f"{sign}{size:.0f} %" if size >= 9.95 else f"{sign}{size:.1f} %"


def change_text(before: float | Image, after: float | Image) -> str:
    """The change of edge strength, said one way everywhere: '+17 % edge strength', '−3 % edge
    strength', '±0 % edge strength (unchanged)', or, where ``before`` has almost no edges,
    'edge strength 0.0002 → 0.0011 (almost no edges before)'. Inputs as in :func:`change_pct`."""
    b, a = _strength(before, "before"), _strength(after, "after")
    pct = change_pct(b, a)
    if pct is None:
        return f"{NAME} {b:.4f} → {a:.4f} (almost no edges before)"
    text = f"{format_pct(pct)} {NAME}"
    return text + " (unchanged)" if abs(pct) < UNCHANGED_PCT else text


def change_phrase(before: float | Image, after: float | Image) -> str:
    """The change as a verb phrase for sentences: 'raised edge strength by 17 %', 'lowered edge strength
    by 3 %', 'left edge strength unchanged (within 0.5 %)', 'raised edge strength from almost none (0.0002)
    to 0.0011'. Inputs as in :func:`change_pct`."""
    b, a = _strength(before, "before"), _strength(after, "after")
    pct = change_pct(b, a)
    if pct is None:
        if a < NEAR_ZERO:
            return f"left almost no {NAME} ({b:.4f} → {a:.4f})"
        return f"raised {NAME} from almost none ({b:.4f}) to {a:.4f}"
    if abs(pct) < UNCHANGED_PCT:
        return f"left {NAME} unchanged (within {UNCHANGED_PCT:g} %)"
    verb = "raised" if pct > 0 else "lowered"
    return f"{verb} {NAME} by {format_pct(pct)[1:]}"

