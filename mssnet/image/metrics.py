"""Image quality on the Y channel, as super-resolution papers report it, and the one edge-strength map.

``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for RGB in [0, 1], i.e. Y on the
0-255 scale within [16, 235] (BT.601 "studio swing"). PSNR uses peak 255 on that
scale; SSIM is Wang et al. (2004) with an 11x11 Gaussian window of sigma 1.5,
K1 = 0.01, K2 = 0.03, L = 255, averaged over the pixels whose window lies inside
the image (the same as ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``).
``shave`` removes that many pixels at every border first (commonly the zoom factor).

Images: (H, W, 3) / (H, W) arrays (float in [0, 1] or uint8), or (3, H, W) /
(1, 3, H, W) tensors in [0, 1]. A one-channel image counts as gray, R = G = B.

:func:`edge_strength_map` is the project's one per-pixel edge strength (the DZI edge-gain layer,
every panel's numbers and maps, :mod:`explain.measure`): the Sobel gradient magnitude of the
full-range BT.601 luma ``0.299 R + 0.587 G + 0.114 B``, the kernel normalised by 1/8, replicate
borders. The differentiable torch form (:func:`explain.edges.edge_magnitude` on tensors) uses the same
:data:`BT601` and :data:`SOBEL_X`.
"""

from __future__ import annotations

import cv2
import numpy as np
from torch import Tensor

from .tensors import single_image

__all__ = ["BT601", "SOBEL_X", "edge_strength_map", "luma", "psnr_y", "rgb_to_y", "sobel_gradients", "ssim_y"]

Image = Tensor | np.ndarray

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])
#: BT.601 luma weights for R, G, B (full range: the luma edge strength is measured on).
BT601 = (0.299, 0.587, 0.114)
#: Sobel kernel along x, normalised by the sum of its absolute weights (8); along y it is the transpose.
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
_SOBEL_X32, _SOBEL_Y32 = SOBEL_X.astype(np.float32), SOBEL_X.T.astype(np.float32)


def sobel_gradients(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y: (H, W) float32 -> (gx, gy), each (H, W) float32: the normalised Sobel gradients, replicate borders."""
    return (cv2.filter2D(y, cv2.CV_32F, _SOBEL_X32, borderType=cv2.BORDER_REPLICATE),
            cv2.filter2D(y, cv2.CV_32F, _SOBEL_Y32, borderType=cv2.BORDER_REPLICATE))


def luma(image: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma: (H, W, 3) RGB -> (H, W) float32; an (H, W) or (H, W, 1) image is taken as
    luma already. Float in [0, 1], or uint8 (scaled by 1/255)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray; got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must be (H, W, 3) or (H, W); got {image.shape}")
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"image must be float in [0, 1] or uint8; got dtype {image.dtype}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image
    return cv2.transform(image, np.array([BT601], np.float32))  # (H, W)


def edge_strength_map(image: np.ndarray) -> np.ndarray:
    """Per-pixel edge strength: the Sobel gradient magnitude of the BT.601 luma (replicate borders).

    image: (H, W, 3) RGB or (H, W) luma (as :func:`luma`) -> (H, W) float32, intensity change per pixel;
    a black-to-white step gives 0.5, a ramp rising by s per pixel gives s.
    """
    return cv2.magnitude(*sobel_gradients(luma(image)))


def _to_hwc(image: object, name: str) -> np.ndarray:
    """-> float64 (H, W, 3) in [0, 1]."""
    if isinstance(image, Tensor):
        t = single_image(image, f"{name}: metrics take")
        if t.ndim != 3 or t.shape[0] not in (1, 3):
            raise ValueError(f"{name} must be (3, H, W) or (1, 3, H, W); got {tuple(image.shape)}")
        arr = t.double().cpu().numpy().transpose(1, 2, 0)
    elif isinstance(image, np.ndarray):
        if image.dtype == np.uint8:
            arr = image.astype(np.float64) / 255.0
        elif np.issubdtype(image.dtype, np.floating):
            arr = image.astype(np.float64)
        else:
            raise TypeError(f"{name} must be float in [0, 1] or uint8; got dtype {image.dtype}")
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 3):
            raise ValueError(f"{name} must be (H, W, 3) or (H, W); got {image.shape}")
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray; got {type(image).__name__}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return arr


def rgb_to_y(image: Image) -> np.ndarray:
    """BT.601 Y on the 0-255 scale (range [16, 235]): (H, W, 3) -> (H, W) float64."""
    return 16.0 + _to_hwc(image, "image") @ _Y_WEIGHTS


def _pair_y(a: Image, b: Image, shave: int) -> tuple[np.ndarray, np.ndarray]:
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if ya.shape != yb.shape:
        raise ValueError(f"images must have the same size; got {ya.shape} and {yb.shape}")
    if isinstance(shave, bool) or not isinstance(shave, int) or shave < 0:
        raise ValueError(f"shave must be an int >= 0; got {shave!r}")
    if 2 * shave >= min(ya.shape):
        raise ValueError(f"shave={shave} leaves nothing of a {ya.shape[0]}x{ya.shape[1]} image")
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    return ya, yb


def psnr_y(a: Image, b: Image, shave: int = 0) -> float:
    """PSNR (dB) of the Y channels, peak 255; ``inf`` for identical images."""
    ya, yb = _pair_y(a, b, shave)
    mse = float(np.mean((ya - yb) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim_y(a: Image, b: Image, shave: int = 0) -> float:
    """Mean SSIM of the Y channels (Gaussian window 11, sigma 1.5, L = 255)."""
    ya, yb = _pair_y(a, b, shave)
    if min(ya.shape) < 11:
        raise ValueError(f"ssim_y needs at least 11x11 pixels after shave; got {ya.shape}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = cv2.getGaussianKernel(11, 1.5)

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(img, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(ya), blur(yb)
    var_a = blur(ya * ya) - mu_a**2
    var_b = blur(yb * yb) - mu_b**2
    cov = blur(ya * yb) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim[5:-5, 5:-5].mean())
