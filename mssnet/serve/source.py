"""A loaded image and where it opens: the studio's images without a user interface.

* :class:`Source` — a loaded image (float RGB, alpha, a small overview), made by :func:`load_source`;
* :func:`opening_view` — the (zoom, centre) a newly loaded image opens at: :func:`opening_zoom` and the view
  with the strongest edges (:func:`strongest_edges_center`);
* :func:`draw_box` — a rectangle outlined on a uint8 image.

Images here are (H, W, 3) float32 RGB in [0, 1] (NumPy, as :mod:`mssnet.pyramid`).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..image.checks import MAX_FACTOR, MIN_FACTOR
from ..image.io import load_image, to_uint8

__all__ = [
    "MIN_OPENING_ZOOM", "Source", "draw_box", "load_source", "opening_view", "opening_zoom",
    "strongest_edges_center",
]


#: Longest side of the overview image.
OVERVIEW_SIDE = 512
#: Smallest zoom a loaded image opens at: every pixel becomes 2×2, the first sharpened pyramid level.
MIN_OPENING_ZOOM = 2.0
#: Zoom slider step (the opening zoom is a multiple of it).
ZOOM_STEP = 0.05


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded image. rgb: (H, W, 3) float32 in [0, 1]; overview: small uint8 copy (where the opening view
    looks for edges)."""

    key: str  # hash of the pixels: the same image uploaded twice shares its cached views
    name: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    mode: str
    overview: np.ndarray
    overview_scale: float  # overview pixels per source pixel

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def middle(self) -> tuple[float, float]:
        """The image's centre (x, y) in source pixels."""
        return self.size[0] / 2, self.size[1] / 2

    def center_at(self, x: float | None, y: float | None) -> tuple[float, float] | None:
        """A zoom centre from optional coordinates (source px): both None -> None (the caller's default
        centre); one None -> the image's middle on that axis."""
        if x is None and y is None:
            return None
        return self.middle[0] if x is None else float(x), self.middle[1] if y is None else float(y)


def _overview(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 copy of the image for the overview, longest side about OVERVIEW_SIDE."""
    h, w = rgb.shape[:2]
    scale = OVERVIEW_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST  # tiny images: show the pixels
    return to_uint8(cv2.resize(rgb, size, interpolation=interp)), size[0] / w


def load_source(file: str | os.PathLike | bytes, name: str | None = None) -> Source:
    """An image file (path or encoded bytes) -> :class:`Source`. Bad files raise ``ImageError``."""
    img = load_image(file)
    digest = hashlib.sha1(np.ascontiguousarray(img.rgb).data)  # no copy of a large image
    if img.alpha is not None:
        digest.update(np.ascontiguousarray(img.alpha).data)
    if name is None:
        name = "pasted image" if isinstance(file, bytes) else Path(file).name
    overview, scale = _overview(img.rgb)
    return Source(digest.hexdigest()[:16], name, img.rgb, img.alpha, img.bit_depth, img.mode, overview, scale)


def opening_zoom(size: tuple[int, int], viewport: int) -> float:
    """The zoom a newly loaded image opens at: the smallest that shows real enlargement
    (:data:`MIN_OPENING_ZOOM`, the first sharpened level, whatever the photo's size), or, for an
    image smaller than half the viewport, the largest zoom (≤ ×8) at which it still fits the view."""
    fit = int(viewport) / max(size)
    fit = math.floor(fit / ZOOM_STEP + 1e-9) * ZOOM_STEP  # on the slider's steps, never past the fit
    return round(min(MAX_FACTOR, max(MIN_OPENING_ZOOM, fit)), 2)


def strongest_edges_center(source: Source, zoom: float, viewport: int) -> tuple[float, float]:
    """Centre (source px) of the view with the most edge energy: the Sobel magnitude of the overview's
    luminance summed over every view-sized window inside the image, the largest sum wins. Cheap for any
    image (the overview has at most :data:`OVERVIEW_SIDE` px a side); a flat image gives its centre."""
    gray = cv2.cvtColor(source.overview, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))  # (h, w)
    h, w = magnitude.shape
    side = int(viewport) / max(float(zoom), MIN_FACTOR) * source.overview_scale  # the view, overview px
    kw, kh = (max(1, min(n, round(side))) for n in (w, h))
    s = cv2.integral(magnitude, sdepth=cv2.CV_64F)  # (h + 1, w + 1)
    sums = s[kh:, kw:] - s[:-kh, kw:] - s[kh:, :-kw] + s[:-kh, :-kw]  # (h - kh + 1, w - kw + 1): window at (y, x)
    if sums.max() <= 1e-6 * kw * kh:
        return source.middle
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    scale = source.overview_scale
    return float((x + kw / 2) / scale), float((y + kh / 2) / scale)


def opening_view(source: Source, viewport: int, zoom: float | None = None,
                 center: tuple[float, float] | None = None) -> tuple[float, tuple[float, float]]:
    """(zoom, centre) a newly loaded image opens at: ``zoom`` None -> :func:`opening_zoom`; ``center``
    None -> the view with the strongest edges at that zoom (:func:`strongest_edges_center`)."""
    zoom = opening_zoom(source.size, viewport) if zoom is None else float(zoom)
    return zoom, strongest_edges_center(source, zoom, viewport) if center is None else center


def draw_box(image: np.ndarray, box: tuple[float, float, float, float], color=(255, 200, 0)) -> np.ndarray:
    """uint8 image with the rectangle ``(x0, y0, w, h)`` (image pixels) outlined twice (dark, then bright)."""
    out = image.copy()
    x0, y0, w, h = box
    p0 = (int(round(x0)), int(round(y0)))
    p1 = (int(round(x0 + w)) - 1, int(round(y0 + h)) - 1)
    cv2.rectangle(out, p0, p1, (0, 0, 0), 3, lineType=cv2.LINE_AA)
    cv2.rectangle(out, p0, p1, color, 1, lineType=cv2.LINE_AA)
    return out
