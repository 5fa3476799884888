"""Zoom: the bicubic enlargement every image viewer performs.

Two uses:

* ``zoom(image, factor)`` enlarges the whole image to ``round(W·f) × round(H·f)``
  (the command line's ``zoom``);
* ``zoom(image, factor, center, viewport)`` returns what a viewer shows in a
  ``viewport = (w, h)`` window when it is zoomed ``factor`` times around ``center``:
  the source region of size ``viewport / factor`` enlarged with bicubic
  interpolation. The region is clamped so it stays inside the image, and the
  continuous source rectangle is returned so a caller can draw it.

Bicubic here is OpenCV's (Keys kernel, a = -0.75, half-pixel centres), the same
kernel ``torch.nn.functional.interpolate(mode="bicubic")`` uses for the training
degradation, so the model is trained on exactly the blur it is asked to undo.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from .checks import MAX_FACTOR, MIN_FACTOR, check_number, check_rgb_float, check_viewport, check_zoom

__all__ = ["ZoomResult", "zoom", "resample", "source_rect", "check_rgb_float", "MIN_FACTOR", "MAX_FACTOR"]


class ZoomResult(NamedTuple):
    """``view``: the enlarged image, same dtype and channel layout as the input.
    ``rect``: the source rectangle ``(x0, y0, w, h)`` in input pixels (floats)."""

    view: np.ndarray
    rect: tuple[float, float, float, float]


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array; got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 1|3|4); got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must be at least 1×1 px; got {image.shape[1]}×{image.shape[0]}")
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise TypeError(f"image dtype must be uint8, uint16, float32 or float64; got {image.dtype}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")


def source_rect(
    image_size: tuple[int, int],
    factor: float,
    viewport: tuple[int, int],
    center: tuple[float, float] | None = None,
) -> tuple[float, float, float, float]:
    """Source rectangle ``(x0, y0, w, h)`` seen through ``viewport`` at ``factor``.

    image_size and viewport are ``(width, height)``; center is ``(x, y)`` in input
    pixel coordinates (pixel centres at integer + 0.5; default: image centre).
    The rectangle is ``viewport / factor`` large, clamped to the image; if it is
    larger than the image along an axis it is centred on the image there.
    """
    width, height = image_size
    vw, vh = viewport
    rw, rh = vw / factor, vh / factor
    cx, cy = center if center is not None else (width / 2, height / 2)

    def clamp(c: float, r: float, size: int) -> float:
        if r >= size:
            return (size - r) / 2
        return float(min(max(c - r / 2, 0.0), size - r))

    return clamp(cx, rw, width), clamp(cy, rh, height), rw, rh


def resample(
    image: np.ndarray, x0: float, y0: float, factor: float, size: tuple[int, int]
) -> np.ndarray:
    """Bicubic view of ``image`` (H, W[, C]) starting at source point ``(x0, y0)``.

    Output pixel ``(u, v)`` of the ``size = (w, h)`` result shows the source point
    ``(x0 + (u + 0.5)/factor, y0 + (v + 0.5)/factor)`` (pixel centres at integer + 0.5);
    outside the image the border pixels repeat. -> (h, w[, C]), the input's dtype.
    """
    # OpenCV's inverse map works on pixel indices: x_src = u/f + (x0 + 0.5/f - 0.5)
    inv = np.array([[1 / factor, 0, x0 + 0.5 / factor - 0.5],
                    [0, 1 / factor, y0 + 0.5 / factor - 0.5]], dtype=np.float64)
    return cv2.warpAffine(image, inv, (int(size[0]), int(size[1])), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def zoom(
    image: np.ndarray,
    factor: float,
    center: tuple[float, float] | None = None,
    viewport: tuple[int, int] | None = None,
) -> ZoomResult:
    """Enlarge ``image`` (H, W[, C]) by ``factor`` with bicubic interpolation.

    Without ``viewport``: the whole image, output ``(round(H·f), round(W·f)[, C])``,
    any ``factor > 0``. With ``viewport = (w, h)``: output ``(h, w[, C])`` showing the
    region around ``center`` (``(x, y)`` input pixels); ``factor`` in [1, 8].
    Floats are not clipped (bicubic overshoots slightly, as in every viewer);
    integer images are saturated by OpenCV.
    """
    _check_image(image)
    factor = check_number(factor, "zoom", 0, low_open=True)
    height, width = image.shape[:2]
    squeeze = image.ndim == 3 and image.shape[2] == 1
    src = image[..., 0] if squeeze else image

    if viewport is None:
        out_w, out_h = max(1, round(width * factor)), max(1, round(height * factor))
        view = cv2.resize(src, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
        rect = (0.0, 0.0, float(width), float(height))
    else:
        check_zoom(factor)
        vw, vh = check_viewport(viewport)
        rect = source_rect((width, height), factor, (vw, vh), center)
        view = resample(src, rect[0], rect[1], factor, (vw, vh))
    if squeeze:
        view = view[..., None]
    return ZoomResult(view, rect)
