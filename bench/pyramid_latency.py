"""Latency of pyramid views through the API, in units of one MSSNet pass; server memory.

    python bench/pyramid_latency.py                 # five example images, 384² viewport
    python bench/pyramid_latency.py --images 2 --views 6

The app runs as its own process (``python app.py``, as bench/load.py starts it) so its
resident memory can be read from /proc; requests go through ``gradio_client`` to
``/zoom_sharpen``. The unit is one MSSNet pass of the default weights on a 384² image,
measured in this run on this CPU (precision ``auto``). For each image in turn:

1. the first view of the new image (×2 at its centre): its tiles are computed;
2. a pause of ``--pause`` passes (a person looking at it) while the background fill runs;
3. ``--views`` views at zooms drawn in [1.3, 2] with centres within 60 px of the first.

Before the app starts, the same call shape is timed against ``bench/echo_app.py`` (same inputs
and outputs, no work): Gradio's own round trip (upload, queue, file hand-over, download), the
floor under every view. The table shows each latency and what is left above that floor.

Targets (issue 12): first view ≤ 1.5 passes, later views median ≤ 0.15 passes, server
RSS < 1.5 GB with five images explored in turn.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from load import MemoryWatch, rss_mib, start_process, start_server  # bench/load.py
from serving import free_port  # bench/serving.py
from timing import cpu_kind  # bench/timing.py

from mssnet.model.weights import load_model
from mssnet.pyramid.tiles import DEFAULT_MARGIN, DEFAULT_TILE
from mssnet.runtime.inference import resolve_precision, sharpen

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("astronaut.png", "chelsea.png", "coffee.png", "siemens_star.png", "zone_plate.png", "fine_text.png")


def one_pass_seconds(threads: int) -> tuple[float, str]:
    """Median seconds of one MSSNet pass (default weights, 384², precision auto) and the precision used."""
    torch.set_num_threads(threads)
    model = load_model(None)
    x = np.random.default_rng(0).random((384, 384, 3), dtype=np.float32)
    sharpen(model, x)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        sharpen(model, x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), resolve_precision("auto", torch.device("cpu"))


def echo_floor(image: str, viewport: int, calls: int = 12) -> float:
    """Median seconds of a ``/zoom_sharpen``-shaped call that does no work (bench/echo_app.py)."""
    from gradio_client import Client, handle_file

    port = free_port()
    server = start_process([sys.executable, str(ROOT / "bench" / "echo_app.py"), str(port)], port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        times = []
        for _ in range(calls + 2):
            t0 = time.perf_counter()
            client.predict(handle_file(image), 1.5, None, None, viewport, "", api_name="/zoom_sharpen_echo")
            times.append(time.perf_counter() - t0)
        return statistics.median(times[2:])  # the first calls warm the connection
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=5)
    p.add_argument("--views", type=int, default=10, help="views per image after the pause")
    p.add_argument("--pause", type=float, default=10, help="pause after the first view, in passes")
    p.add_argument("--viewport", type=int, default=384)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    from gradio_client import Client, handle_file

    unit, precision = one_pass_seconds(args.threads)
    print(f"CPU: {cpu_kind()}, {os.cpu_count()} cores, torch threads {args.threads}; precision auto -> "
          f"{precision} (bf16 {'used' if precision == 'bf16' else 'not used'}); one pass (384²) = {unit:.2f} s",
          flush=True)
    floor = echo_floor(str(ROOT / "assets" / "examples" / IMAGES[0]), args.viewport)
    print(f"Gradio round trip of a /zoom_sharpen-shaped call that does no work: {floor:.3f} s = "
          f"{floor / unit:.2f} passes", flush=True)
    port = free_port()
    server = start_server(port, None, args.threads)
    watch = MemoryWatch(server.pid)
    watch.start()
    rows, rng = [], random.Random(0)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        print(f"server RSS after start {rss_mib(server.pid):.0f} MiB", flush=True)
        for name in IMAGES[: args.images]:
            image = handle_file(str(ROOT / "assets" / "examples" / name))

            def ask(zoom: float, cx: float | None, cy: float | None, image=image) -> tuple[float, dict]:
                t0 = time.perf_counter()
                _, _, info = client.predict(image, zoom, cx, cy, args.viewport, None, api_name="/zoom_sharpen")
                return time.perf_counter() - t0, info

            first, info = ask(2.0, None, None)
            first_tiles = info["tiles"]["computed"]
            x0, y0, w, h = info["rect"]
            cx, cy = x0 + w / 2, y0 + h / 2
            time.sleep(args.pause * unit)
            later, computed = [], 0
            for _ in range(args.views):
                zoom = rng.uniform(1.3, 2.0)
                angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(0, 60)
                seconds, info = ask(zoom, cx + radius * np.cos(angle), cy + radius * np.sin(angle))
                later.append(seconds)
                computed += info["tiles"]["computed"]
            rows.append((name, first, first_tiles, statistics.median(later), max(later), computed,
                         rss_mib(server.pid)))
            print(f"{name}: first {first / unit:.2f} passes, later median {statistics.median(later) / unit:.3f}",
                  flush=True)
    finally:
        watch.stop()
        server.terminate()
        server.wait(timeout=30)

    print(f"\n## Pyramid views through /zoom_sharpen ({args.viewport}² viewport), unit = one pass = {unit:.2f} s; "
          f"Gradio's round trip alone (bench/echo_app.py) = {floor / unit:.2f} passes\n")
    print("| image | first view (passes) | its tiles (MSSNet input at most, passes) | later views, median (passes) "
          "| later, above Gradio's round trip | later, max | tiles computed by later views | server RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    tile_passes = (DEFAULT_TILE + 2 * DEFAULT_MARGIN) ** 2 / 384**2  # an inner tile's pass (edge tiles: less)
    for name, first, tiles, med, worst, computed, rss in rows:
        print(f"| {name} | {first / unit:.2f} | {tiles} ({tiles * tile_passes:.1f}) | {med / unit:.3f} "
              f"| {(med - floor) / unit:+.3f} | {worst / unit:.3f} | {computed} | {rss:.0f} |")
    firsts = [r[1] / unit for r in rows]
    meds = [r[3] / unit for r in rows]
    print(f"\nfirst view median {statistics.median(firsts):.2f} passes (target ≤ 1.5); later views median of "
          f"medians {statistics.median(meds):.3f} passes (target ≤ 0.15; Gradio's round trip alone "
          f"{floor / unit:.3f}); server peak RSS {watch.peak:.0f} MiB over {len(rows)} images (target < 1536)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
