"""The app in a real browser (Chromium through Playwright) at a projector's 1280×720, tiny random model.

The page opens teaching (a sharpened view and its maps without a click); the slider and the
comparison are on screen together; the views are drawn 1:1; arrow keys, the number box, the
mouse wheel and a drag change the view through MSSNet; the edge maps share one colour scale
(read from the figures); the zoom-level gallery shows whole pairs; a corrupt upload shows
one message. Skipped when Playwright or a Chromium binary is missing (``ZS_CHROMIUM`` names
another binary). Takes about a minute on a busy two-core machine.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from bench.serving import running, wait_idle  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

CHROMIUM = os.environ.get("ZS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PROJECTOR = {"width": 1280, "height": 720}
TIMEOUT_MS = 180_000  # a two-core machine shared with training can be slow
VIEWS = ("#compare img", "#bicubic img", "#sharpened img")


@pytest.fixture(scope="module")
def server(tiny_weights):
    with running(tiny_weights) as (url, demo):
        yield url, demo


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium binary at {CHROMIUM} (set ZS_CHROMIUM)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.skip(f"Chromium does not start: {str(exc).splitlines()[0]}")
        try:
            page = browser.new_page(viewport=PROJECTOR)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server[0], wait_until="domcontentloaded")
            page.wait_for_selector("#zoom input[type=range]")
            yield page
        finally:
            browser.close()


def _src(page, selector: str) -> str | None:
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('src') ?? null")


def _wait_new_src(page, selector: str, old: str | None) -> str:
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.getAttribute('src') "
        "&& e.getAttribute('src') !== old; }",
        arg=[selector, old],
    )
    return _src(page, selector)


def _zoom(page) -> float:
    return float(page.locator("#zoom input[type=number]").input_value())


def _wait_view_at(page, zoom: float, old_region: str | None = None) -> str:
    """Wait until MSSNet's view at ``zoom`` is shown (its time line names the zoom and a source region,
    a region other than ``old_region`` if given) with its images decoded -> the source region text.
    A bicubic preview's line ("sharpening…") or an earlier view's never satisfies it."""
    page.wait_for_function(
        "([at, old]) => { const t = document.querySelector('#timing')?.innerText ?? '';"
        " if (!t.includes(at)) return false; const region = t.split('source region')[1];"
        " return region !== undefined && region !== old; }",
        arg=[f"at ×{zoom:.2f} of source region", old_region])
    _wait_loaded(page, VIEWS)
    return page.locator("#timing").inner_text().split("source region")[1]


def _wait_zoom_change(page, old: float) -> float:
    """Wait until the number box shows a zoom other than ``old`` -> that zoom."""
    page.wait_for_function("(old) => Number(document.querySelector('#zoom input[type=number]')?.value) !== old",
                           arg=old)
    return _zoom(page)


def _wait_loaded(page, selectors) -> None:
    page.wait_for_function(
        "(sels) => sels.every(s => { const e = document.querySelector(s); return e && e.complete && e.naturalWidth; })",
        arg=list(selectors))


def test_opens_teaching_on_a_projector(page):
    # no click: the opening example's MSSNet view, the comparison and the maps arrive by themselves
    _wait_new_src(page, "#sharpened img", None)
    _wait_new_src(page, "#map-edges img", None)
    page.wait_for_function("() => [...document.querySelectorAll('#compare img')].filter(e => e.getAttribute('src'))"
                           ".length === 2")
    assert "MSSNet" in page.locator("#timing").inner_text()
    assert "astronaut" in page.locator("#image-info").inner_text()

    # 1280×720, page top: the slider whole and at least 60 % of the comparison on screen together
    page.evaluate("window.scrollTo(0, 0)")
    seen = page.evaluate("""() => {
        const part = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            const w = Math.min(r.right, innerWidth) - Math.max(r.left, 0);
            const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
            return Math.max(0, w) * Math.max(0, h) / (r.width * r.height); };
        return {slider: part('#zoom input[type=range]'), compare: part('#compare img')}; }""")
    assert seen["slider"] == 1.0 and seen["compare"] >= 0.6, seen

    # the views drawn at 1:1: the browser neither enlarges nor shrinks them
    _wait_loaded(page, VIEWS)
    sizes = page.evaluate(f"() => [...document.querySelectorAll({', '.join(VIEWS)!r})]"
                          ".map(e => [e.naturalWidth, e.clientWidth, e.naturalHeight, e.clientHeight])")
    assert len(sizes) == 4 and all(nw == cw and nh == ch for nw, cw, nh, ch in sizes), sizes

    # one colour scale for both edge maps, a signed scale centred on 0 for the gain (from the figures)
    page.wait_for_function("() => document.querySelector('#map-scales textarea')?.value")
    scales = json.loads(page.evaluate("() => document.querySelector('#map-scales textarea').value"))
    before, after = scales["edges"]
    assert before == after and before[0] == 0 and before[1] > 0
    low, high = scales["edge_gain"][0]
    assert low == -high > -1e9 and high > 0
    _wait_new_src(page, "#decision-plot img", None)


def test_keys_number_box_wheel_and_drag_run_mssnet(page):
    # each step waits for MSSNet's view at the step's zoom: previews and late results of the step
    # before never stand in for it
    zoom = _zoom(page)
    _wait_view_at(page, zoom)

    # arrow keys on the slider: a new zoom, and MSSNet runs once the keys rest
    page.locator("#zoom input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _wait_view_at(page, zoom + 0.1)
    assert _zoom(page) == pytest.approx(zoom + 0.1)

    # the number box: Enter runs MSSNet at once
    box = page.locator("#zoom input[type=number]")
    box.fill("4.5")
    box.press("Enter")
    _wait_view_at(page, 4.5)

    # the mouse wheel over the comparison zooms in
    target = page.locator("#compare img").first.bounding_box()
    page.mouse.move(target["x"] + target["width"] / 3, target["y"] + target["height"] / 2)
    page.mouse.wheel(0, -120)
    zoom = _wait_zoom_change(page, 4.5)
    assert zoom > 4.5
    region = _wait_view_at(page, zoom)
    sharp = _src(page, "#sharpened img")

    # dragging the comparison (away from its divider) pans: the source region moves
    page.mouse.move(target["x"] + 40, target["y"] + 40)
    page.mouse.down()
    page.mouse.move(target["x"] + 100, target["y"] + 70, steps=5)
    page.mouse.up()
    _wait_view_at(page, zoom, old_region=region)
    assert _src(page, "#sharpened img") != sharp
    assert _zoom(page) == zoom  # a pan keeps the zoom
    assert page.evaluate("() => { const e = document.querySelector('#compare img'); "
                         "return e.naturalWidth === e.clientWidth; }")


def test_gallery_pairs_and_one_message_for_a_bad_upload(page, server, tmp_path):
    _wait_new_src(page, "#sharpened img", None)
    page.get_by_role("tab", name="Every zoom level").click()
    page.get_by_role("button", name="Run every zoom level").click()
    page.wait_for_function("() => document.querySelectorAll('#sweep-gallery .thumbnail-item img').length >= 7")
    page.locator("#sweep-gallery .thumbnail-item img").first.scroll_into_view_if_needed()
    _wait_loaded(page, ["#sweep-gallery .thumbnail-item img"])
    w, h, cw = page.evaluate("() => { const e = document.querySelector('#sweep-gallery .thumbnail-item img');"
                             " return [e.naturalWidth, e.naturalHeight, e.clientWidth]; }")
    assert w > 1.8 * (h - 40) and cw == w  # bicubic | MSSNet side by side, whole, at 1:1
    page.get_by_role("tab", name="Explore").click()

    # a corrupt upload: one clear message; the app keeps working
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.locator("#image-in input[type=file]").set_input_files(str(bad))
    page.wait_for_function("() => document.querySelector('#image-info')?.innerText.includes('broken.png:')")
    wait_idle(server[1])  # every event the upload started has finished: any toast or badge is on the page
    assert page.get_by_text("broken.png:", exact=False).count() == 1  # in the info line, nowhere else
    assert page.locator(".toast-body").count() == 0
    assert page.get_by_text("Error", exact=True).count() == 0  # no badge on any output
    assert _src(page, "#sharpened img")  # the previous image's views stay
    maps = _src(page, "#map-edges img")
    page.locator(".gallery-item").nth(3).click()  # the Siemens star
    page.wait_for_function("() => document.querySelector('#image-info')?.innerText.includes('siemens_star')")
    _wait_new_src(page, "#map-edges img", maps)
