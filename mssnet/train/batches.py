"""Training batches made where the network runs: photographs held on the device as uint8, random
crops, flips/rotations and the zoom degradation done there per batch.

The photographs are decoded once and concatenated into one flat uint8 buffer on the device
(:class:`PhotoStore`); a batch is one gather from it. Nothing per crop runs in Python, so a GPU
is not left waiting for a CPU to cut and blur crops.

Sampling (the same distribution as the recipe in ``assets/weights/README.md``):

* a photograph is picked with probability ∝ its area, so every pixel is equally likely;
* the crop's corner is uniform; one of the 8 flips/rotations of the square is applied
  (uniformly), folded into the gather's index arithmetic;
* crops whose mean luminance gradient is under 0.01 (sky, flat backgrounds) are dropped with
  probability 0.8: ``oversample``× as many candidates as needed are drawn, the kept ones come
  first (in random order), dropped ones fill up only when too few were kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .degrade import DegradeConfig, quantize8, random_degrade

__all__ = ["FLAT_GRADIENT", "PhotoStore", "degraded_batch"]

#: Mean absolute luminance step (image units) under which a crop counts as nearly flat.
FLAT_GRADIENT = 0.01
#: Probability that a nearly flat crop is dropped.
FLAT_DROP = 0.8


@dataclass
class PhotoStore:
    """Photographs on one device, as one flat uint8 buffer.

    pixels: (N,) uint8, every photograph's (H, W, 3) bytes one after another.
    offsets, heights, widths: (P,) int64, where photograph p starts and its size.
    probs: (P,) float32, the chance of picking each photograph (∝ area).
    """

    pixels: Tensor
    offsets: Tensor
    heights: Tensor
    widths: Tensor
    probs: Tensor

    @classmethod
    def from_images(cls, images: Sequence[np.ndarray], crop: int, device: str | torch.device = "cpu"
                    ) -> PhotoStore:
        """images: uint8 (H, W, 3) arrays; those smaller than ``crop`` on a side are skipped.

        Raises ValueError when none is at least ``crop`` × ``crop``.
        """
        if crop < 1:
            raise ValueError(f"crop must be at least 1; got {crop}")
        for i, im in enumerate(images):
            if not (isinstance(im, np.ndarray) and im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3):
                raise ValueError(f"image {i}: expected a uint8 (H, W, 3) array; got "
                                 f"{getattr(im, 'dtype', type(im).__name__)} {getattr(im, 'shape', '')}")
        usable = [im for im in images if min(im.shape[:2]) >= crop]
        if not usable:
            raise ValueError(f"no training image is at least {crop}×{crop} px")
        sizes = torch.tensor([im.shape[:2] for im in usable], dtype=torch.int64)  # (P, 2)
        lengths = sizes[:, 0] * sizes[:, 1] * 3
        offsets = torch.cumsum(lengths, 0) - lengths
        flat = torch.from_numpy(np.concatenate([np.ascontiguousarray(im).reshape(-1) for im in usable]))
        area = (sizes[:, 0] * sizes[:, 1]).double()
        return cls(flat.to(device), offsets.to(device), sizes[:, 0].to(device), sizes[:, 1].to(device),
                   (area / area.sum()).float().to(device))

    @property
    def device(self) -> torch.device:
        return self.pixels.device

    def __len__(self) -> int:
        return int(self.offsets.numel())

    def crops(self, n: int, crop: int, generator: torch.Generator, augment: bool = True) -> Tensor:
        """``n`` random crops -> (n, 3, crop, crop) float32 in [0, 1] on the store's device.

        ``generator`` must live on the store's device. Every photograph must be at least
        ``crop`` px on a side (:meth:`from_images` guarantees it for its ``crop``).
        """
        dev, g = self.device, generator
        pick = torch.multinomial(self.probs, n, replacement=True, generator=g)  # (n,)
        h, w = self.heights[pick], self.widths[pick]
        y0 = (torch.rand(n, device=dev, generator=g) * (h - crop + 1)).long().clamp_max(h - crop)
        x0 = (torch.rand(n, device=dev, generator=g) * (w - crop + 1)).long().clamp_max(w - crop)
        u = torch.arange(crop, device=dev)
        rows, cols = u.view(1, crop, 1).expand(n, crop, crop), u.view(1, 1, crop).expand(n, crop, crop)
        if augment:
            # one of the 8 symmetries of the square: swap the axes, then mirror either
            t = torch.randint(0, 8, (n, 1, 1), device=dev, generator=g)
            swap, flip_rows, flip_cols = (t & 1).bool(), (t & 2).bool(), (t & 4).bool()
            rows, cols = torch.where(swap, cols, rows), torch.where(swap, rows, cols)
            rows = torch.where(flip_rows, crop - 1 - rows, rows)
            cols = torch.where(flip_cols, crop - 1 - cols, cols)
        index = (self.offsets[pick].view(n, 1, 1) + ((y0.view(n, 1, 1) + rows) * w.view(n, 1, 1)
                                                     + x0.view(n, 1, 1) + cols) * 3)  # (n, crop, crop)
        index = index.unsqueeze(1) + torch.arange(3, device=dev).view(1, 3, 1, 1)  # (n, 3, crop, crop)
        return self.pixels[index].float().div_(255)

    def batch(self, n: int, crop: int, generator: torch.Generator, oversample: float = 1.5) -> Tensor:
        """``n`` augmented crops with most nearly flat ones redrawn -> (n, 3, crop, crop) float32 in [0, 1]."""
        if n < 1:
            raise ValueError(f"batch must be at least 1; got {n}")
        m = max(n, int(np.ceil(n * oversample)))
        cand = self.crops(m, crop, generator)  # (m, 3, crop, crop)
        luma = cand.mean(1)  # (m, crop, crop)
        grad = (luma.diff(dim=1).abs().mean((1, 2)) + luma.diff(dim=2).abs().mean((1, 2)))  # (m,)
        drop = (grad < FLAT_GRADIENT) & (torch.rand(m, device=self.device, generator=generator) < FLAT_DROP)
        order = torch.argsort(drop.to(torch.uint8), stable=True)[:n]  # kept first, in drawing order
        return cand[order]


def degraded_batch(store: PhotoStore, batch: int, crop: int, generator: torch.Generator,
                   rng: np.random.Generator, degrade: DegradeConfig) -> tuple[Tensor, Tensor, float]:
    """One training pair on the store's device: (sharp, blurred, zoom factor).

    sharp: (B, 3, crop, crop) float32 in [0, 1]; blurred: the same crops shrunk by one zoom factor
    (log-uniform in ``degrade.scale_range``, drawn with ``rng``), enlarged back and rounded to 8 bits,
    channels_last.
    """
    sharp = store.batch(batch, crop, generator)
    blurred, scale = random_degrade(sharp, rng, degrade)
    return sharp, quantize8(blurred).contiguous(memory_format=torch.channels_last), scale
