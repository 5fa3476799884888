"""How much of MSSNet's correction to apply at each zoom step: the calibrated strength.

A network that is not told the zoom factor learns one compromise: weights trained on
2× zooms sharpen a 1.25× zoom as if it were 2× blurred and overshoot every edge, and
weights trained on a wide range of zooms hold back where the blur is strongest. The
zoom pipeline knows the factor of each step, so it applies

    out = x + α(s) · (MSSNet(x) − x)

where ``x`` is the step's bicubic enlargement and ``α(s)`` the strength for step factor
``s``. The strengths are calibrated once per weights file on *training* images: for each
factor of a grid, the least-squares α that brings the sharpened crops closest to the
sharp originals (closed form, one MSSNet pass per crop),

    α* = Σ (MSSNet(x) − x)·(y − x) / Σ (MSSNet(x) − x)²,

and stored in the safetensors metadata under :data:`METADATA_KEY`. Between grid points
α is interpolated linearly in log s; outside the grid the nearest end is used. Weights
without a table (the original GoPro checkpoint, a user's own file) get α = 1: MSSNet's
output unchanged.

The table's codec and lookup live here (the weights loader needs them); the calibration
itself, which runs the network on training photographs, is :mod:`mssnet.calibrate`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping

import numpy as np
from torch import nn

__all__ = ["METADATA_KEY", "GRID", "strength_at", "model_strength", "encode_table", "decode_table",
           "format_table", "optimal_strength"]

#: safetensors metadata key holding the JSON table {"step factor": strength}.
METADATA_KEY = "zoom_strength"
#: Step factors the strength is calibrated at (the pyramid uses ×2; the others serve the
#: stepped rule of :mod:`mssnet.pipeline` that the benchmarks compare with).
GRID = (1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
#: Strengths are kept in this range (calibration clips to it; tables and callers outside it
#: are refused).
LIMITS = (0.0, 3.0)


def strength_at(table: Mapping[float, float] | None, factor: float) -> float:
    """α for a step ``factor`` from a calibration table (1.0 without one).

    >>> round(strength_at({1.0: 0.0, 2.0: 1.0}, 2 ** 0.5), 6), strength_at(None, 3.0)
    (0.5, 1.0)
    """
    if not table:
        return 1.0
    points = sorted((float(k), float(v)) for k, v in table.items())
    xs = [math.log(k) for k, _ in points]
    ys = [v for _, v in points]
    return float(np.interp(math.log(max(float(factor), 1e-9)), xs, ys))


def model_strength(model: nn.Module, factor: float) -> float:
    """α for a step ``factor`` from the table :func:`mssnet.load_model` attached to ``model``."""
    return strength_at(getattr(model, "zoom_strength", None), factor)


def encode_table(table: Mapping[float, float]) -> str:
    """Table -> the JSON string stored in the weights' metadata."""
    return json.dumps({f"{float(k):g}": round(float(v), 4) for k, v in sorted(table.items())})


def decode_table(text: str | None) -> dict[float, float] | None:
    """The metadata string -> table, or None (with a warning) when it is missing or malformed."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        table = {float(k): float(v) for k, v in raw.items()}
        lo, hi = LIMITS
        if not table or not all(k > 0 and math.isfinite(k) and lo <= v <= hi for k, v in table.items()):
            raise ValueError(f"empty table, a non-positive factor or a strength outside [{lo:g}, {hi:g}]")
    except (ValueError, TypeError, AttributeError) as exc:
        warnings.warn(f"ignoring malformed {METADATA_KEY!r} metadata ({exc}); MSSNet's output is used as is",
                      stacklevel=2)
        return None
    return table


def format_table(table: Mapping[float, float] | None) -> str:
    """'×1 0.00, ×1.5 0.37, ×2 1.09' — or 'none (α = 1)' without a table."""
    if not table:
        return "none (α = 1)"
    return ", ".join(f"×{k:g} {v:.2f}" for k, v in sorted(table.items()))


def optimal_strength(num: float, den: float) -> float:
    """α* = num / den (Σ d·r over Σ d·d), clipped to :data:`LIMITS`; 1.0 when d is all zero."""
    if den <= 0:
        return 1.0
    return float(np.clip(num / den, *LIMITS))
