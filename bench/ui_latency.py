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
rest; the heat maps of the region on screen displayed; the answer (``#answer``) marked pending,
then fresh with its check against the truth; the Explore panels that follow the view (heat maps, the
decision panel, the model of where the eye looks) all drawn. A last run drags back to the zoom the page
started with: the cached case. Then the actions: right after the map comes to rest at a new zoom, a click on
*Explain this window* (Attribution), and a lesson step's *Try it*, each timed from the click to the start
of its handler on the server (the app runs in this process), and for *Try it* also to the start of the
tab's action it asked for (after the step's image is open and its map at rest). Last, uploads of photographs
the server has never seen (an example cropped its own way each time), each timed from the file handed to
the upload to its map open on the page (data-id) and to its first MSSNet tile drawn.
The answer and the panels are also given in MSSNet passes (one 384² pass of the bundled default,
timed in this process) from the map's rest on sharpened tiles (the exact view drawn). Targets:
release -> map at the new zoom <= 0.1 s; -> MSSNet tiles in <= 1.0 s median (uncached), <= 0.3 s
where the tiles are cached (plus the map's 0.3 s rest for the exact view); -> answer pending
<= 0.5 s; rest -> answer fresh <= 3 passes; rest -> Explore panels <= 10 passes; click -> action started
<= 1 pass; map open after an upload -> first MSSNet tile <= 2 passes.

``--threads`` sets torch's threads in the server (default 1: this machine's two cores
are shared with training; ``python app.py`` itself uses torch's default).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepzoom import unit_passes  # noqa: E402 (bench/deepzoom.py)
from map_latency import cpu_kind  # noqa: E402 (bench/map_latency.py)
from serving import projector_page, running  # noqa: E402 (bench/serving.py)

import app  # noqa: E402

ZOOMS = (2.3, 2.9, 3.6, 4.4, 5.2, 6.1, 7.0, 2.6, 3.2, 4.0)
ACTION_ZOOMS = (2.45, 3.35, 4.7, 5.6, 6.6)
#: Lesson steps whose *Try it* is clicked (their number; each opens an example and a tab with an action).
TRY_STEPS = (4, 5)
TIMEOUT_MS = 120_000
SETTLED = "Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0'"


def src(page, selector: str) -> str | None:
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('src') ?? null")


def wait_map(page, condition: str, arg=None, timeout: int = TIMEOUT_MS) -> None:
    """Until ``condition`` (JS, of ``d``: #viewer's dataset, and ``arg``) holds; polled every frame."""
    page.wait_for_function("(arg) => { const d = document.querySelector('#viewer')?.dataset;"
                           f" return d && ({condition}); }}", arg=arg, polling="raf", timeout=timeout)


def wait_new_src(page, selector: str, old: str | None, timeout: int = TIMEOUT_MS) -> None:
    """Until ``selector`` is an <img> with a src other than ``old`` (the panel's result is on the page; an image
    far below the window may wait for a scroll to load its pixels)."""
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel);"
        " return e && e.getAttribute('src') && e.getAttribute('src') !== old; }",
        arg=[selector, old], polling="raf", timeout=timeout)


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


#: The answer describes the view at rest, checked against the truth.
ANSWER_FRESH = ("() => { const a = document.querySelector('#answer');"
                " return a?.dataset.state === 'fresh' && a.innerText.includes('Checked'); }")
ANSWER_PENDING = "() => document.querySelector('#answer')?.dataset.state === 'pending'"


#: When each timed handler of the page started and ended (time.perf_counter() in this process), by name.
STARTS: dict[str, list[float]] = {}
ENDS: dict[str, list[float]] = {}


