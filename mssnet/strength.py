"""How much of MSSNet's correction to apply at each zoom step: the calibrated strength.

A network that is not told the zoom factor learns one compromise: weights trained on
2× zooms sharpen a 1.25× zoom as if it were 2× blurred and overshoot every edge, and
weights trained on a wide range of zooms hold back where the blur is strongest. The
zoom pipeline knows the factor of each step, so it applies

    out = x + α(s) · (MSSNet(x) − x)

where ``x`` is the step's bicubic enlargement and ``α(s)`` the strength for step factor
``s``. The strengths are calibrated once per weights file on *training* images: for each
factor of a grid, the least-squares α that brings the sharpened crops closest to the
sharp originals (closed form, one MSSNet pass per crop),

    α* = Σ (MSSNet(x) − x)·(y − x) / Σ (MSSNet(x) − x)²,

and stored in the safetensors metadata under :data:`METADATA_KEY`. Between grid points
α is interpolated linearly in log s; outside the grid the nearest end is used. Weights
without a table (the original GoPro checkpoint, a user's own file) get α = 1: MSSNet's
output unchanged.

    python -m mssnet.strength WEIGHTS.safetensors [--data DIR ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .argtypes import int_at_least

__all__ = ["METADATA_KEY", "GRID", "strength_at", "model_strength", "encode_table", "decode_table",
           "format_table", "optimal_strength", "calibrate"]

#: safetensors metadata key holding the JSON table {"step factor": strength}.
METADATA_KEY = "zoom_strength"
#: Step factors the strength is calibrated at (the pipeline's steps are ≤ 2× by default;
#: the larger ones serve ``--max-step`` above 2).
GRID = (1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
#: Strengths are kept in this range (calibration clips to it; tables and callers outside it
#: are refused).
LIMITS = (0.0, 3.0)


def strength_at(table: Mapping[float, float] | None, factor: float) -> float:
    """α for a step ``factor`` from a calibration table (1.0 without one).

    >>> round(strength_at({1.0: 0.0, 2.0: 1.0}, 2 ** 0.5), 6), strength_at(None, 3.0)
    (0.5, 1.0)
    """
    if not table:
        return 1.0
    points = sorted((float(k), float(v)) for k, v in table.items())
    xs = [math.log(k) for k, _ in points]
    ys = [v for _, v in points]
    return float(np.interp(math.log(max(float(factor), 1e-9)), xs, ys))


def model_strength(model: nn.Module, factor: float) -> float:
    """α for a step ``factor`` from the table :func:`mssnet.load_model` attached to ``model``."""
    return strength_at(getattr(model, "zoom_strength", None), factor)


def encode_table(table: Mapping[float, float]) -> str:
    """Table -> the JSON string stored in the weights' metadata."""
    return json.dumps({f"{float(k):g}": round(float(v), 4) for k, v in sorted(table.items())})


def decode_table(text: str | None) -> dict[float, float] | None:
    """The metadata string -> table, or None (with a warning) when it is missing or malformed."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        table = {float(k): float(v) for k, v in raw.items()}
        lo, hi = LIMITS
        if not table or not all(k > 0 and math.isfinite(k) and lo <= v <= hi for k, v in table.items()):
            raise ValueError(f"empty table, a non-positive factor or a strength outside [{lo:g}, {hi:g}]")
    except (ValueError, TypeError, AttributeError) as exc:
        warnings.warn(f"ignoring malformed {METADATA_KEY!r} metadata ({exc}); MSSNet's output is used as is",
                      stacklevel=2)
        return None
    return table


def format_table(table: Mapping[float, float] | None) -> str:
    """'×1 0.00, ×1.5 0.37, ×2 1.09' — or 'none (α = 1)' without a table."""
    if not table:
        return "none (α = 1)"
    return ", ".join(f"×{k:g} {v:.2f}" for k, v in sorted(table.items()))


def optimal_strength(num: float, den: float) -> float:
    """α* = num / den (Σ d·r over Σ d·d), clipped to :data:`LIMITS`; 1.0 when d is all zero."""
    if den <= 0:
        return 1.0
    return float(np.clip(num / den, *LIMITS))


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

    from .degrade import enlarge, quantize8, shrink
    from .inference import sharpen_tensor

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
    from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb
    from .weights import load_model, read_state_dict, save_safetensors

    p = argparse.ArgumentParser(prog="python -m mssnet.strength", description=__doc__.split("\n\n")[0])
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
