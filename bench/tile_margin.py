"""How closely a tiled pyramid level matches one untiled MSSNet pass, per context margin.

    python bench/tile_margin.py [--weights PATH] [--margins 16 32 48 64] [--precision fp32]

For each example image, level 1 (the image enlarged 2× by bicubic and sharpened at the 2×
strength) is computed twice: in one MSSNet pass over the whole level, and tile by tile
(``mssnet.pyramid.tiles``, 256² tiles, each with ``margin`` px of context cut off afterwards).
The table gives the difference in 1/255 (largest, 99.9th percentile, mean, over every pixel
and channel) and each tile's pass size relative to the tile. The pyramid itself is the
reference of every view (a view is exactly a region of the tiled whole-image zoom), so this
is not an error of the views; it says how far MSSNet's output depends on context beyond
the margin, and what a wider margin would cost.

A second table measures the Deep Zoom tiles' overlap ring at the default margin: each tile's pass
also gives the ring of ``RING`` px around the tile (``ZoomPyramid.own_pass_region``), where the
command line's zoom has its neighbours' passes. It gives the difference on the ring pixels of level 1
after both are rounded to 8 bits, as the PNG tiles are (largest, share of ring pixels that differ at
all and by more than 1/255); inside the tiles the two are the same pixels.
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

from timing import cpu_kind  # bench/timing.py

from mssnet.image.io import load_image, to_uint8
from mssnet.model.weights import load_model
from mssnet.pyramid.pyramid import ZoomPyramid
from mssnet.pyramid.tiles import DEFAULT_TILE, RING, TileId

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("astronaut.png", "chelsea.png", "coffee.png", "fine_text.png", "siemens_star.png", "zone_plate.png")


def level_one_untiled(pyramid: ZoomPyramid) -> np.ndarray:
    """Level 1 of ``pyramid``'s image in one MSSNet pass (no tiles) -> (2H, 2W, 3) float32."""
    w, h = pyramid.level_size(1)
    x = pyramid.model_input(1, (0, 0, w, h))
    one = ZoomPyramid(pyramid.image, pyramid.model, tile=512, margin=0, precision=pyramid.precision)
    if max(w, h) <= 512:  # one tile is the whole level: the pyramid's own code path
        return one.region(1, (0, 0, w, h))
    from mssnet.runtime.inference import sharpen_tensor

    xt = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]
    y = sharpen_tensor(pyramid.model, xt, precision=pyramid.precision)[0].permute(1, 2, 0).numpy()
    a = pyramid.alphas[0]  # level 1
    return y if a == 1 else np.clip(x + a * (y - x), 0.0, 1.0)


def ring_differences(pyramid: ZoomPyramid) -> np.ndarray:
    """|own pass − neighbours' passes| in 1/255 (8-bit) on every ring pixel of level 1, flattened."""
    rows, cols = pyramid.grid(1)
    out = []
    for r in range(rows):
        for c in range(cols):
            tid = TileId(1, r, c)
            box = pyramid.ringed_box(tid)
            own = to_uint8(pyramid.own_pass_region(1, box)).astype(np.int16)
            theirs = to_uint8(pyramid.region(1, box)).astype(np.int16)
            x0, y0, x1, y1 = pyramid.tile_box(tid)
            ring = np.ones(own.shape[:2], bool)
            ring[y0 - box[1] : y1 - box[1], x0 - box[0] : x1 - box[0]] = False
            out.append(np.abs(own - theirs)[ring].ravel())
    return np.concatenate(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", help="weights file (default: the bundled one)")
    p.add_argument("--margins", type=int, nargs="+", default=[16, 32, 48, 64])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"])
    p.add_argument("--images", type=int, default=len(IMAGES))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.weights)
    print(f"CPU: {cpu_kind()}; weights {args.weights or 'bundled default'}; precision {args.precision}; "
          f"tiles {DEFAULT_TILE}²", flush=True)
    t0 = time.perf_counter()
    rows, rings = [], []
    for name in IMAGES[: args.images]:
        image = load_image(ROOT / "assets" / "examples" / name).rgb
        base = ZoomPyramid(image, model, precision=args.precision)
        whole = level_one_untiled(base)
        w, h = base.level_size(1)
        for margin in args.margins:
            tiled = ZoomPyramid(image, model, margin=margin, precision=args.precision).region(1, (0, 0, w, h))
            d = np.abs(tiled - whole) * 255
            rows.append((name, margin, d.max(), np.percentile(d, 99.9), d.mean()))
        ring = ring_differences(base)
        rings.append((name, ring.size, ring.max(), (ring > 0).mean(), (ring > 1).mean()))
        print(f"{name}: done", flush=True)
    print("\n## Tiled level 1 vs one untiled pass (differences in 1/255)\n")
    print("| image | margin (px) | tile pass / tile | largest | 99.9th pct | mean |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, margin, big, p999, mean in rows:
        cost = ((DEFAULT_TILE + 2 * margin) / DEFAULT_TILE) ** 2
        print(f"| {name} | {margin} | {cost:.2f}× | {big:.1f} | {p999:.2f} | {mean:.3f} |")
    print(f"\n## A Deep Zoom tile's {RING} px overlap ring from its own pass vs the neighbours' passes "
          f"(level 1, margin {base.margin} px, 8-bit)\n")
    print("| image | ring pixels × channels | largest (1/255) | differ at all | differ by more than 1/255 |")
    print("|---|---:|---:|---:|---:|")
    for name, n, big, some, more in rings:
        print(f"| {name} | {n} | {big} | {100 * some:.2f} % | {100 * more:.3f} % |")
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
