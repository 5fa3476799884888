"""Edge and change maps: where the image has edges, and where MSSNet changed them.

Every map is computed on the BT.601 luminance ``Y = 0.299 R + 0.587 G + 0.114 B``
with a 3x3 Sobel operator normalised by 1/8, so a linear ramp that rises by ``s``
per pixel has edge magnitude ``s`` (units: intensity change per pixel, image in
[0, 1]). Borders use replicate padding, so the frame of the image is not an edge.
The definition is :func:`mssnet.image.metrics.edge_strength_map` (and its :func:`~mssnet.image.metrics.luma`).

Two kinds of input are accepted, and the output follows the input:

* torch tensors ``(B, 3, H, W)`` or ``(3, H, W)`` (also one channel, already
  luminance), float, computed differentiably (for attribution) with the same luma weights
  and kernel -> ``(B, 1, H, W)`` or ``(1, H, W)``;
* numpy arrays ``(H, W, 3)`` or ``(H, W)`` (float in [0, 1], or uint8 which is
  scaled by 1/255): :func:`mssnet.image.metrics.edge_strength_map` -> ``(H, W)`` float32.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mssnet.image.metrics import BT601, SOBEL_X, edge_strength_map, luma

__all__ = [
    "BT601",
    "edge_gain",
    "edge_magnitude",
    "edge_mask",
    "luminance",
    "mean_edge_energy",
    "sharpening_map",
    "strongest_edge_window",
]

Image = Tensor | np.ndarray



# --------------------------------------------------------------------------- checks
def _check_tensor(image: Tensor, name: str) -> Tensor:
    """Return ``image`` as (B, C, H, W), C in {1, 3}; raise on anything else."""
    if not torch.is_floating_point(image):
        raise TypeError(f"{name} must be a floating-point tensor; got dtype {image.dtype}")
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[1] not in (1, 3):
        raise ValueError(f"{name} must be (B, 3, H, W), (3, H, W) or one-channel; got {tuple(image.shape)}")
    if image.shape[-2] < 2 or image.shape[-1] < 2:
        raise ValueError(f"{name} must be at least 2x2 pixels; got {tuple(image.shape[-2:])}")
    return image


def _check_array(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as float32 (H, W, C) or (H, W); uint8 is scaled to [0, 1]."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"{name} must be (H, W, 3) or (H, W); got {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"{name} must be at least 2x2 pixels; got {image.shape[:2]}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be float in [0, 1] or uint8; got dtype {image.dtype}")
    return image.astype(np.float32, copy=False)


def _check_image(image: object, name: str) -> Image:
    if isinstance(image, Tensor):
        return _check_tensor(image, name)
    if isinstance(image, np.ndarray):
        return _check_array(image, name)
    raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray; got {type(image).__name__}")


def _check_pair(before: object, after: object) -> tuple[Image, Image]:
    if type(before) is not type(after):
        raise TypeError(
            f"before and after must be the same kind; got {type(before).__name__} and {type(after).__name__}"
        )
    if before.shape != after.shape:  # type: ignore[union-attr]
        raise ValueError(
            f"before and after must have the same shape; got {tuple(before.shape)} and {tuple(after.shape)}"  # type: ignore[union-attr]
        )
    return before, after  # type: ignore[return-value]


# ----------------------------------------------------------------------- luminance
def luminance(image: Image) -> Image:
    """BT.601 luminance.

    image: (B, 3, H, W) / (3, H, W) tensor -> (B, 1, H, W) / (1, H, W);
    (H, W, 3) array -> (H, W) float32. One-channel inputs are returned as they are.
    """
    squeeze = isinstance(image, Tensor) and image.ndim == 3
    image = _check_image(image, "image")
    if isinstance(image, Tensor):
        if image.shape[1] == 3:
            w = image.new_tensor(BT601).view(1, 3, 1, 1)
            image = (image * w).sum(1, keepdim=True)  # (B, 1, H, W)
        return image[0] if squeeze else image
    return luma(image)  # (H, W)


# --------------------------------------------------------------------------- edges
def edge_magnitude(image: Image, eps: float = 1e-6) -> Image:
    """Sobel gradient magnitude of the BT.601 luminance (replicate borders).

    image: (B, 3, H, W) or (3, H, W) float tensor -> (B, 1, H, W) or (1, H, W),
    differentiable; (H, W, 3) or (H, W) array -> (H, W) float32.

    The magnitude is ``sqrt(gx^2 + gy^2 + eps^2) - eps``: 0 on flat regions, within
    ``eps`` of the exact magnitude elsewhere, and with ``eps > 0`` smooth everywhere
    (its gradient stays finite where the image is flat).
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0; got {eps}")
    squeeze = isinstance(image, Tensor) and image.ndim == 3
    y = luminance(image)
    if isinstance(y, Tensor):
        y = y.unsqueeze(0) if squeeze else y  # (B, 1, H, W)
        k = torch.as_tensor(np.stack([SOBEL_X, SOBEL_X.T]), dtype=y.dtype, device=y.device)
        g = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), k.unsqueeze(1))  # (B, 2, H, W)
        mag = torch.sqrt((g * g).sum(1, keepdim=True) + eps * eps) - eps  # (B, 1, H, W)
        return mag[0] if squeeze else mag
    mag = edge_strength_map(y)  # (H, W)
    if eps == 0:
        return mag
    return np.sqrt(mag * mag + np.float32(eps * eps)) - np.float32(eps)


