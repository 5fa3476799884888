"""Degradations: what blurs an image, simulated so the network can learn to undo it.

The default is the zoom the app undoes: shrink an image by a continuous factor
``s`` (antialiased bicubic, i.e. how a photo of finer detail would have been
sampled), then enlarge it back with plain bicubic interpolation (what the viewer
does). Optional extras make the training closer to real photographs: a mild
Gaussian blur (lens), short linear motion blur (hand shake), sensor noise and
JPEG compression. All functions take and return ``(B, 3, H, W)`` float32 tensors
in [0, 1]; the app's "simulate" mode uses the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "DegradeConfig",
    "zoom_blur",
    "gaussian_blur",
    "motion_blur",
    "add_noise",
    "jpeg",
    "quantize8",
    "random_degrade",
]


def _check(x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor (B, C, H, W); got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"expected (B, C, H, W); got shape {tuple(x.shape)}")


def shrink(x: Tensor, scale: float) -> Tensor:
    """Antialiased bicubic downscale by ``scale`` ≥ 1: (B, C, H, W) -> (B, C, h, w), h = round(H/s)."""
    _check(x)
    if scale < 1:
        raise ValueError(f"scale must be ≥ 1; got {scale}")
    h, w = max(1, round(x.shape[-2] / scale)), max(1, round(x.shape[-1] / scale))
    return F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def enlarge(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Plain bicubic upscale to ``size = (H, W)``, clamped like a displayed image."""
    _check(x)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def quantize8(x: Tensor) -> Tensor:
    """Round to 8-bit levels, as every displayed or saved image is."""
    return torch.round(x * 255) / 255


def zoom_blur(x: Tensor, scale: float) -> Tensor:
    """The blur of zooming ``scale``×: shrink then enlarge back. (B, C, H, W) -> same shape."""
    return enlarge(shrink(x, scale), tuple(x.shape[-2:]))


def _gaussian_kernel1d(sigma: float, dtype=torch.float32, radius: int | None = None) -> Tensor:
    """Normalised 1-D Gaussian of ``2 * radius + 1`` taps (radius default ``ceil(3 * sigma)``)."""
    radius = max(1, math.ceil(3 * sigma)) if radius is None else int(radius)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype)


def gaussian_blur(x: Tensor, sigma: float, radius: int | None = None) -> Tensor:
    """Separable Gaussian blur, reflect borders (replicate on images too small to reflect).

    x: (B, C, H, W) -> same shape. ``radius`` defaults to ``ceil(3 * sigma)`` taps a side
    (9 taps for sigma 1.2, as in LAM); sigma 0 returns ``x``.
    """
    _check(x)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0; got {sigma}")
    if sigma == 0:
        return x
    k = _gaussian_kernel1d(sigma, x.dtype, radius).to(x.device)
    r, c = k.numel() // 2, x.shape[1]
    pad_mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
    y = F.pad(x, (r, r, r, r), mode=pad_mode)
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along W
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along H


def motion_kernel(length: float, angle_deg: float) -> Tensor:
    """Normalised line kernel of ``length`` px at ``angle_deg``: (K, K), K odd."""
    size = 2 * math.ceil(length / 2) + 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    half = length / 2
    p0 = (round(c - dx * half), round(c - dy * half))
    p1 = (round(c + dx * half), round(c + dy * half))
    cv2.line(k, p0, p1, 1.0, 1, lineType=cv2.LINE_AA)
    return torch.from_numpy(k / k.sum())


def motion_blur(x: Tensor, length: float, angle_deg: float) -> Tensor:
    """Linear motion blur (hand shake). (B, C, H, W) -> same shape."""
    _check(x)
    if length < 1:
        return x
    k = motion_kernel(length, angle_deg).to(x.device, x.dtype)
    r, c = k.shape[0] // 2, x.shape[1]
    pad_mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
    y = F.pad(x, (r, r, r, r), mode=pad_mode)
    return F.conv2d(y, k.expand(c, 1, -1, -1), groups=c)


def add_noise(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    """Additive Gaussian sensor noise of std ``sigma`` (image units), clamped."""
    _check(x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + sigma * noise).clamp(0, 1)


def jpeg(x: Tensor, quality: int) -> Tensor:
    """Round-trip every image through JPEG at ``quality`` (OpenCV). Same shape."""
    _check(x)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100]; got {quality}")
    out = []
    for img in x:
        arr = (img.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", arr[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        assert ok, "OpenCV failed to encode JPEG"
        dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255
        out.append(torch.from_numpy(dec.copy()).permute(2, 0, 1))
    return torch.stack(out).to(x.device, x.dtype)


@dataclass(frozen=True)
class DegradeConfig:
    """Probabilities and ranges of the random degradation used in training.

    ``scale_range``: zoom factors s sampled log-uniformly in it (one per batch).
    The extras are applied to the *small* image, before the enlargement, the way
    a camera's blur and noise are part of the pixels a viewer enlarges.
    """

    scale_range: tuple[float, float] = (1.0, 4.0)
    p_gauss: float = 0.0
    gauss_sigma: tuple[float, float] = (0.2, 1.0)
    p_motion: float = 0.0
    motion_length: tuple[float, float] = (1.0, 4.0)
    p_noise: float = 0.0
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    p_jpeg: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)

    @staticmethod
    def realistic(scale_range: tuple[float, float] = (1.0, 4.0)) -> DegradeConfig:
        """Zoom blur plus occasional lens blur, shake, noise and JPEG."""
        return DegradeConfig(scale_range, p_gauss=0.2, p_motion=0.1, p_noise=0.2, p_jpeg=0.2)


def sample_scale(rng: np.random.Generator, scale_range: tuple[float, float]) -> float:
    """Log-uniform zoom factor in ``scale_range``."""
    lo, hi = scale_range
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def random_degrade(
    x: Tensor, rng: np.random.Generator, config: DegradeConfig = DegradeConfig(), scale: float | None = None
) -> tuple[Tensor, float]:
    """Degrade a clean batch ``x: (B, 3, H, W)``; returns ``(blurred, scale)``, same shape as x."""
    _check(x)
    s = sample_scale(rng, config.scale_range) if scale is None else scale
    small = shrink(x, s)
    if rng.random() < config.p_gauss:
        small = gaussian_blur(small, rng.uniform(*config.gauss_sigma))
    if rng.random() < config.p_motion:
        small = motion_blur(small, rng.uniform(*config.motion_length), rng.uniform(0, 180))
    if rng.random() < config.p_noise:
        small = add_noise(small, rng.uniform(*config.noise_sigma))
    if rng.random() < config.p_jpeg:
        small = jpeg(small, int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)))
    return enlarge(small, tuple(x.shape[-2:])), s
