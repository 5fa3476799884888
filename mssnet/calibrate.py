"""Calibrate the zoom-step strength of a weights file on training photographs.

    python -m mssnet.calibrate WEIGHTS.safetensors [--data DIR ...] [--out FILE]

For each step factor of :data:`mssnet.strength.GRID`, random crops of training images are
degraded the way the pipeline's input is and the least-squares strength
α* = Σ (MSSNet(x) − x)·(y − x) / Σ (MSSNet(x) − x)² is stored in the weights' metadata
(see :mod:`mssnet.strength` for how the table is used).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .argtypes import int_at_least
from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb
from .degrade import enlarge, quantize8, shrink
from .inference import sharpen_tensor
from .strength import GRID, METADATA_KEY, encode_table, optimal_strength
from .weights import load_model, read_state_dict, save_safetensors

__all__ = ["calibrate", "main"]


def calibrate(
    model: nn.Module,
    images: Sequence[np.ndarray],
    factors: Sequence[float] = GRID,
    crops: int = 24,
    crop: int = 192,
    seed: int = 0,
    progress: bool = True,
) -> dict[float, float]:
    """Least-squares strength per step factor on random crops of ``images``.

    images: (H, W, 3) uint8 training photographs (never the held-out ones); ``crop`` shrinks
    to the largest image's shorter side when none is big enough. Every factor sees the
    same ``crops`` crops (seeded), each degraded the way the pipeline's input is:
    antialiased bicubic shrink by the factor, 8-bit quantisation, bicubic enlargement
    back. Returns {factor: α}.
    """
    from tqdm import tqdm

    if not images:
        raise ValueError("calibration needs at least one image")
    if crops < 1:
        raise ValueError(f"crops must be at least 1; got {crops}")
    crop = min(crop, max(min(im.shape[:2]) for im in images))
    if crop < 16:
        raise ValueError(f"calibration needs an image of at least 16×16 px; the largest has a {crop} px side")
    usable = [im for im in images if min(im.shape[:2]) >= crop]
    rng = np.random.default_rng(seed)
    batch = []
    for _ in range(crops):
        im = usable[int(rng.integers(len(usable)))]
        y, x = int(rng.integers(im.shape[0] - crop + 1)), int(rng.integers(im.shape[1] - crop + 1))
        batch.append(torch.from_numpy(im[y : y + crop, x : x + crop].astype(np.float32) / 255).permute(2, 0, 1))
    sharp = torch.stack(batch)  # (N, 3, crop, crop)
    table = {}
    bar = tqdm(total=len(factors) * crops, desc="calibrate", disable=not progress, dynamic_ncols=True)
    for s in factors:
        num = den = 0.0
        for i in range(crops):
            y = sharp[i : i + 1]
            with torch.no_grad():
                x = enlarge(quantize8(shrink(y, s)), (crop, crop)).clamp(0, 1)
            d = sharpen_tensor(model, x, precision="fp32") - x  # runs in inference mode itself
            num += float((d * (y - x)).sum())
            den += float((d * d).sum())
            bar.update(1)
        table[float(s)] = optimal_strength(num, den)
    bar.close()
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mssnet.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="weights file to calibrate")
    p.add_argument("--data", nargs="*", default=[], help="extra image folders (held-out names are skipped)")
    p.add_argument("--no-package-images", action="store_true", help="skip scikit-image/matplotlib photos")
    p.add_argument("--holdout", nargs="*", default=list(HOLDOUT), help="file names never used")
    p.add_argument("--crops", type=int_at_least(1), default=24, help="random training crops per factor")
    p.add_argument("--crop", type=int_at_least(16), default=192, help="crop side in pixels")
    p.add_argument("--out", help="write the calibrated weights here (default: print the table only)")
    args = p.parse_args(argv)

    paths = [] if args.no_package_images else package_image_paths()
    for folder in args.data:
        paths += folder_image_paths(folder)
    paths = [q for q in paths if q.name not in set(args.holdout)]
    if not paths:
        print("no calibration images found", file=sys.stderr)
        return 2
    model = load_model(args.weights)
    table = calibrate(model, [read_rgb(q, 1024) for q in paths], crops=args.crops, crop=args.crop)
    print("step factor  strength")
    for k, v in table.items():
        print(f"  ×{k:<9g} {v:.3f}")
    if args.out:
        _, meta = read_state_dict(args.weights)
        meta[METADATA_KEY] = encode_table(table)
        model.zoom_strength = table
        print(f"wrote {save_safetensors(model, Path(args.out), metadata=meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