def edge_gain(before: Image, after: Image) -> Image:
    """Signed edge gain ``edge_magnitude(after) - edge_magnitude(before)``.

    Positive where the sharpened image (``after``) has stronger edges than the
    bicubic one (``before``): the edges the network sharpened. Shapes as in
    :func:`edge_magnitude`; both inputs must be the same kind and shape.
    """
    before, after = _check_pair(before, after)
    return edge_magnitude(after) - edge_magnitude(before)


def sharpening_map(before: Image, after: Image) -> Image:
    """Per-pixel size of the change: L2 norm over RGB of ``after - before``.

    (B, 3, H, W) tensors -> (B, 1, H, W); (3, H, W) -> (1, H, W);
    (H, W, 3) arrays -> (H, W) float32 (for (H, W) arrays, the absolute difference).
    """
    before, after = _check_pair(before, after)
    if isinstance(before, Tensor):
        _check_tensor(before, "before")
        _check_tensor(after, "after")
        dim = 0 if before.ndim == 3 else 1
        return torch.linalg.vector_norm(after - before, dim=dim, keepdim=True)
    diff = _check_array(after, "after") - _check_array(before, "before")
    if diff.ndim == 2:
        return np.abs(diff)
    return np.sqrt(np.einsum("hwc,hwc->hw", diff, diff))  # (H, W)


def mean_edge_energy(image: Image) -> float | Tensor:
    """Mean Sobel magnitude of the luminance (the plain mean, blind to how narrow an edge is; the studio's
    measure of sharpness is :func:`explain.measure.edge_strength`, the root mean square).

    (H, W, 3) array or (3, H, W) tensor -> float; (B, 3, H, W) tensor -> (B,) tensor.
    """
    mag = edge_magnitude(image)
    if isinstance(mag, Tensor):
        if isinstance(image, Tensor) and image.ndim == 4:
            return mag.mean(dim=(1, 2, 3))
        return float(mag.mean())
    return float(mag.mean())


def edge_mask(image: Image, low: float = 0.04, high: float = 0.1, blur_sigma: float = 0.0) -> np.ndarray:
    """Thin edge outline (Canny, OpenCV) for drawing over other maps.

    image: one image, (H, W, 3) / (H, W) array or (3, H, W) / (1, 3, H, W) tensor.
    ``low`` and ``high`` are the hysteresis thresholds in the units of
    :func:`edge_magnitude` (intensity change per pixel); ``blur_sigma > 0`` smooths
    the luminance first. Returns a bool array (H, W).
    """
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high; got low={low}, high={high}")
    if blur_sigma < 0:
        raise ValueError(f"blur_sigma must be >= 0; got {blur_sigma}")
    if isinstance(image, Tensor):
        t = _check_tensor(image, "image")
        if t.shape[0] != 1:
            raise ValueError(f"edge_mask takes one image; got a batch of {t.shape[0]}")
        image = t[0].detach().float().cpu().numpy().transpose(1, 2, 0)  # (H, W, C)
    y = luminance(_check_image(image, "image"))
    if blur_sigma > 0:
        y = cv2.GaussianBlur(y, (0, 0), blur_sigma, borderType=cv2.BORDER_REPLICATE)
    y8 = np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
    # cv2.Canny uses the unnormalised Sobel on 0..255, i.e. 8 * 255 times our units
    scale = 8.0 * 255.0
    return cv2.Canny(y8, low * scale, high * scale, L2gradient=True) > 0


def strongest_edge_window(before: np.ndarray, after: np.ndarray, side: int) -> tuple[int, int, int, int]:
    """The ``side``² window where ``after`` (MSSNet's view) gained the most edge strength over
    ``before`` (the bicubic view): the largest sum of the positive :func:`edge_gain` over the
    window, inside the image. Arrays (H, W, 3) or (H, W), same shape. Ties (e.g. no gain
    anywhere): the window nearest the centre. -> (x0, y0, w, h), ``w = h = min(side, H, W)``."""
    before, after = _check_pair(before, after)
    if not isinstance(before, np.ndarray):
        raise TypeError("strongest_edge_window takes numpy images (H, W, 3)")
    h, w = before.shape[:2]
    side = min(int(side), w, h)
    if side < 1:
        raise ValueError(f"side must be >= 1; got {side}")
    gain = np.clip(edge_gain(before, after), 0, None).astype(np.float64)  # (H, W)
    sums = cv2.integral(gain)  # (H+1, W+1)
    totals = sums[side:, side:] - sums[:-side, side:] - sums[side:, :-side] + sums[:-side, :-side]  # by top-left
    best = totals.max()
    ys, xs = np.nonzero(totals >= best - 1e-9 * max(best, 1.0))
    k = int(np.argmin((ys - (h - side) / 2) ** 2 + (xs - (w - side) / 2) ** 2))
    return int(xs[k]), int(ys[k]), side, side
