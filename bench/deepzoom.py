"""Deep-zoom tile service: first tile, first screenful, cached tiles, memory and a crowd, in MSSNet passes.

    python bench/deepzoom.py                      # bundled quality weights, five examples, 20 clients
    python bench/deepzoom.py --model fast --images astronaut.png chelsea.png --clients 10

The app runs as its own process (``python app.py``, so its memory can be read from /proc). The unit
is one MSSNet pass of the same weights on 384², timed in this process before the server starts (the
table also gives one tile's pass: 256² + 32 px margins = 320²). For each image:

* ``/deep_zoom`` answers (``gradio_client``), then the first MSSNet tile — the ×2 tile under the
  image's middle, fetched over HTTP and retried on 503 as the viewer does — is timed from that answer;
* the first screenful: every MSSNet tile of a ``--screen`` px map at ×2 around the middle, fetched by
  six connections at once (a browser's limit per host) after the first tile; the whole screenful from
  ``/deep_zoom``'s answer against the sum of its tile passes (distinct pyramid tiles under it × one
  tile pass; a tile's 1 px overlap comes from its own pass);
* a cached tile: the same tiles again, median per request;
* the server's RSS after a ×2 and a ×4 screenful of each image.

Then ``--clients`` threads ask at once for ``--requests`` tiles each, never retrying: every request is
answered (200) or told to retry (503 + Retry-After), none fails; then the 503s are asked again until
answered (nothing lost). Targets: first tile <= 1.5 passes, screenful <= 1.2x its tile passes, cached
tile <= 0.05 passes, RSS with five images < 1.5 GB.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import fetch_until_ok, rss_mib, start_process, stop_server, tile_crowd  # noqa: E402  (bench/load.py)
from serving import free_port  # noqa: E402
from timing import cpu_kind, median_seconds  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"
TILE = 256


def screen_tiles(info: dict, zoom: int, center: tuple[float, float], screen: tuple[int, int]) -> list[tuple]:
    """(level, col, row) of the DZI tiles a ``screen`` (w, h) map at ``zoom`` around ``center`` shows."""
    level = info["max_level"] - 3 + int(math.log2(zoom))
    lw, lh = info["width"] * zoom, info["height"] * zoom
    x0, x1 = max(0, center[0] * zoom - screen[0] / 2), min(lw, center[0] * zoom + screen[0] / 2)
    y0, y1 = max(0, center[1] * zoom - screen[1] / 2), min(lh, center[1] * zoom + screen[1] / 2)
    return [(level, c, r) for r in range(int(y0) // TILE, math.ceil(y1 / TILE))
            for c in range(int(x0) // TILE, math.ceil(x1 / TILE))]


def pyramid_tiles(tiles: list[tuple], overlap: int, size: tuple[int, int]) -> int:
    """Distinct 256² pyramid tiles the DZI tiles read: their own, whose pass also gives an overlap of
    up to ``RING`` px; a wider overlap reaches into the neighbours."""
    from mssnet.pyramid.tiles import RING

    reach = int(overlap > RING)
    seen = set()
    for _, c, r in tiles:
        for rr in range(max(0, r - reach), r + 1 + reach):
            for cc in range(max(0, c - reach), c + 1 + reach):
                if cc * TILE < size[0] and rr * TILE < size[1]:
                    seen.add((cc, rr))
    return len(seen)


def unit_passes(model_name: str, threads: int) -> tuple[float, float]:
    """Median seconds of one MSSNet pass on 384² and on 320² (one tile with its margins), this process."""
    import torch

    import mssnet
    from mssnet.runtime.inference import sharpen_tensor
    torch.set_num_threads(threads)
    model = mssnet.load_model(preset="small" if model_name == "quality" else "tiny")
    out = []
    for side in (384, 320):
        x = torch.rand(1, 3, side, side)
        out.append(median_seconds(lambda x=x: sharpen_tensor(model, x), 3))
    return out[0], out[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("quality", "fast"), default="quality")
    p.add_argument("--images", nargs="+", default=["astronaut.png", "chelsea.png", "coffee.png",
                                                   "siemens_star.png", "zone_plate.png"])
    p.add_argument("--screen", type=int, nargs=2, default=(900, 520), metavar=("W", "H"))
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    from gradio_client import Client, handle_file

    unit, tile_pass = unit_passes(args.model, args.threads)
    port = free_port()
    server = start_process([sys.executable, str(ROOT / "app.py")], port,
                           {"ZS_MODEL": args.model, "OMP_NUM_THREADS": str(args.threads)})
    base = f"http://127.0.0.1:{port}"
    print(f"server log: {server.log_path}", file=sys.stderr)
    rows, infos = [], []
    try:
        client = Client(base + "/", verbose=False)
        for name in args.images:
            t0 = time.perf_counter()
            info = client.predict(image=handle_file(str(EXAMPLES / name)), model=None, api_name="/deep_zoom")
            t_open = time.perf_counter() - t0
            infos.append(info)
            middle = (info["width"] / 2, info["height"] / 2)
            lvl, col, row = screen_tiles(info, 2, middle, (1, 1))[0]
            t0 = time.perf_counter()
            fetch_until_ok(f"{base}/dz/{info['id']}/mssnet_files/{lvl}/{col}_{row}.png")
            t_first = time.perf_counter() - t0
            tiles = screen_tiles(info, 2, middle, tuple(args.screen))
            urls = [f"{base}/dz/{info['id']}/mssnet_files/{lv}/{c}_{r}.png" for lv, c, r in tiles]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(fetch_until_ok, urls))
            t_screen = time.perf_counter() - t0
            n_pyr = pyramid_tiles(tiles, info["overlap"], (info["width"] * 2, info["height"] * 2))
            cached = []
            for url in urls * 3:
                t = time.perf_counter()
                fetch_until_ok(url)
                cached.append(time.perf_counter() - t)
            four = screen_tiles(info, 4, middle, tuple(args.screen))
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(fetch_until_ok, [f"{base}/dz/{info['id']}/mssnet_files/{lv}/{c}_{r}.png"
                                               for lv, c, r in four]))
            rows.append((name, t_open, t_first, len(tiles), n_pyr, t_screen, statistics.median(cached),
                         rss_mib(server.pid)))
            print(f"{name}: done", file=sys.stderr)

        crowd = tile_crowd(base, infos[-1], args.clients, args.requests)  # every client at once, no retries
        rss = rss_mib(server.pid)
    finally:
        stop_server(server)

    print(f"\nDeep-zoom tiles over HTTP — {cpu_kind()}, {args.threads} threads, {args.model} weights; "
          f"unit = one MSSNet pass on 384² = {unit:.3f} s (one tile's 320² pass = {tile_pass / unit:.2f} passes); "
          f"map {args.screen[0]}×{args.screen[1]} at ×2\n")
    print("| image | /deep_zoom (s) | first MSSNet tile after it (passes) | screenful: tiles (pyramid tiles) | "
          "whole screenful after /deep_zoom (passes) | that / its tile passes | cached tile (passes) | "
          "server RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, t_open, t_first, n, n_pyr, t_screen, t_cached, mib in rows:
        whole = t_first + t_screen  # the first tile, then the rest of the screen
        print(f"| {name} | {t_open:.2f} | {t_first / unit:.2f} | {n} ({n_pyr}) | {whole / unit:.2f} | "
              f"{whole / (n_pyr * tile_pass):.2f} | {t_cached / unit:.4f} | {mib:.0f} |")
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(crowd["counts"].items(), key=str))
    print(f"\nCrowd: {args.clients} clients × {args.requests} MSSNet tile requests at once (×4 and ×8 of "
          f"{args.images[-1]}), {crowd['seconds']:.1f} s: {counts}; of the {crowd['retried']} told to retry "
          f"{crowd['retried'] - crowd['lost']} were answered on retry ({crowd['retry_seconds']:.1f} s), "
          f"{crowd['lost']} lost; server RSS afterwards {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
