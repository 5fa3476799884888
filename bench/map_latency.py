"""How quickly the studio's deep-zoom map answers in a real browser (Chromium through Playwright); prints a table.

    python bench/map_latency.py                  # bundled weights, 10 runs of each input
    python bench/map_latency.py --runs 20 --weights model.safetensors

The app runs in this process on a free port; Chromium opens the page at 1280×720 and waits until the map
is open and its tiles are in. Then, in the page's own clock (``performance.now``, the events' timeStamp):
- wheel -> first frame with the new zoom: from the wheel event to the end of the animation frame in which
  #viewer's data-zoom first changes (the frame OpenSeadragon drew at the new zoom); over the map, and over the
  curtain's divider (which starts in the middle of the map, where a user's pointer often is);
- slider key -> first frame: the same from an ArrowRight keydown on the zoom slider;
- frames/s while zooming: wheel notches every 40 ms for 2 s, in and out over tiles already loaded,
  counting the animation frames that drew a new zoom;
- wheel -> slider follows: until the slider's number box shows the map's zoom (rounded to its step).
Targets: <= 100 ms, >= 30 frames/s, <= 1 s. The map runs in the browser: the CPU kind matters less than
for the tiles, but this machine's two cores are shared with the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import timing  # noqa: E402 (bench/timing.py)
from serving import projector_page, running  # noqa: E402 (bench/serving.py)

TIMEOUT_MS = 300_000

# In the page: remember the last input's timeStamp, and the end of the first frame after data-zoom changes.
PROBE = """() => {
  const viewer = document.querySelector('#viewer');
  const probe = window.zsProbe = {input: 0, frame: 0, frames: [], counting: false, zoom: viewer.dataset.zoom};
  for (const kind of ['wheel', 'keydown']) {
    document.addEventListener(kind, (e) => { probe.input = e.timeStamp; probe.frame = 0; }, true);
  }
  new MutationObserver(() => {
    if (viewer.dataset.zoom === probe.zoom) return;
    probe.zoom = viewer.dataset.zoom;
    const changed = performance.now();
    // the frame in progress ends when the browser paints; the next rAF callback starts after it
    requestAnimationFrame((t) => {
      if (!probe.frame) probe.frame = Math.max(changed, t);
      if (probe.counting) probe.frames.push(t);
    });
  }).observe(viewer, {attributes: true, attributeFilter: ['data-zoom']});
}"""

FOLLOWED = """([step]) => {
  const z = Number(document.querySelector('#viewer').dataset.zoom);
  const want = Math.min(8, Math.max(1, Math.round(z / step) * step));
  return Math.abs(Number(document.querySelector('#zoom input[type=number]').value) - want) < 1e-6;
}"""


def cpu_kind() -> str:
    """:func:`timing.cpu_kind` with the number of cores (the server and the browser share them)."""
    return f"{timing.cpu_kind()}, {os.cpu_count()} cores"


def wait_settled(page) -> None:
    page.wait_for_function("() => { const d = document.querySelector('#viewer')?.dataset; return d && d.zoom"
                           " && Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0'; }",
                           timeout=TIMEOUT_MS)


def wait_frame(page) -> float:
    """ms from the last input to the end of the first frame at a new zoom."""
    page.wait_for_function("() => zsProbe.frame > 0", timeout=10_000)
    return page.evaluate("() => zsProbe.frame - zsProbe.input")


def map_point(page) -> tuple[float, float]:
    """A point on the map away from the curtain (its middle) and the tools."""
    box = page.locator("#viewer").bounding_box()
    return box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4


def divider_point(page) -> tuple[float, float]:
    """A point on the curtain's divider, a third of the way down (away from its handle)."""
    box = page.locator("#viewer .zs-curtain").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 3


def wheel_runs(page, runs: int, point: tuple[float, float]) -> tuple[list[float], list[float]]:
    """-> (wheel -> first frame ms, wheel -> slider number follows ms) at ``point``, alternating in and out."""
    page.mouse.move(*point)
    frames, follows = [], []
    for i in range(runs):
        page.evaluate("() => { zsProbe.frame = 0; }")
        page.mouse.wheel(0, -120 if i % 2 == 0 else 120)
        frames.append(wait_frame(page))
        page.wait_for_function(FOLLOWED, arg=[0.05], polling="raf", timeout=10_000)
        follows.append(page.evaluate("() => performance.now() - zsProbe.input"))
        page.wait_for_timeout(700)  # the zoom animation ends, the map rests
    return frames, follows


def key_runs(page, runs: int) -> list[float]:
    slider = page.locator("#zoom input[type=range]")
    slider.focus()
    out = []
    for i in range(runs):
        page.evaluate("() => { zsProbe.frame = 0; }")
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        out.append(wait_frame(page))
        page.wait_for_timeout(300)
    page.evaluate("() => document.activeElement.blur()")
    return out


def zoom_fps(page, seconds: float = 2.0) -> float:
    """Animation frames per second that drew a new zoom, wheeling in and out every 40 ms."""
    x, y = map_point(page)
    page.mouse.move(x, y)

    def wheel_for(duration: float, count: bool) -> None:
        if count:
            page.evaluate("() => { zsProbe.frames = []; zsProbe.counting = true; }")
        end, i = time.perf_counter() + duration, 0
        while time.perf_counter() < end:
            page.mouse.wheel(0, -60 if (i // 6) % 2 == 0 else 60)
            i += 1
            page.wait_for_timeout(40)
        if count:
            page.evaluate("() => { zsProbe.counting = false; }")

    wheel_for(seconds, count=False)  # the same zooms once first: their tiles are loaded
    wait_settled(page)
    wheel_for(seconds, count=True)
    frames = page.evaluate("() => zsProbe.frames")
    return (len(frames) - 1) / ((frames[-1] - frames[0]) / 1000) if len(frames) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="weights file (default: the bundled one)")
    parser.add_argument("--runs", type=int, default=10, help="inputs of each kind")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import torch
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(args.threads)
    with running(args.weights) as (url, demo), sync_playwright() as p:
        with projector_page(p, url, args.chromium, TIMEOUT_MS) as page:
            wait_settled(page)
            page.evaluate(PROBE)
            wheel_frames, follows = wheel_runs(page, args.runs, map_point(page))
            divider_frames, _ = wheel_runs(page, args.runs, divider_point(page))
            key_frames = key_runs(page, args.runs)
            fps = zoom_fps(page)
        model = demo.studio.default_label

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ms (max {max(values):.0f})"

    print("\n## The deep-zoom map in Chromium, 1280×720\n")
    print(f"CPU: {cpu_kind()} · model: {model} · torch threads in the server: {args.threads} · "
          f"{args.runs} runs of each input, medians\n")
    print("| measure | median | target |")
    print("|---|---:|---:|")
    print(f"| wheel → first frame at the new zoom | {ms(wheel_frames)} | ≤ 100 ms |")
    print(f"| wheel over the curtain's divider → first frame at the new zoom | {ms(divider_frames)} | ≤ 100 ms |")
    print(f"| slider arrow key → first frame at the new zoom | {ms(key_frames)} | ≤ 100 ms |")
    print(f"| frames/s while zooming over loaded tiles | {fps:.0f} | ≥ 30 |")
    print(f"| wheel → the slider's number follows | {ms(follows)} | ≤ 1000 ms |")


if __name__ == "__main__":
    main()
