"""Screenshots of every tab of the studio at a projector's 1280×720, for the README.

    python bench/screenshots.py                       # bundled weights -> assets/screenshots/
    python bench/screenshots.py --out /tmp/shots --weights model.safetensors

The app runs in this process on a free port; Chromium opens the page and, without a
click, waits for the opening map (its MSSNet tiles in, the exact view drawn at rest) and
the panels explaining the region on screen (maps, decision panel, saliency). The map is
shot twice: the curtain as it opens, and with the edge-gain layer on. Then each tab is
opened and its button pressed; every shot is the 1280×720 window the audience sees, the
tab bar at its top (Explore: the page's top). PNG, palette-quantised.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serving import projector_page, running  # noqa: E402 (bench/serving.py)

TIMEOUT_MS = 300_000


def wait_image(page, selector: str, old: str | None = None) -> None:
    """Until ``selector`` is an <img> with a src other than ``old`` (Gradio's images load lazily:
    one below the fold gets its pixels only when scrolled to, see :func:`save`)."""
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.getAttribute('src')"
        " && e.getAttribute('src') !== old; }",
        arg=[selector, old], timeout=TIMEOUT_MS)


def save(page, path: Path) -> None:
    from PIL import Image

    page.wait_for_function(  # every image in the window has its pixels
        "() => [...document.images].filter(e => { const r = e.getBoundingClientRect();"
        " return r.bottom > 0 && r.top < innerHeight && r.width > 0; }).every(e => e.complete && e.naturalWidth > 0)",
        timeout=TIMEOUT_MS)
    time.sleep(0.8)  # let progress bars and transitions settle
    page.screenshot(path=str(path))
    with Image.open(path) as im:
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")


def tab(page, name: str) -> None:
    """Open tab ``name`` and scroll the tab bar to the top of the window."""
    page.get_by_role("tab", name=name).click()
    page.evaluate("document.querySelector('#tabs').scrollIntoView({block: 'start'})")


def wait_map(page, condition: str) -> None:
    """Until ``condition`` (JS, of ``d``: the map's state attributes on #viewer) holds."""
    page.wait_for_function("() => { const d = document.querySelector('#viewer')?.dataset;"
                           f" return d && ({condition}); }}", timeout=TIMEOUT_MS)


def shoot(page, out: Path) -> None:
    wait_map(page, "Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0' && d.atRest === '1'")
    for selector in ("#map-edges img", "#decision-plot img", "#map-visual img"):
        wait_image(page, selector)
    page.evaluate("window.scrollTo(0, 0)")
    save(page, out / "explore.png")
    page.locator("#viewer .zs-gain-on").check()
    wait_map(page, "Number(d.edgeGain) > 0 && d.loading === '0'")
    save(page, out / "explore_edge_gain.png")
    page.locator("#viewer .zs-gain-on").uncheck()
    page.evaluate("document.querySelector('#map-edges').scrollIntoView({block: 'start'})")
    save(page, out / "explore_maps.png")
    page.evaluate("document.querySelector('#decision-plot').scrollIntoView({block: 'start'})")
    save(page, out / "explore_decision.png")
    page.locator("#saliency-btn").click()
    wait_image(page, "#map-saliency img")
    page.evaluate("document.querySelector('#saliency-btn').scrollIntoView({block: 'start'})")
    save(page, out / "explore_saliency.png")

    tab(page, "Attribution")
    page.get_by_role("button", name="Explain this window").click()
    wait_image(page, "#attr-plot img")
    tab(page, "Attribution")
    save(page, out / "attribution.png")

    tab(page, "Stages")
    wait_image(page, "#stages-changes img")
    tab(page, "Stages")
    save(page, out / "stages.png")

    tab(page, "Every zoom level")
    page.get_by_role("button", name="Run every zoom level").click()
    wait_image(page, "#sweep-plot img")
    page.evaluate("document.querySelector('#sweep-gallery').scrollIntoView({block: 'start'})")
    save(page, out / "every_zoom_level.png")

    tab(page, "Simulate")
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_selector("text=PSNR (Y)", timeout=TIMEOUT_MS)
    tab(page, "Simulate")
    save(page, out / "simulate.png")

    tab(page, "Lesson")
    save(page, out / "lesson.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="weights file (default: the bundled one)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "assets" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with running(args.weights) as (url, _demo), sync_playwright() as p:
        with projector_page(p, url, args.chromium, TIMEOUT_MS) as page:
            shoot(page, args.out)


if __name__ == "__main__":
    main()
