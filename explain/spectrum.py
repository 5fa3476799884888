"""Radial power spectrum: which spatial frequencies an image contains.

Zooming with bicubic interpolation cannot create frequencies above the source's
limit (``0.5 / factor`` cycles per output pixel), so the spectrum of a bicubic
zoom falls off there; whatever MSSNet puts back shows up as extra power above it.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from mssnet.image.tensors import single_image

from .edges import luminance

__all__ = ["radial_power_spectrum"]


def _to_luminance(image: Tensor | np.ndarray) -> np.ndarray:
    """One image -> (H, W) float64 luminance."""
    if isinstance(image, Tensor):
        t = single_image(image, "radial_power_spectrum takes")
        if t.ndim != 3:
            raise ValueError(f"image must be (3, H, W) or (1, 3, H, W); got {tuple(image.shape)}")
        image = t.float().cpu().numpy().transpose(1, 2, 0)  # (H, W, C)
    elif not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a torch.Tensor or numpy.ndarray; got {type(image).__name__}")
    return np.asarray(luminance(image), dtype=np.float64)


def radial_power_spectrum(
    image: Tensor | np.ndarray, n_bins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Log10 power of the luminance, averaged over rings of equal frequency.

    image: (H, W, 3) / (H, W) array or (3, H, W) / (1, 3, H, W) tensor, at least 8x8.
    The mean is removed and a 2-D Hann window applied (so the image's border is not
    a spurious edge), then ``|FFT|^2 / sum(window^2)`` is averaged in ``n_bins``
    rings between 0 and 0.5 cycles/pixel (default ``min(H, W) // 2``); corners
    beyond 0.5 are dropped. Returns ``(freqs, log10_power)``, both (n_bins,):
    ring centres in cycles per pixel, and ``log10(mean power + 1e-20)``.
    """
    y = _to_luminance(image)
    h, w = y.shape
    if min(h, w) < 8:
        raise ValueError(f"image must be at least 8x8; got {h}x{w}")
    n_bins = min(h, w) // 2 if n_bins is None else n_bins
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int; got {n_bins!r}")
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((y - y.mean()) * window)) ** 2 / np.sum(window**2)  # (H, W)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fx**2 + fy**2)  # (H, W), cycles/pixel
    edges = np.linspace(0.0, 0.5, n_bins + 1)
    idx = np.digitize(radius.ravel(), edges) - 1  # ring of each frequency
    keep = (idx >= 0) & (idx < n_bins)
    sums = np.bincount(idx[keep], weights=power.ravel()[keep], minlength=n_bins)
    counts = np.bincount(idx[keep], minlength=n_bins)
    mean = np.divide(sums, counts, out=np.zeros(n_bins), where=counts > 0)
    freqs = (edges[:-1] + edges[1:]) / 2
    return freqs, np.log10(mean + 1e-20)
