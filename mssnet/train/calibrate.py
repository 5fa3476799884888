"""Calibrate the zoom-step strength of a weights file on training photographs.

    python -m mssnet.train.calibrate WEIGHTS.safetensors [--data DIR ...] [--out FILE]

For each step factor of :data:`mssnet.model.strength.GRID`, random crops of training images are
degraded the way the pipeline's input is and the least-squares strength
α* = Σ (MSSNet(x) − x)·(y − x) / Σ (MSSNet(x) − x)² is stored in the weights' metadata
(see :mod:`mssnet.model.strength` for how the table is used). The same crops, zoomed level by level
the zoom pyramid's way, give the strength of each pyramid level (:func:`calibrate_levels`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..argtypes import int_at_least
from ..model.strength import GRID, LEVEL_KEY, METADATA_KEY, encode_table, format_levels, optimal_strength
from ..model.weights import load_model, read_state_dict, save_safetensors
from ..pyramid.levels import MAX_LEVEL
from ..pyramid.resampling import enlarge_2x
from ..runtime.inference import sharpen_tensor
from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb
from .degrade import enlarge, quantize8, shrink

__all__ = ["calibrate", "calibrate_levels", "main"]


def _training_crops(images: Sequence[np.ndarray], crops: int, crop: int, seed: int, multiple: int = 1
                    ) -> torch.Tensor:
    """``crops`` seeded random crops of ``images`` (uint8 (H, W, 3)) -> (N, 3, c, c) float in [0, 1].

    ``c`` is ``crop``, shrunk to the largest image's shorter side when none is big enough and
    rounded down to a multiple of ``multiple``.
    """
    if not images:
        raise ValueError("calibration needs at least one image")
    if crops < 1:
        raise ValueError(f"crops must be at least 1; got {crops}")
    crop = min(crop, max(min(im.shape[:2]) for im in images))
    crop -= crop % multiple
    if crop < 16:
        raise ValueError(f"calibration needs an image of at least {max(16, multiple)}×{max(16, multiple)} px; "
                         f"the largest has a {crop} px side")
    usable = [im for im in images if min(im.shape[:2]) >= crop]
    rng = np.random.default_rng(seed)
    batch = []
    for _ in range(crops):
        im = usable[int(rng.integers(len(usable)))]
        y, x = int(rng.integers(im.shape[0] - crop + 1)), int(rng.integers(im.shape[1] - crop + 1))
        batch.append(torch.from_numpy(im[y : y + crop, x : x + crop].astype(np.float32) / 255).permute(2, 0, 1))
    return torch.stack(batch)


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

    sharp = _training_crops(images, crops, crop, seed)  # (N, 3, crop, crop)
    crop = sharp.shape[-1]
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


def _level_step(model: nn.Module, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One untiled pyramid step: level k−1 (h, w, 3) -> (x, d), x its clipped 2× bicubic
    enlargement (OpenCV's, as the pyramid's) and d = MSSNet(x) − x, both (2h, 2w, 3)."""
    x = enlarge_2x(prev)
    xt = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]
    y = sharpen_tensor(model, xt, precision="fp32")[0].permute(1, 2, 0).numpy()
    return x, y - x


def calibrate_levels(
    model: nn.Module,
    images: Sequence[np.ndarray],
    levels: int = MAX_LEVEL,
    crops: int = 24,
    crop: int = 192,
    seed: int = 0,
    progress: bool = True,
) -> dict[int, float]:
    """Least-squares strength of each zoom-pyramid level 1…``levels`` on random crops of ``images``.

    For level k every crop (the same seeded crops as :func:`calibrate`, side rounded down to a
    multiple of 2^levels) is shrunk 2^k× (antialiased bicubic, 8-bit) and zoomed back the
    pyramid's way: levels 1…k−1 at the strengths already found, then level k's
    α* = Σ d·(y − x) / Σ d² against the sharp crop y. Level 1 is the 2× entry of
    :func:`calibrate`'s table; later levels enlarge a sharpened level, which leaves less blur to
    undo. Returns {level: α}.
    """
    from tqdm import tqdm

    if not 1 <= levels <= MAX_LEVEL:
        raise ValueError(f"levels must be 1…{MAX_LEVEL}; got {levels}")
    sharp = _training_crops(images, crops, crop, seed, multiple=1 << levels)
    table: dict[int, float] = {}
    bar = tqdm(total=levels * crops, desc="calibrate levels", disable=not progress, dynamic_ncols=True)
    for k in range(1, levels + 1):
        num = den = 0.0
        for i in range(crops):
            y = sharp[i : i + 1]
            with torch.no_grad():
                level = quantize8(shrink(y, float(1 << k)))[0].permute(1, 2, 0).numpy()  # level 0
            for j in range(1, k):
                x, d = _level_step(model, level)
                level = np.clip(x + table[j] * d, 0.0, 1.0)
            x, d = _level_step(model, level)  # level k's input and MSSNet's correction
            r = y[0].permute(1, 2, 0).numpy() - x
            num += float((d.astype(np.float64) * r).sum())
            den += float((d.astype(np.float64) * d).sum())
            bar.update(1)
        table[k] = optimal_strength(num, den)
    bar.close()
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mssnet.train.calibrate", description=__doc__.split("\n\n")[0])
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
    images = [read_rgb(q, 1024) for q in paths]
    table = calibrate(model, images, crops=args.crops, crop=args.crop)
    levels = calibrate_levels(model, images, crops=args.crops, crop=args.crop)
    print("step factor  strength")
    for k, v in table.items():
        print(f"  ×{k:<9g} {v:.3f}")
    print(f"pyramid levels: {format_levels(levels)}")
    if args.out:
        _, meta = read_state_dict(args.weights)
        meta[METADATA_KEY] = encode_table(table)
        meta[LEVEL_KEY] = encode_table(levels)
        model.zoom_strength, model.level_strength = table, levels
        print(f"wrote {save_safetensors(model, Path(args.out), metadata=meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
