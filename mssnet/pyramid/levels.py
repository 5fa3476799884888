"""The pyramid's rule for whole levels: which level a zoom reads, each level's strength, and the whole
image zoomed by the rule.

Level 0 is the image; level k (1…:data:`MAX_LEVEL`) is the image enlarged 2^k times and sharpened,
built from level k−1 by a 2× bicubic enlargement (OpenCV's) and MSSNet applied with the strength
calibrated for that level (:mod:`mssnet.model.strength`)::

    level k = clip(x + α_k·(MSSNet(x) − x)),   x = clip(bicubic_2×(level k−1))

(from level 2 on, ``x`` enlarges an already sharpened level, so α_k is calibrated for it).

* :func:`pyramid_level` — the level a zoom is served from, ⌈log2 zoom⌉;
* :func:`pyramid_zoom_image` — the whole image at any zoom by the same rule as
  :class:`~mssnet.pyramid.pyramid.ZoomPyramid`'s views, tile by tile (command line, download,
  benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..image.checks import MAX_FACTOR, check_number, check_rgb_float, check_zoom
from ..model.strength import LIMITS, level_strengths
from ..runtime.inference import Progress, resolve_precision
from .resampling import DEFAULT_FILTER, FILTERS, downsample
from .tiles import DEFAULT_MARGIN, DEFAULT_TILE, _check_grid, _grid, _step_tile, _tile_boxes

__all__ = ["MAX_LEVEL", "pyramid_level", "pyramid_zoom_image"]


#: Highest level: 2³ = 8, the largest zoom.
MAX_LEVEL = 3


def _check_image(image: object) -> np.ndarray:
    """(H, W, 3) float in [0, 1] (small overshoot clipped) -> C-contiguous float32 copy."""
    check_rgb_float(image)
    lo, hi = float(image.min()), float(image.max())
    if lo < -0.5 or hi > 1.5:
        raise ValueError(f"image values must be in [0, 1]; got [{lo:g}, {hi:g}]")
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)


def _strengths(model: nn.Module, strength: float | None) -> tuple[float, ...]:
    """α of levels 1…:data:`MAX_LEVEL`: ``strength`` at every level when given, else the model's
    calibrated per-level strengths (:func:`mssnet.model.strength.level_strengths`)."""
    if strength is None:
        return level_strengths(model, MAX_LEVEL)
    strength = float(strength)
    lo, hi = LIMITS
    if not lo <= strength <= hi:  # also refuses NaN
        raise ValueError(f"strength must be between {lo:g} and {hi:g}; got {strength}")
    return (strength,) * MAX_LEVEL


def pyramid_level(zoom: float) -> int:
    """The level a zoom is served from: ⌈log2 zoom⌉, 0 up to ×1.

    >>> [pyramid_level(z) for z in (1.0, 1.1, 2.0, 2.5, 4.0, 8.0)]
    [0, 1, 1, 2, 2, 3]
    """
    zoom = check_number(zoom, "zoom", 0, low_open=True)
    return max(0, math.ceil(math.log2(zoom) - 1e-9))


def _grow_level(model: nn.Module, prev: np.ndarray, tile: int, margin: int, alpha: float, precision: str,
                report: Callable[[], None]) -> np.ndarray:
    """The whole level k from the whole level k−1 (H, W, 3) -> (2H, 2W, 3), tile by tile."""
    h, w = prev.shape[:2]
    out = np.empty((2 * h, 2 * w, 3), np.float32)
    for _, _, (x0, y0, x1, y1) in _tile_boxes(2 * w, 2 * h, tile):
        out[y0:y1, x0:x1] = _step_tile(model, prev, (0, 0), (w, h), (x0, y0, x1, y1), margin, alpha, precision)
        report()
    return out


def pyramid_zoom_image(
    model: nn.Module,
    image: np.ndarray,
    factor: float,
    size: tuple[int, int] | None = None,
    *,
    tile: int = DEFAULT_TILE,
    margin: int = DEFAULT_MARGIN,
    filter: str = DEFAULT_FILTER,
    precision: str = "auto",
    strength: float | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The whole ``image`` (H, W, 3) float zoomed ``factor`` times by the pyramid rule.

    Sharpened to level ⌈log2 factor⌉ (tile by tile, exactly as :class:`~mssnet.pyramid.pyramid.ZoomPyramid`), then
    resampled with the antialiased ``filter`` to ``(round(H·f), round(W·f), 3)``, or to
    ``size = (w, h)``. ``factor`` in (0, 8]; up to ×1 no network runs. ``strength``: α of
    every 2× step (None: the calibrated α of each level). ``progress(done, total)`` counts
    tiles. -> float32 in [0, 1].
    """
    image = _check_image(image)
    factor = check_zoom(factor, 0, MAX_FACTOR, low_open=True)
    _check_grid(tile, margin)
    alphas = _strengths(model, strength)
    if filter not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}; got {filter!r}")
    height, width = image.shape[:2]
    out_w, out_h = size if size is not None else (max(1, round(width * factor)), max(1, round(height * factor)))
    if int(out_w) < 1 or int(out_h) < 1:
        raise ValueError(f"size must be (w, h) >= 1 px; got {size}")
    levels = pyramid_level(factor)
    precision = resolve_precision(precision, next(model.parameters(), torch.empty(0)).device)
    total = sum(_grid(width << k, tile) * _grid(height << k, tile) for k in range(1, levels + 1))
    done = 0

    def report() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    x = image
    for level in range(levels):
        x = _grow_level(model, x, tile, margin, alphas[level], precision, report)
    if x.shape[:2] == (int(out_h), int(out_w)):
        return x
    return downsample(x, (int(out_w), int(out_h)), filter)
