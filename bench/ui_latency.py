"""Interactive latency of the studio in a real browser (Chromium through Playwright); prints a table.

    python bench/ui_latency.py                           # bundled weights, 384² viewport, 5 releases
    python bench/ui_latency.py --runs 3 --viewport 256
    python bench/ui_latency.py --screenshots assets/screenshots   # also save the README screenshots

What is measured (384² by default):
the app runs in this process on a free port; Chromium loads the page, picks the
astronaut example and the viewport size, then for each run drags the zoom slider to a
new zoom (never seen before, so nothing is cached) and times, from the mouse button's
release, until the MSSNet view at the released zoom is *displayed* (its <img> has a new src
and has finished loading, and the time line names that zoom: a preview of a zoom the drag
passed does not count) and until the heat maps are displayed; before the next drag it waits
for the view's saliency map too, as a person would look at the result. The server's own
MSSNet time is read from the page ("cached": the background fill had sharpened the tiles).
A last run drags back to the zoom the page started with: the cached case. Targets: release
-> new MSSNet view ≤ 1.0 s median (uncached), ≤ 0.3 s where the tiles are cached.

``--threads`` sets torch's threads in the server (default 1: this machine's two cores
are shared with training; ``python app.py`` itself uses torch's default).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serving import running  # noqa: E402 (bench/serving.py)

import app  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ZOOMS = (2.3, 2.9, 3.6, 4.4, 5.2, 6.1, 7.0, 2.6, 3.2, 4.0)
TIMEOUT_MS = 180_000


def wait_new_image(page, selector: str, old: str | None, timeout: int = TIMEOUT_MS) -> str:
    """Wait until ``selector`` shows an <img> with a src other than ``old`` that has loaded."""
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel);"
        " return e && e.getAttribute('src') && e.getAttribute('src') !== old && e.complete && e.naturalWidth > 0; }",
        arg=[selector, old], polling="raf", timeout=timeout,
    )
    return page.evaluate(f"() => document.querySelector({selector!r}).getAttribute('src')")


def src(page, selector: str) -> str | None:
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('src') ?? null")


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


def server_mssnet_seconds(page) -> str:
    text = page.locator("#timing").inner_text()
    match = re.search(r"MSSNet ([0-9.]+ m?s)", text)
    return (match.group(1) if match else "?") + (" (cached)" if "cached" in text else "")


def wait_view_at(page, zoom: float, old: str | None) -> None:
    """Wait until the MSSNet view *at* ``zoom`` is displayed: a new, loaded <img> and the time line of
    a sharpened view at that zoom (a preview still arriving for a zoom the drag passed does not count)."""
    page.wait_for_function(
        "([old, tag]) => { const e = document.querySelector('#sharpened img');"
        " const t = document.querySelector('#timing')?.innerText ?? '';"
        " return e && e.getAttribute('src') !== old && e.complete && e.naturalWidth > 0"
        " && t.includes(tag) && !t.includes('sharpening'); }",
        arg=[old, f"at ×{zoom:.2f} "], polling="raf", timeout=TIMEOUT_MS,
    )


def wait_maps_done(page, old_map: str | None) -> None:
    """Wait until the heat maps of the current view are shown (the timing line then names them)."""
    wait_new_image(page, "#map-edge-gain img", old_map)
    page.wait_for_function("() => document.querySelector('#timing')?.innerText.includes('heat maps')",
                           polling="raf", timeout=TIMEOUT_MS)


def measure(page, viewport: int, runs: int) -> list[dict]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.locator(".gallery-item").first.click()  # astronaut
    view = wait_new_image(page, "#sharpened img", None)
    wait_maps_done(page, None)
    if viewport != app.DEFAULT_VIEWPORT:
        old_map = src(page, "#map-edge-gain img")
        page.get_by_label(str(viewport), exact=True).check()
        wait_new_image(page, "#sharpened img", view)
        wait_maps_done(page, old_map)
    rows = []
    zooms = list(ZOOMS[:runs])
    for i, zoom in enumerate([*zooms, app.DEFAULT_ZOOM]):  # last: back to the first view (cached)
        old_view, old_map = src(page, "#sharpened img"), src(page, "#map-edge-gain img")
        old_saliency = src(page, "#map-saliency img")
        drag_zoom(page, zoom)
        t0 = time.perf_counter()
        shown = float(page.locator("#zoom input[type=number]").input_value())
        wait_view_at(page, shown, old_view)
        t_view = time.perf_counter() - t0
        wait_maps_done(page, old_map)
        t_maps = time.perf_counter() - t0
        rows.append({"run": i + 1 if i < len(zooms) else "back", "zoom": shown, "view": t_view,
                     "maps": t_maps, "server": server_mssnet_seconds(page)})
        with contextlib.suppress(PlaywrightTimeoutError):  # a person looks at the view: its saliency is drawn too
            wait_new_image(page, "#map-saliency img", old_saliency, timeout=60_000)
        time.sleep(0.5)
    return rows


def screenshots(page, folder: Path) -> None:
    """Main tab and explanation tabs, as PNG, for the README (uses the view left by measure())."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        with Image.open(path) as im:
            im = im.convert("RGB")
            im = im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.Resampling.LANCZOS)
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")

    page.evaluate("window.scrollTo(0, 0)")
    shot("explore")
    box = page.locator("#sharpened img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)  # pick a window
    page.get_by_role("tab", name="Attribution").click()
    page.get_by_role("button", name="Explain this window").click()
    wait_new_image(page, "#attr-plot img", None)
    shot("attribution")
    page.get_by_role("tab", name="Stages").click()
    wait_new_image(page, "#stages-plot img", None)
    shot("stages")
    page.get_by_role("tab", name="Every zoom level").click()
    page.get_by_role("button", name="Run every zoom level").click()
    wait_new_image(page, "#sweep-plot img", None)
    shot("every_zoom_level")
    page.get_by_role("tab", name="Simulate").click()
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_selector("text=PSNR (Y)", timeout=TIMEOUT_MS)
    time.sleep(1.0)
    shot("simulate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="weights file (default: the bundled one)")
    parser.add_argument("--viewport", type=int, default=384, choices=app.VIEWPORTS)
    parser.add_argument("--runs", type=int, default=5, help=f"slider releases to new zooms (at most {len(ZOOMS)})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--screenshots", type=Path, help="also save screenshots of every tab into this folder")
    args = parser.parse_args()
    if not 1 <= args.runs <= len(ZOOMS):
        parser.error(f"--runs must be between 1 and {len(ZOOMS)}")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(args.threads)
    from playwright.sync_api import sync_playwright

    with running(args.weights) as (url, demo), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector("#zoom input[type=range]")
            rows = measure(page, args.viewport, args.runs)
            if args.screenshots:
                screenshots(page, args.screenshots)
        finally:
            browser.close()

    model = demo.studio.default_label
    print(f"\n## Slider release -> view displayed in Chromium, {args.viewport}² viewport\n")
    print(f"model: {model} · torch threads in the server: {args.threads} · CPU cores: {os.cpu_count()}\n")
    print("| run | zoom | release → MSSNet view (s) | release → heat maps (s) | server MSSNet |")
    print("|-----|-----:|--------------------------:|------------------------:|--------------:|")
    for r in rows:
        print(f"| {r['run']} | ×{r['zoom']:.2f} | {r['view']:.2f} | {r['maps']:.2f} | {r['server']} |")
    computed = [r["view"] for r in rows if "cached" not in r["server"]]
    cached = [r["view"] for r in rows if "cached" in r["server"]]

    def summary(times: list[float]) -> str:
        return f"{statistics.median(times):.2f} s ({len(times)} runs)" if times else "no run"

    print(f"\nmedian release → MSSNet view: tiles computed {summary(computed)} (target ≤ 1.0 s); tiles cached, "
          f"including the way back {summary(cached)} (target ≤ 0.3 s)")


if __name__ == "__main__":
    main()
