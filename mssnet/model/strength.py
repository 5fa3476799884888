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

The zoom pyramid (:mod:`mssnet.pyramid.levels`) takes only 2× steps, but from level 2 on a step's
input is the 2× enlargement of a level that is *already sharpened*: less blur is left to
undo than in a bicubic 2× zoom of a photograph, and a full-strength correction overshoots.
So a file also stores one strength per pyramid level under :data:`LEVEL_KEY`, calibrated
the same way on crops zoomed level by level exactly as the pyramid does (level k's α with
levels 1…k−1 at theirs). Files without that table use α(2) at every level.

The table's codec and lookup live here (the weights loader needs them); the calibration
itself, which runs the network on training photographs, is :mod:`mssnet.train.calibrate`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping

import numpy as np
from torch import nn

__all__ = ["METADATA_KEY", "LEVEL_KEY", "GRID", "strength_at", "model_strength", "level_strengths",
           "encode_table", "decode_table", "decode_levels", "format_table", "format_levels", "optimal_strength"]

#: safetensors metadata key holding the JSON table {"step factor": strength}.
METADATA_KEY = "zoom_strength"
#: safetensors metadata key holding the JSON table {"pyramid level": strength}.
LEVEL_KEY = "level_strength"
#: Step factors the strength is calibrated at (the pyramid reads ×2, for files without a per-level
#: table; the other factors served a retired stepped rule and are still calibrated and stored).
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


def level_strengths(model: nn.Module, levels: int) -> tuple[float, ...]:
    """α of pyramid levels 1…``levels``: the model's level table (a level past its last entry
    uses the last one), else α(2) of its factor table at every level (1.0 without either).

    >>> m = nn.Identity(); m.zoom_strength = {2.0: 1.1}; level_strengths(m, 3)
    (1.1, 1.1, 1.1)
    >>> m.level_strength = {1: 1.1, 2: 0.8}; level_strengths(m, 3)
    (1.1, 0.8, 0.8)
    """
    table = getattr(model, "level_strength", None)
    if not table:
        return (model_strength(model, 2.0),) * levels
    known = sorted((int(k), float(v)) for k, v in table.items())
    out = []
    for level in range(1, levels + 1):
        below = [v for k, v in known if k <= level]
        out.append(below[-1] if below else known[0][1])
    return tuple(out)


def encode_table(table: Mapping[float, float]) -> str:
    """Table -> the JSON string stored in the weights' metadata."""
    return json.dumps({f"{float(k):g}": round(float(v), 4) for k, v in sorted(table.items())})


def decode_table(text: str | None, key: str = METADATA_KEY) -> dict[float, float] | None:
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
        fallback = "MSSNet's output is used as is" if key == METADATA_KEY else "α(2) is used at every level"
        warnings.warn(f"ignoring malformed {key!r} metadata ({exc}); {fallback}", stacklevel=2)
        return None
    return table


def decode_levels(text: str | None) -> dict[int, float] | None:
    """The level table's metadata string -> {level: α} (levels 1, 2, …), or None (warned when malformed)."""
    table = decode_table(text, LEVEL_KEY)
    if table is None:
        return None
    if not all(k == int(k) and k >= 1 for k in table):
        warnings.warn(f"ignoring malformed {LEVEL_KEY!r} metadata (levels must be whole numbers >= 1); "
                      "α(2) is used at every level", stacklevel=2)
        return None
    return {int(k): v for k, v in table.items()}


def format_levels(table: Mapping[int, float] | None) -> str:
    """'level 1 1.05, level 2 0.78' — or 'none (α(2) at every level)'."""
    if not table:
        return "none (α(2) at every level)"
    return ", ".join(f"level {k} {v:.2f}" for k, v in sorted(table.items()))


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
