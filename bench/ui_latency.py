"""Interactive latency of the studio in a real browser (Chromium through Playwright); prints a table.

    python bench/ui_latency.py                           # bundled weights, 5 slider releases
    python bench/ui_latency.py --runs 3 --threads 2

What is measured (1280×720, the map as it opens):
the app runs in this process on a free port; Chromium loads the page, waits for the map
of the opening example to settle, then for each run drags the zoom slider to a new zoom
(never seen before) and times, from the mouse button's release: the map drawn at the
released zoom (in the browser, no server round trip); every MSSNet tile on screen arrived
(none pending or loading: bicubic shows under a tile until then; tiles are per power-of-two
level, so a zoom in a level already shown needs none); the exact view drawn over the map at
rest; the heat maps of the region on screen displayed. Before the next drag it waits for the
region's saliency too, as a person would look at the result. A last run drags back to the
zoom the page started with: the cached case. Targets: release -> map at the new zoom
<= 0.1 s; -> MSSNet tiles in <= 1.0 s median (uncached), <= 0.3 s where the tiles are cached
(plus the map's 0.3 s rest for the exact view).

``--threads`` sets torch's threads in the server (default 1: this machine's two cores
are shared with training; ``python app.py`` itself uses torch's default).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from map_latency import cpu_kind  # noqa: E402 (bench/map_latency.py)
from serving import projector_page, running  # noqa: E402 (bench/serving.py)

import app  # noqa: E402

ZOOMS = (2.3, 2.9, 3.6, 4.4, 5.2, 6.1, 7.0, 2.6, 3.2, 4.0)
TIMEOUT_MS = 180_000
SETTLED = "Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0'"


def src(page, selector: str) -> str | None:
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('src') ?? null")


def wait_map(page, condition: str, arg=None, timeout: int = TIMEOUT_MS) -> None:
    """Until ``condition`` (JS, of ``d``: #viewer's dataset, and ``arg``) holds; polled every frame."""
    page.wait_for_function("(arg) => { const d = document.querySelector('#viewer')?.dataset;"
                           f" return d && ({condition}); }}", arg=arg, polling="raf", timeout=timeout)


def wait_new_image(page, selector: str, old: str | None, timeout: int = TIMEOUT_MS) -> None:
    """Until ``selector`` is an <img> with a src other than ``old`` that has loaded."""
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel);"
        " return e && e.getAttribute('src') && e.getAttribute('src') !== old && e.complete && e.naturalWidth > 0; }",
        arg=[selector, old], polling="raf", timeout=timeout)


def drag_zoom(page, value: float) -> None:
    """Drag the zoom slider's thumb from its current position to ``value`` and release it."""
    slider = page.locator("#zoom input[type=range]")
    box = slider.bounding_box()
    current = float(page.locator("#zoom input[type=number]").input_value())

    def x_of(v: float) -> float:  # the thumb (about 16 px) travels the track minus its width
        thumb = 16
        return box["x"] + thumb / 2 + (v - app.MIN_FACTOR) / (app.MAX_FACTOR - app.MIN_FACTOR) * (box["width"] - thumb)

    y = box["y"] + box["height"] / 2
    page.mouse.move(x_of(current), y)
    page.mouse.down()
    page.mouse.move(x_of(value), y, steps=8)
    page.mouse.up()


def measure(page, runs: int) -> list[dict]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    wait_map(page, SETTLED)
    wait_new_image(page, "#map-edge-gain img", None)
    rows = []
    zooms = list(ZOOMS[:runs])
    start = float(page.locator("#zoom input[type=number]").input_value())
    for i, zoom in enumerate([*zooms, start]):  # last: back to the first view (cached)
        old_map, old_saliency = src(page, "#map-edge-gain img"), src(page, "#map-saliency img")
        tiles = int(page.evaluate("() => Number(document.querySelector('#viewer').dataset.mssnetTiles)"))
        drag_zoom(page, zoom)
        t0 = time.perf_counter()
        shown = float(page.locator("#zoom input[type=number]").input_value())
        wait_map(page, "Math.abs(Number(d.zoom) - arg) < 0.003", shown)
        t_map = time.perf_counter() - t0
        wait_map(page, SETTLED + " && Number(d.mssnetTiles) >= arg", tiles)
        t_tiles = time.perf_counter() - t0
        wait_map(page, "d.atRest === '1'")
        t_exact = time.perf_counter() - t0
        wait_new_image(page, "#map-edge-gain img", old_map)
        t_maps = time.perf_counter() - t0
        rows.append({"run": i + 1 if i < len(zooms) else "back", "zoom": shown, "map": t_map, "tiles": t_tiles,
                     "exact": t_exact, "maps": t_maps})
        with contextlib.suppress(PlaywrightTimeoutError):  # a person looks at the region: its saliency is drawn too
            wait_new_image(page, "#map-saliency img", old_saliency, timeout=60_000)
        time.sleep(0.5)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="weights file (default: the bundled one)")
    parser.add_argument("--runs", type=int, default=5, help=f"slider releases to new zooms (at most {len(ZOOMS)})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not 1 <= args.runs <= len(ZOOMS):
        parser.error(f"--runs must be between 1 and {len(ZOOMS)}")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(args.threads)
    from playwright.sync_api import sync_playwright

    with running(args.weights) as (url, demo), sync_playwright() as p:
        with projector_page(p, url, args.chromium, TIMEOUT_MS) as page:
            page.wait_for_selector("#zoom input[type=range]")
            rows = measure(page, args.runs)
        model = demo.studio.default_label

    print("\n## Slider release -> the map, its MSSNet tiles, its exact view and the panels, in Chromium at 1280×720\n")
    print(f"CPU: {cpu_kind()} · model: {model} · torch threads in the server: {args.threads}\n")
    print("| run | zoom | → map at the zoom (s) | → MSSNet tiles in (s) | → exact view (s) | → heat maps (s) |")
    print("|-----|-----:|------:|------:|------:|------:|")
    for r in rows:
        print(f"| {r['run']} | ×{r['zoom']:.2f} | {r['map']:.2f} | {r['tiles']:.2f} | {r['exact']:.2f} | "
              f"{r['maps']:.2f} |")

    def summary(key: str, cached: bool) -> str:
        times = [r[key] for r in rows if (r["run"] == "back") == cached]
        return f"{statistics.median(times):.2f} s ({len(times)} runs)" if times else "no run"

    print(f"\nmedian release → map at the new zoom {summary('map', False)} (target ≤ 0.1 s); → MSSNet tiles in: "
          f"new zoom {summary('tiles', False)} (target ≤ 1.0 s), back to the first zoom {summary('tiles', True)} "
          f"(target ≤ 0.3 s); → heat maps {summary('maps', False)}")


if __name__ == "__main__":
    main()
