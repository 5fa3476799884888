"""The app in a real browser (Chromium through Playwright), with a tiny random model.

The page loads, an example is chosen, the zoom slider is dragged, the comparison and
the heat maps update, and a corrupt upload shows an error message. Skipped when
Playwright or a Chromium binary is missing (``ZS_CHROMIUM`` names another binary).
Takes about 20-60 s on a busy two-core machine.
"""

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from bench.serving import running  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

CHROMIUM = os.environ.get("ZS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tiny_weights):
    with running(tiny_weights) as (url, _demo):
        yield url


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
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server, wait_until="domcontentloaded")
            page.wait_for_selector("#zoom input[type=range]")
            yield page
        finally:
            browser.close()


def _src(page, selector: str) -> str | None:
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('src') ?? null")


def _srcs(page, selector: str) -> list[str]:
    return page.evaluate(f"() => [...document.querySelectorAll({selector!r})].map(e => e.getAttribute('src'))")


def _wait_new_src(page, selector: str, old: str | None) -> str:
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.getAttribute('src') "
        "&& e.getAttribute('src') !== old; }",
        arg=[selector, old],
    )
    return _src(page, selector)


def test_example_slider_maps_and_bad_upload(page, tmp_path):
    # choose the first example: the image loads, MSSNet runs, the heat maps appear
    page.locator(".gallery-item").first.click()
    sharp = _wait_new_src(page, "#sharpened img", None)
    gain = _wait_new_src(page, "#map-edge-gain img", None)
    compare = _srcs(page, "#compare img")
    assert len(compare) == 2 and all(compare)
    assert "MSSNet" in page.locator("#timing").inner_text()

    # drag the zoom slider to the right and let go: new MSSNet view, new comparison, new maps
    slider = page.locator("#zoom input[type=range]")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.15, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    page.mouse.up()
    assert float(page.locator("#zoom input[type=number]").input_value()) > 3
    _wait_new_src(page, "#sharpened img", sharp)
    _wait_new_src(page, "#map-edge-gain img", gain)
    page.wait_for_function(
        "(old) => { const s = [...document.querySelectorAll('#compare img')].map(e => e.getAttribute('src'));"
        " return s.length === 2 && s.every(x => x && !old.includes(x)); }",
        arg=compare,
    )
    for selector in ("#map-edge-before img", "#map-edge-after img", "#map-sharpening img"):
        assert _src(page, selector)

    # click the overview's top-left corner: the zoom centre moves there and MSSNet runs again
    sharp = _src(page, "#sharpened img")
    box = page.locator("#overview img").bounding_box()
    page.mouse.click(box["x"] + 3, box["y"] + 3)
    _wait_new_src(page, "#sharpened img", sharp)
    page.wait_for_function("() => document.querySelector('#timing')?.innerText.includes('x 0–')")

    # a corrupt upload: a clear message in the page, and the app keeps working
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.locator("#image-in input[type=file]").set_input_files(str(bad))
    error = page.get_by_text("broken.png:", exact=False).first
    error.wait_for()
    assert "broken.png" in error.inner_text()
    maps = _src(page, "#map-edge-gain img")
    page.locator(".gallery-item").nth(3).click()  # the Siemens star
    page.wait_for_function("() => document.querySelector('#image-info')?.innerText.includes('siemens_star')")
    _wait_new_src(page, "#map-edge-gain img", maps)
