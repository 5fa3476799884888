"""Gain over bicubic on held-out images, zoomed the way the command line zooms them.

For an image and a zoom s: crop so an integer s divides both sides, shrink by s (antialiased
bicubic, 8-bit), zoom back to the original size and compare with the original on the BT.601
Y channel with a border shave of ⌈s⌉ px (:func:`mssnet.image.metrics.psnr_y`). Bicubic is plain
bicubic enlargement; MSSNet is the zoom pyramid (:func:`mssnet.pyramid.levels.pyramid_zoom_image`)
at each level's calibrated strength — what ``python -m mssnet zoom`` does. ``bench/quality.py``
builds its tables on the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..image.metrics import psnr_y
from ..pyramid.levels import pyramid_zoom_image
from .degrade import enlarge, quantize8, shrink

__all__ = ["SCALES", "bicubic_zoom", "crop_to_multiple", "degrade_pair", "evaluate", "gain_table", "holdout_gains",
           "low_res", "shave"]

#: The zooms a weights file is judged at (a new file must beat the bundled one at every one).
SCALES = (1.25, 1.5, 2.0, 2.5, 3.0, 4.0)


def crop_to_multiple(img: np.ndarray, s: float) -> np.ndarray:
    """Crop so both sides are multiples of an integer ``s`` (other scales: unchanged)."""
    if s != int(s):
        return img
    s = int(s)
    h, w = img.shape[:2]
    return img[: h - h % s, : w - w % s]


def low_res(hr: np.ndarray, s: float) -> np.ndarray:
    """(H, W, 3) float32 -> (round(H/s), round(W/s), 3), antialiased bicubic, 8-bit quantised."""
    x = torch.from_numpy(np.ascontiguousarray(hr, np.float32)).permute(2, 0, 1)[None]
    lr = shrink(x, s)[0].permute(1, 2, 0).numpy()
    return np.round(lr * 255) / 255


def bicubic_zoom(lr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) -> (H, W, 3) with ``size = (W, H)``: plain bicubic, clamped, 8-bit quantised."""
    x = torch.from_numpy(np.ascontiguousarray(lr, np.float32)).permute(2, 0, 1)[None]
    out = enlarge(x, (size[1], size[0]))[0].permute(1, 2, 0).numpy()
    return np.round(out * 255) / 255


def degrade_pair(image: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(H, W, 3) float in [0, 1] -> (sharp crop, its low-resolution version, size (W, H) to enlarge to)."""
    hr = crop_to_multiple(image, s)
    return hr, low_res(hr, s), (hr.shape[1], hr.shape[0])


def shave(s: float) -> int:
    """Border pixels left out of a score at zoom ``s``."""
    return math.ceil(s)


def holdout_gains(models: Mapping[str, nn.Module], images: Sequence[np.ndarray], scales: Sequence[float] = SCALES,
                  precision: str = "auto") -> dict[str, dict[float, float]]:
    """Mean Y-PSNR gain over bicubic (dB) per model and zoom: {label: {scale: gain}}.

    images: (H, W, 3) float in [0, 1] or uint8; each model zooms on its own device at
    ``precision``. Raises ValueError on no images or a zoom below 1.
    """
    if not images:
        raise ValueError("scoring needs at least one held-out image")
    if any(not s >= 1 for s in scales):
        raise ValueError(f"zooms must be 1 or more; got {list(scales)}")
    images = [im.astype(np.float32) / 255 if im.dtype == np.uint8 else im for im in images]
    gains: dict[str, dict[float, float]] = {label: {} for label in models}
    for s in scales:
        per_model: dict[str, list[float]] = {label: [] for label in models}
        for image in images:
            hr, lr, size = degrade_pair(image, s)
            base = psnr_y(bicubic_zoom(lr, size), hr, shave(s))
            for label, model in models.items():
                out = pyramid_zoom_image(model, lr.astype(np.float32), s, size=size, precision=precision)
                per_model[label].append(psnr_y(out, hr, shave(s)) - base)
        for label, values in per_model.items():
            gains[label][float(s)] = float(np.mean(values))
    return gains


@torch.inference_mode()
def evaluate(model: nn.Module, images: list[np.ndarray], scales=(2, 3, 4), crop: int = 256) -> dict[str, float]:
    """Mean Y-PSNR gain over bicubic on centre crops of held-out images, per scale, with the
    zoom done the way the app and the command line do it (the zoom pyramid, :mod:`mssnet.pyramid.levels`)
    but with the network's output used as is (strength 1: the calibration comes at export)."""
    model.eval()
    result = {}
    for s in scales:
        gains = []
        for im in images:
            h, w = im.shape[:2]
            c = min(crop, h, w) // (s * 16) * (s * 16)
            y0, x0 = (h - c) // 2, (w - c) // 2
            hr = torch.from_numpy(im[y0 : y0 + c, x0 : x0 + c].astype(np.float32) / 255)
            hr = hr.permute(2, 0, 1)[None]  # (1, 3, c, c)
            small = quantize8(shrink(hr, s))
            bic = enlarge(small, (c, c))
            small = np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())
            out = pyramid_zoom_image(model, small, s, size=(c, c), precision="fp32", strength=1.0)
            out = torch.from_numpy(out).permute(2, 0, 1)[None]  # (1, 3, c, c)
            gains.append(psnr_y(out, hr, s) - psnr_y(bic, hr, s))
        result[f"gain_x{s}"] = float(np.mean(gains))
    return result


def gain_table(gains: Mapping[str, Mapping[float, float]]) -> str:
    """{label: {scale: gain}} -> a Markdown table, one row per model, one column per zoom."""
    scales = sorted({s for row in gains.values() for s in row})
    lines = ["| weights | " + " | ".join(f"×{s:g}" for s in scales) + " |", "|---" * (len(scales) + 1) + "|"]
    for label, row in gains.items():
        lines.append(f"| {label} | " + " | ".join(f"{row[s]:+.3f}" if s in row else "" for s in scales) + " |")
    return "\n".join(lines)
