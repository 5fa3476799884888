"""The pyramid zoom on held-out images, with each of its downsampling filters.

    python bench/pyramid_quality.py [--weights PATH] [--data DIR ...] [--max-side 384]
                                    [--scales 1.1 1.25 1.5 2 2.5 3 4 6 8] [--images N]

For every held-out image (``mssnet.train.data.HOLDOUT`` among the package photographs, plus the
images in ``--data`` folders) and scale s: shrink by s (antialiased bicubic, 8-bit), zoom
back to the original size and compare with the original on the BT.601 Y channel (border
shave ⌈s⌉). Methods, as gain in dB over plain bicubic: sharpen to level ⌈log2 s⌉
(``mssnet.pyramid.levels``: 2× bicubic + MSSNet per level, tiled) and resample to the target
size with an antialiased filter — bicubic (as ``F.interpolate(antialias=True)``), area (as
``cv2.INTER_AREA``) or Lanczos-3 (as PIL). The level is computed once per image and scale and
shared by the three filters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import degrade_pair, shave, upscale  # noqa: E402
from timing import cpu_kind  # noqa: E402

from mssnet.image.metrics import psnr_y  # noqa: E402
from mssnet.model.weights import load_model  # noqa: E402
from mssnet.pyramid.levels import pyramid_level, pyramid_zoom_image  # noqa: E402
from mssnet.pyramid.resampling import FILTERS, downsample  # noqa: E402
from mssnet.runtime.inference import resolve_precision  # noqa: E402
from mssnet.train.data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb  # noqa: E402

SCALES = (1.1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 8)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", help="MSSNet weights (default: the bundled model)")
    p.add_argument("--data", nargs="*", default=[], help="folders of held-out images (all their images are used)")
    p.add_argument("--scales", nargs="*", type=float, default=list(SCALES))
    p.add_argument("--max-side", type=int, default=384, help="downscale larger images first")
    p.add_argument("--images", type=int, default=4, help="use at most this many package held-out images")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if any(not 1 <= s <= 8 for s in args.scales):
        p.error(f"--scales must be in [1, 8]; got {args.scales}")
    if args.threads:
        torch.set_num_threads(args.threads)

    held = [q for q in package_image_paths() if q.name in set(HOLDOUT)][: args.images]
    held += [q for d in args.data for q in folder_image_paths(d)]
    if not held:
        print("no held-out images found", file=sys.stderr)
        return 2
    images = [read_rgb(q, args.max_side).astype(np.float32) / 255 for q in held]
    model = load_model(args.weights)
    precision = resolve_precision(args.precision, "cpu")
    print(f"CPU: {cpu_kind()}, {torch.get_num_threads()} torch threads; precision {precision}")
    print(f"weights: {args.weights or 'bundled default'}")
    print(f"held-out images ({len(held)}, longer side ≤ {args.max_side}): {', '.join(q.name for q in held)}\n")

    methods = FILTERS
    rows, t_start = [], time.perf_counter()
    for s in args.scales:
        gains: dict[str, list[float]] = {m: [] for m in methods}
        base, seconds = [], 0.0
        for hr_full in images:
            hr, lr, size = degrade_pair(hr_full, s)
            lr = lr.astype(np.float32)
            ref = psnr_y(upscale(lr, size, "bicubic"), hr, shave(s))
            base.append(ref)
            t0 = time.perf_counter()
            level = pyramid_zoom_image(model, lr, 2.0 ** pyramid_level(s), precision=precision)
            seconds += time.perf_counter() - t0
            for f in FILTERS:
                out = level if level.shape[:2] == hr.shape[:2] else downsample(level, size, f)
                gains[f].append(psnr_y(np.round(out * 255) / 255, hr, shave(s)) - ref)
        rows.append((s, float(np.mean(base)), {m: float(np.mean(v)) for m, v in gains.items()}, seconds))
        print(f"×{s:g} done ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)

    print("| zoom | level | bicubic Y-PSNR | pyramid + bicubic (AA) | pyramid + area | "
          "pyramid + Lanczos-3 | best | time of the level |")
    print("|---|---|---|---|---|---|---|---|")
    for s, ref, g, sec in rows:
        best = max(methods, key=lambda m: g[m])
        cells = " | ".join(f"{g[m]:+.2f}" for m in methods)
        print(f"| ×{s:g} | {pyramid_level(s)} | {ref:.2f} dB | {cells} | {best} | "
              f"{sec:.1f} s |")
    mean = {m: float(np.mean([g[m] for _, _, g, _ in rows])) for m in methods}
    print("| mean | | | " + " | ".join(f"{mean[m]:+.2f}" for m in methods) + " | | |")
    print("\ncells: mean Y-PSNR gain over bicubic (dB), outputs rounded to 8 bit; border shave ⌈zoom⌉; "
          "pyramid time is the level (shared by the three filters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