def record_starts(*names: str) -> None:
    """Wrap ``explain.page.Page``'s handlers ``names`` (before the app is built) to note when each call starts;
    the wrapper keeps the signature the app reads (``inspect`` follows ``__wrapped__``)."""
    from explain.page import Page

    def timed(name: str, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            STARTS.setdefault(name, []).append(time.perf_counter())
            try:
                return fn(*args, **kwargs)
            finally:
                ENDS.setdefault(name, []).append(time.perf_counter())
        return wrapper

    for name in names:
        setattr(Page, name, timed(name, getattr(Page, name)))


def started_after(page, name: str, count: int, t0: float, times: dict | None = None) -> float:
    """Seconds from ``t0`` to the start (``times``: :data:`ENDS`, the end) of handler ``name``'s call number
    ``count + 1``."""
    times = STARTS if times is None else times
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    while len(times.get(name, ())) <= count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{name} did not start or end")
        page.wait_for_timeout(5)
    return times[name][count] - t0


def rest_at(page, zoom: float) -> None:
    """Drag the slider to ``zoom`` and wait until the map is at rest there."""
    drag_zoom(page, zoom)
    shown = float(page.locator("#zoom input[type=number]").input_value())
    wait_map(page, "Math.abs(Number(d.zoom) - arg) < 0.003 && d.atRest === '1'", shown)


def measure_actions(page, runs: int) -> list[dict]:
    """Click -> handler start of *Explain this window* right after a rest, and of lesson *Try it* steps."""
    from explain.page import LESSON_STEPS

    rows = []
    for zoom in ACTION_ZOOMS[:runs]:
        rest_at(page, zoom)
        page.get_by_role("tab", name="Attribution").click()
        count = len(STARTS.get("explain_window", ()))
        t0 = time.perf_counter()
        page.get_by_role("button", name="Explain this window").click()
        rows.append({"action": f"Explain this window, at rest at ×{zoom:g}",
                     "start": started_after(page, "explain_window", count, t0),
                     "done": started_after(page, "explain_window", count, t0, ENDS)})
        page.get_by_role("tab", name="Explore").click()
        page.wait_for_timeout(500)
    for number in TRY_STEPS:
        step = next(s for s in LESSON_STEPS if s.number == number)
        page.get_by_role("tab", name="Lesson").click()
        count, acted = len(STARTS.get("try_it", ())), len(STARTS.get("tab_action", ()))
        button = page.get_by_role("button", name=step.try_it.label)
        button.scroll_into_view_if_needed()
        t0 = time.perf_counter()
        button.click()
        start = started_after(page, "try_it", count, t0)
        rows.append({"action": f"Try it, step {number} ({step.try_it.tab})", "start": start,
                     "tab action": started_after(page, "tab_action", acted, t0)})
        page.wait_for_timeout(1000)
    return rows


def measure_uploads(page, runs: int, folder: Path) -> list[dict]:
    """Upload -> the new map open (data-id) -> its first MSSNet tile drawn, for ``runs`` new photographs."""
    import cv2

    rows = []
    for k in range(runs):
        path = folder / f"upload_{k}.png"
        image = cv2.imread(str(app.EXAMPLES_DIR / app.EXAMPLES[k % 3]))  # the photographs
        cv2.imwrite(str(path), image[8 * (k + 1):, 8 * (k + 1):])  # cropped: an image the server has not seen
        old = page.evaluate("() => document.querySelector('#viewer').dataset.id")
        t0 = time.perf_counter()
        page.set_input_files("#image-in input[type=file]", str(path))
        wait_map(page, "d.id && d.id !== arg", old)
        t_open = time.perf_counter() - t0
        wait_map(page, "Number(d.mssnetTiles) > 0")
        rows.append({"image": f"{app.EXAMPLES[k % 3]} cropped by {8 * (k + 1)} px", "open": t_open,
                     "tile": time.perf_counter() - t0})
        page.wait_for_timeout(3000)
    return rows


def measure(page, runs: int) -> list[dict]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    wait_map(page, SETTLED)
    wait_new_image(page, "#map-edge-gain img", None)
    rows = []
    zooms = list(ZOOMS[:runs])
    start = float(page.locator("#zoom input[type=number]").input_value())
    for i, zoom in enumerate([*zooms, start]):  # last: back to the first view (cached)
        old_map, old_visual = src(page, "#map-edge-gain img"), src(page, "#map-visual img")
        old_decision = src(page, "#decision-plot img")
        tiles = int(page.evaluate("() => Number(document.querySelector('#viewer').dataset.mssnetTiles)"))
        drag_zoom(page, zoom)
        t0 = time.perf_counter()
        page.wait_for_function(ANSWER_PENDING, polling="raf", timeout=TIMEOUT_MS)
        t_pending = time.perf_counter() - t0
        shown = float(page.locator("#zoom input[type=number]").input_value())
        wait_map(page, "Math.abs(Number(d.zoom) - arg) < 0.003", shown)
        t_map = time.perf_counter() - t0
        wait_map(page, SETTLED + " && Number(d.mssnetTiles) >= arg", tiles)
        t_tiles = time.perf_counter() - t0
        wait_map(page, "d.atRest === '1'")
        t_exact = time.perf_counter() - t0
        wait_new_image(page, "#map-edge-gain img", old_map)
        t_maps = time.perf_counter() - t0
        try:
            page.wait_for_function(ANSWER_FRESH, polling="raf", timeout=TIMEOUT_MS)
        except PlaywrightTimeoutError:
            state = page.evaluate("() => [document.querySelector('#answer')?.dataset.state,"
                                  " document.querySelector('#answer')?.innerText]")
            raise RuntimeError(f"the answer did not become fresh with its check: {state}") from None
        t_answer = time.perf_counter() - t0
        t_panels = None
        with contextlib.suppress(PlaywrightTimeoutError):  # the rest of Explore: the eye's model, the decision panel
            wait_new_src(page, "#map-visual img", old_visual, timeout=120_000)
            if old_decision is not None:
                wait_new_src(page, "#decision-plot img", old_decision, timeout=120_000)
            t_panels = time.perf_counter() - t0
        rows.append({"run": i + 1 if i < len(zooms) else "back", "zoom": shown, "map": t_map, "tiles": t_tiles,
                     "exact": t_exact, "maps": t_maps, "pending": t_pending, "answer": t_answer,
                     "panels": t_panels})
        print(f"run {rows[-1]['run']}: " + ", ".join(f"{k} {v:.2f} s" for k, v in rows[-1].items()
                                                 if isinstance(v, float) and k != "zoom"), file=sys.stderr, flush=True)
        page.wait_for_timeout(500)
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

    unit, _ = unit_passes("quality", args.threads)  # one 384² pass, the bundled default
    record_starts("explain_window", "try_it", "tab_action")
    with running(args.weights) as (url, demo), sync_playwright() as p:
        with projector_page(p, url, args.chromium, TIMEOUT_MS) as page:
            page.wait_for_selector("#zoom input[type=range]")
            rows = measure(page, args.runs)
            actions = measure_actions(page, args.runs)
            with tempfile.TemporaryDirectory() as folder:
                uploads = measure_uploads(page, min(args.runs, 3), Path(folder))
        model = demo.studio.default_label

    print("\n## Slider release -> the map, its MSSNet tiles, its exact view and the panels, in Chromium at 1280×720\n")
    print(f"CPU: {cpu_kind()} · model: {model} · torch threads in the server: {args.threads}\n")
    print(f"one MSSNet pass (384², bundled default, this process) = {unit:.3f} s\n")
    print("| run | zoom | → map at the zoom (s) | → answer pending (s) | → MSSNet tiles in (s) | → exact view (s) | "
          "→ heat maps (s) | rest → answer fresh (passes) | rest → Explore panels (passes) |")
    print("|-----|-----:|------:|------:|------:|------:|------:|------:|------:|")

    def passes(r: dict, key: str) -> float | None:
        return None if r[key] is None else (r[key] - r["exact"]) / unit

    for r in rows:
        panels = passes(r, "panels")
        print(f"| {r['run']} | ×{r['zoom']:.2f} | {r['map']:.2f} | {r['pending']:.2f} | {r['tiles']:.2f} | "
              f"{r['exact']:.2f} | {r['maps']:.2f} | {passes(r, 'answer'):.1f} | "
              f"{'–' if panels is None else f'{panels:.1f}'} |")

    def summary(key: str, cached: bool, in_passes: bool = False) -> str:
        times = [passes(r, key) if in_passes else r[key] for r in rows if (r["run"] == "back") == cached]
        times = [t for t in times if t is not None]
        unit_name = "passes" if in_passes else "s"
        return f"{statistics.median(times):.2f} {unit_name} ({len(times)} runs)" if times else "no run"

    print(f"\nmedian release → map at the new zoom {summary('map', False)} (target ≤ 0.1 s); → answer pending "
          f"{summary('pending', False)} (target ≤ 0.5 s); → MSSNet tiles in: new zoom {summary('tiles', False)} "
          f"(target ≤ 1.0 s), back to the first zoom {summary('tiles', True)} (target ≤ 0.3 s); → heat maps "
          f"{summary('maps', False)}; rest → answer fresh {summary('answer', False, True)} (target ≤ 3 passes); "
          f"rest → Explore panels {summary('panels', False, True)} (target ≤ 10 passes)")

    print("\n## Click -> the action's handler started on the server\n")
    print("| action | click → started (s) | (passes) | click → its tab's action started (s) | click → done (s) |")
    print("|---|------:|------:|------:|------:|")
    for a in actions:
        tab, done = a.get("tab action"), a.get("done")
        print(f"| {a['action']} | {a['start']:.2f} | {a['start'] / unit:.2f} | "
              f"{'–' if tab is None else f'{tab:.2f}'} | {'–' if done is None else f'{done:.2f}'} |")
    starts = [a["start"] / unit for a in actions]
    print(f"\nmedian click → action started {statistics.median(starts):.2f} passes, at most {max(starts):.2f} "
          f"({len(starts)} clicks; target ≤ 1 pass)")

    print("\n## Upload of a new photograph -> its map open -> its first MSSNet tile drawn\n")
    print("| photograph | upload → map open (s) | → first MSSNet tile (s) | map open → first MSSNet tile (passes) |")
    print("|---|------:|------:|------:|")
    for u in uploads:
        print(f"| {u['image']} | {u['open']:.2f} | {u['tile']:.2f} | {(u['tile'] - u['open']) / unit:.2f} |")
    after = [(u["tile"] - u["open"]) / unit for u in uploads]
    print(f"\nmedian map open → first MSSNet tile {statistics.median(after):.2f} passes ({len(after)} uploads; "
          "target ≤ 2 passes)")


if __name__ == "__main__":
    main()
