"""How spread out an attribution is: numbers only, on maps from :mod:`explain.attribution`.

* :func:`gini` - Gini coefficient of non-negative values;
* :func:`diffusion_index` - LAM's Diffusion Index (Gu & Dong, CVPR 2021), ``(1 - Gini) * 100``;
* :func:`attribution_shares` - the shares inside a window and near it.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from .objectives import Window, check_window

__all__ = ["attribution_shares", "diffusion_index", "gini"]

def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal; -> 1: all in one)."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError("gini needs at least one value")
    if v[0] < 0:
        raise ValueError(f"gini needs non-negative values; got minimum {v[0]}")
    v = v + 1e-7  # as in LAM: an all-zero map counts as uniform
    i = np.arange(1, v.size + 1)
    return float(np.sum((2 * i - v.size - 1) * v) / (v.size * np.sum(v)))


def diffusion_index(attr: Tensor | np.ndarray) -> float | np.ndarray:
    """LAM's Diffusion Index ``(1 - Gini) * 100`` of an attribution map, in [0, 100].

    attr: (C, H, W) or (H, W) -> float; (B, C, H, W) -> (B,) array. As in LAM's
    code, the map is ``|attr summed over channels|`` normalised by its maximum.
    Near 0: the attribution sits on a few pixels; 100: spread evenly over the image
    (the network looked far from the window).
    """
    if isinstance(attr, Tensor):
        attr = attr.detach().double().cpu().numpy()
    if not isinstance(attr, np.ndarray):
        raise TypeError(f"attr must be a tensor or array; got {type(attr).__name__}")
    if attr.ndim == 4:
        return np.array([diffusion_index(a) for a in attr])
    if attr.ndim == 3:
        attr = attr.sum(0)
    if attr.ndim != 2:
        raise ValueError(f"attr must be (B, C, H, W), (C, H, W) or (H, W); got {attr.shape}")
    if not np.all(np.isfinite(attr)):
        raise ValueError("attr contains NaN or inf")
    mag = np.abs(attr)
    peak = mag.max()
    return (1.0 - gini(mag / peak if peak > 0 else mag)) * 100.0


def attribution_shares(attr: Tensor | np.ndarray, window: Window) -> tuple[float, float]:
    """Where the influence sits: shares (0..1) of ``|attr summed over channels|`` inside the
    ``window = (x0, y0, w, h)`` and inside the window grown by its size on every side.

    attr: (C, H, W) or (H, W). An all-zero map gives (0, 0)."""
    if isinstance(attr, Tensor):
        attr = attr.detach().double().cpu().numpy()
    attr = np.asarray(attr, dtype=np.float64)
    if attr.ndim == 3:
        attr = attr.sum(0)
    if attr.ndim != 2:
        raise ValueError(f"attr must be (C, H, W) or (H, W); got {attr.shape}")
    x0, y0, w, h = check_window(window)
    mag = np.abs(attr)
    total = float(mag.sum())
    if total == 0:
        return 0.0, 0.0
    inside = float(mag[y0:y0 + h, x0:x0 + w].sum())
    near = float(mag[max(y0 - h, 0):y0 + 2 * h, max(x0 - w, 0):x0 + 2 * w].sum())
    return inside / total, near / total
