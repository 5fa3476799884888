"""Antialiased resampling from a pyramid level to a view, and the 2× bicubic enlargement between levels.

* :func:`resample_taps` / :func:`downsample` — the antialiased filters :data:`FILTERS` (bicubic as
  ``F.interpolate(antialias=True)``, area as ``cv2.INTER_AREA``, Lanczos-3 as PIL); a view downsamples
  its level with :data:`DEFAULT_FILTER`;
* :func:`enlarge_2x` — a whole level's clipped 2× bicubic enlargement (OpenCV's): MSSNet's input for
  the next level, the same pixels a tile's pass computes over its own box.

Images are (H, W, 3) float32 in [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["FILTERS", "DEFAULT_FILTER", "resample_taps", "downsample", "enlarge_2x"]


#: Antialiased downsampling filters from a level to a view.
FILTERS = ("bicubic", "area", "lanczos")
#: Best of :data:`FILTERS` on held-out photographs below ×2; above ×2 the three are nearly equal
#: (``bench/pyramid_quality.py``; bench/README.md).
DEFAULT_FILTER = "lanczos"


def _kernel(name: str, t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    if name == "bicubic":  # Keys a = -0.5, as PyTorch's and PIL's antialiased bicubic
        a = -0.5
        return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))
    return np.where(t < 3, np.sinc(t) * np.sinc(t / 3), 0.0)  # Lanczos-3


def resample_taps(n_out: int, start: float, scale: float, n_in: int, filter: str = DEFAULT_FILTER
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Taps of a 1-D antialiased resampling: ``(idx, w)``, both ``(n_out, K)``, w rows summing to 1.

    Output pixel u shows the input interval centred at ``(start + u + 0.5)·scale`` (input
    pixel i covers [i, i+1); ``scale`` input px per output px). Bicubic and Lanczos kernels are
    stretched by ``max(scale, 1)``; ``"area"`` weighs each input pixel by its overlap with the
    output pixel's footprint. Taps outside the input are dropped and the rest renormalised
    (as PyTorch and PIL do); centres outside the input are clamped to its edge.
    """
    if filter not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}; got {filter!r}")
    centre = np.clip((np.arange(n_out, dtype=np.float64) + start + 0.5) * scale, 0.0, float(n_in))
    if filter == "area":
        lo, hi = centre - scale / 2, centre + scale / 2
        idx = np.floor(lo)[:, None].astype(np.int64) + np.arange(math.ceil(scale) + 2)
        w = np.clip(np.minimum(hi[:, None], idx + 1) - np.maximum(lo[:, None], idx), 0.0, None)
    else:
        stretch = max(scale, 1.0)
        radius = (2 if filter == "bicubic" else 3) * stretch
        idx = np.floor(centre - radius)[:, None].astype(np.int64) + np.arange(math.ceil(2 * radius) + 2)
        w = _kernel(filter, (idx + 0.5 - centre[:, None]) / stretch)
    w = np.where((idx >= 0) & (idx < n_in), w, 0.0)
    w /= w.sum(axis=1, keepdims=True)
    keep = np.flatnonzero(np.abs(w).max(axis=0) > 0)  # drop columns that are zero for every output
    return np.clip(idx[:, keep], 0, n_in - 1), w[:, keep].astype(np.float32)


def _apply_taps(x: np.ndarray, rows: tuple[np.ndarray, np.ndarray], cols: tuple[np.ndarray, np.ndarray]
                ) -> np.ndarray:
    """x: (h, w, 3) -> (len(rows), len(cols), 3): separable sum over the taps, float32."""
    (iy, wy), (ix, wx) = rows, cols
    t = np.zeros((iy.shape[0], x.shape[1], x.shape[2]), np.float32)  # (out_h, w, 3)
    for k in range(iy.shape[1]):
        t += wy[:, k, None, None] * x[iy[:, k]]
    out = np.zeros((iy.shape[0], ix.shape[0], x.shape[2]), np.float32)  # (out_h, out_w, 3)
    for k in range(ix.shape[1]):
        out += wx[None, :, k, None] * t[:, ix[:, k]]
    return out


def downsample(image: np.ndarray, size: tuple[int, int], filter: str = DEFAULT_FILTER) -> np.ndarray:
    """The whole ``image`` (H, W, 3) resampled to ``size = (w, h)`` with an antialiased filter, clipped."""
    h_in, w_in = image.shape[:2]
    w, h = size
    rows = resample_taps(h, 0.0, h_in / h, h_in, filter)
    cols = resample_taps(w, 0.0, w_in / w, w_in, filter)
    return np.clip(_apply_taps(image.astype(np.float32, copy=False), rows, cols), 0.0, 1.0)


def _enlarge(src: np.ndarray, origin: tuple[int, int], src_size: tuple[int, int],
             box: tuple[int, int, int, int]) -> np.ndarray:
    """The 2× bicubic enlargement of level k−1 over ``box = (xa, ya, xb, yb)`` (level-k px, inside
    the level) -> (yb−ya, xb−xa, 3) float32 clipped: MSSNet's input for a level-k pass.

    ``src``: a region of level k−1 (of size ``src_size = (W, H)``) whose top-left pixel is
    ``origin = (x, y)``; it must hold the level-(k−1) pixels under the box plus 2 on each side.
    """
    xa, ya, xb, yb = box
    w_prev, h_prev = src_size
    sa, sb = max(xa // 2 - 2, 0), min(xb // 2 + 2, w_prev)  # bicubic support, level-(k−1) px
    ta, tb = max(ya // 2 - 2, 0), min(yb // 2 + 2, h_prev)
    ox, oy = origin
    assert ox <= sa and oy <= ta and sb - ox <= src.shape[1] and tb - oy <= src.shape[0], "region too small"
    crop = np.ascontiguousarray(src[ta - oy : tb - oy, sa - ox : sb - ox])
    up = cv2.resize(crop, (2 * (sb - sa), 2 * (tb - ta)), interpolation=cv2.INTER_CUBIC)
    return np.clip(up[ya - 2 * ta : yb - 2 * ta, xa - 2 * sa : xb - 2 * sa], 0.0, 1.0)  # (yb−ya, xb−xa, 3)


def enlarge_2x(level: np.ndarray) -> np.ndarray:
    """A whole level (h, w, 3) -> its clipped 2× bicubic enlargement (2h, 2w, 3) float32: MSSNet's
    input for the next level, as every tile's pass computes it."""
    h, w = level.shape[:2]
    return _enlarge(np.ascontiguousarray(level, dtype=np.float32), (0, 0), (w, h), (0, 0, 2 * w, 2 * h))
