"""Deep-zoom tile service: first tile, first screenful, cached tiles, memory and a crowd, in MSSNet passes.

    python bench/deepzoom.py                      # bundled quality weights, five examples, 20 clients
    python bench/deepzoom.py --model fast --images astronaut.png chelsea.png --clients 10

The app runs as its own process (``python app.py``, so its memory can be read from /proc). The unit
is one MSSNet pass of the same weights on 384², timed in this process before the server starts (the
table also gives one tile's pass: 256² + 32 px margins = 320²). For each image:

* ``/deep_zoom`` answers (``gradio_client``), then the first MSSNet tile — the ×2 tile under the
  image's middle, fetched over HTTP and retried on 503 as the viewer does — is timed from that answer;
* the first screenful: every MSSNet tile of a ``--screen`` px map at ×2 around the middle, fetched by
  six connections at once (a browser's limit per host), against the sum of its tile passes (distinct
  pyramid tiles under it × one tile pass);
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
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import rss_mib, start_process  # noqa: E402  (bench/load.py)
from serving import free_port  # noqa: E402
from timing import cpu_kind, median_seconds  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"
TILE = 256


def fetch(url: str, timeout: float = 120.0) -> tuple[int, bytes, float | None]:
    """GET -> (status, body, Retry-After seconds or None); HTTP errors are statuses, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), None
    except urllib.error.HTTPError as e:
        retry = e.headers.get("Retry-After")
        return e.code, e.read(), float(retry) if retry else None


def fetch_until_ok(url: str, deadline: float = 300.0) -> tuple[bytes, int]:
    """GET, retrying 503s after their Retry-After (as the viewer does) -> (body, retries)."""
    end, retries = time.monotonic() + deadline, 0
    while True:
        status, body, retry = fetch(url)
        if status == 200:
            return body, retries
        if status != 503 or time.monotonic() > end:
            raise RuntimeError(f"{url}: HTTP {status} {body[:200]!r}")
        retries += 1
        time.sleep(min(retry or 1.0, 1.0))


def screen_tiles(info: dict, zoom: int, center: tuple[float, float], screen: tuple[int, int]) -> list[tuple]:
    """(level, col, row) of the DZI tiles a ``screen`` (w, h) map at ``zoom`` around ``center`` shows."""
    level = info["max_level"] - 3 + int(math.log2(zoom))
    lw, lh = info["width"] * zoom, info["height"] * zoom
    x0, x1 = max(0, center[0] * zoom - screen[0] / 2), min(lw, center[0] * zoom + screen[0] / 2)
    y0, y1 = max(0, center[1] * zoom - screen[1] / 2), min(lh, center[1] * zoom + screen[1] / 2)
    return [(level, c, r) for r in range(int(y0) // TILE, math.ceil(y1 / TILE))
            for c in range(int(x0) // TILE, math.ceil(x1 / TILE))]


def pyramid_tiles(tiles: list[tuple], overlap: int, size: tuple[int, int]) -> int:
    """Distinct 256² pyramid tiles the DZI tiles read (their overlap reaches into the neighbours)."""
    seen = set()
    for _, c, r in tiles:
        for rr in range(max(0, r - (overlap > 0)), r + 1 + (overlap > 0)):
            for cc in range(max(0, c - (overlap > 0)), c + 1 + (overlap > 0)):
                if cc * TILE < size[0] and rr * TILE < size[1]:
                    seen.add((cc, rr))
    return len(seen)


def unit_passes(model_name: str, threads: int) -> tuple[float, float]:
    """Median seconds of one MSSNet pass on 384² and on 320² (one tile with its margins), this process."""
    import torch

    import mssnet
    from mssnet.inference import sharpen_tensor
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

        # a crowd: every client asks for its tiles at once, no retries
        info = infos[-1]
        top = info["max_level"]
        wanted = [(lv, c, r) for lv in (top - 1, top) for r in range(4) for c in range(4)]
        results: list[tuple[int, str]] = []
        lock = threading.Lock()

        def crowd(k: int) -> None:
            for j in range(args.requests):
                lv, c, r = wanted[(k * args.requests + j) % len(wanted)]
                url = f"{base}/dz/{info['id']}/mssnet_files/{lv}/{c}_{r}.png"
                try:
                    status = fetch(url)[0]
                except Exception as exc:  # noqa: BLE001 (counted, never raised)
                    status = type(exc).__name__
                with lock:
                    results.append((status, url))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=crowd, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_crowd = time.perf_counter() - t0
        retried = [url for status, url in results if status == 503]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:
            later = list(pool.map(lambda u: fetch_until_ok(u)[0] is not None, retried))
        t_retry = time.perf_counter() - t0
        rss = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(30)

    print(f"\nDeep-zoom tiles over HTTP — {cpu_kind()}, {args.threads} threads, {args.model} weights; "
          f"unit = one MSSNet pass on 384² = {unit:.3f} s (one tile's 320² pass = {tile_pass / unit:.2f} passes); "
          f"map {args.screen[0]}×{args.screen[1]} at ×2\n")
    print("| image | /deep_zoom (s) | first MSSNet tile after it (passes) | screenful: tiles (pyramid tiles) | "
          "screenful (passes) | screenful / its tile passes | cached tile (passes) | server RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, t_open, t_first, n, n_pyr, t_screen, t_cached, mib in rows:
        print(f"| {name} | {t_open:.2f} | {t_first / unit:.2f} | {n} ({n_pyr}) | {t_screen / unit:.2f} | "
              f"{t_screen / (n_pyr * tile_pass):.2f} | {t_cached / unit:.4f} | {mib:.0f} |")
    counts: dict[object, int] = {}
    for status, _ in results:
        counts[status] = counts.get(status, 0) + 1
    print(f"\nCrowd: {args.clients} clients × {args.requests} tile requests at once (×4 and ×8 of {args.images[-1]}), "
          f"{t_crowd:.1f} s: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)) +
          f"; the {len(retried)} told to retry were all answered on retry: {all(later)} ({t_retry:.1f} s); "
          f"server RSS afterwards {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
