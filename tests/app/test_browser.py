"""The studio's deep-zoom map in a real browser (Chromium through Playwright) at a projector's 1280×720,
tiny random model.

The page opens sharpened (MSSNet tiles arrive, none left pending); the map is large with the slider on
screen; the wheel, a pinch, the slider's arrow keys and the number keys zoom the map in the browser and the slider
follows the map; the curtain moves the MSSNet layer's clip; the edge-gain layer shows with its colour bar;
at rest the exact view drawn over the map is the server's own view.png (PSNR >= 40 dB) and the region on
screen goes to the server; the navigator moves the map; an upload opens a new image. Skipped when
Playwright or a Chromium binary is missing (``ZS_CHROMIUM`` names another binary). Takes about a minute
on a busy two-core machine.
"""

import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
from chromium import projector_page  # noqa: E402 (tests/chromium.py)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

TIMEOUT_MS = 180_000  # a two-core machine shared with training can be slow
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


@pytest.fixture(scope="module")
def page(server):
    def listen(page):
        page.on("request", lambda r: SENT.append(r.post_data or "") if r.method == "POST" else None)

    with projector_page(server[0], TIMEOUT_MS, listen) as page:
        page.wait_for_selector("#zoom input[type=range]")
        page.wait_for_function("() => document.querySelector('#viewer')?.dataset.zoom")
        yield page


SENT: list[str] = []  # the bodies of the page's POST requests (Gradio's event queue)


def _info(page) -> dict:
    """The map JSON the server wrote into the map component (the map shows it)."""
    return page.evaluate("() => zsStudio.map.info")


def _rests_sent() -> list[dict]:
    """The regions at rest the page sent the server, in order: the map component's value carries them."""
    rests = []
    for body in SENT:
        try:
            data = json.loads(body).get("data", [])
        except (ValueError, AttributeError):
            continue
        for value in data:
            if isinstance(value, str) and '"rest"' in value:
                rests.append(json.loads(value)["rest"])
    return rests


def _map(page) -> dict:
    """The map's state attributes on #viewer (data-zoom, data-center-x, data-pending, ...)."""
    return page.evaluate("() => ({...document.querySelector('#viewer').dataset})")


def _zoom(page) -> float:
    return float(_map(page)["zoom"])


def _wait_map(page, condition: str, arg=None) -> None:
    """Wait until ``condition``, a JS expression of ``d`` (#viewer's dataset) and ``arg``, holds."""
    page.wait_for_function(f"(arg) => {{ const d = document.querySelector('#viewer').dataset; return {condition}; }}",
                           arg=arg)


def _wait_settled(page) -> None:
    """MSSNet tiles arrived, none pending, nothing loading."""
    _wait_map(page, "Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0'")


def _wait_until(page, condition, seconds: float = 60) -> None:
    """Wait (letting the page's events in) until ``condition()`` holds on this side."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page did not get there in time")


def _number(page) -> float:
    return float(page.locator("#zoom input[type=number]").input_value())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_opens_sharpened_map_on_a_projector(page):
    _wait_settled(page)
    info = _info(page)
    state = _map(page)
    assert state["id"] == info["id"]
    assert float(state["zoom"]) == pytest.approx(info["open"]["zoom"], abs=0.01)

    # 1280×720, page top: the slider whole and the map over at least 40 % of the window, together
    page.evaluate("window.scrollTo(0, 0)")
    seen = page.evaluate("""() => {
        const part = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            const w = Math.min(r.right, innerWidth) - Math.max(r.left, 0);
            const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
            return {whole: Math.max(0, w) * Math.max(0, h) / (r.width * r.height),
                    window: Math.max(0, w) * Math.max(0, h) / (innerWidth * innerHeight)}; };
        return {slider: part('#zoom input[type=range]'), number: part('#zoom input[type=number]'),
                map: part('#viewer')}; }""")
    assert seen["slider"]["whole"] == 1.0 and seen["number"]["whole"] == 1.0, seen
    assert seen["map"]["window"] >= 0.4, seen
    # offline: the viewer and its script come from the app itself
    sources = page.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    assert any(s.endswith("/zs/ui/openseadragon/openseadragon.min.js") for s in sources), sources
    assert page.locator("#viewer .zs-label-left").inner_text() == "Bicubic"
    # the right side names its strength: α of the pyramid level in view, from the map JSON
    zoom, strengths = float(_map(page)["zoom"]), _info(page)["strengths"]
    level = min(len(strengths), math.ceil(math.log2(zoom) - 1e-9))
    want = f"MSSNet at strength α {strengths[level - 1]:.2f}" if level >= 1 else "MSSNet"
    assert page.locator("#viewer .zs-label-right").inner_text() == want


def test_wheel_zooms_the_map_and_the_slider_follows(page):
    before = _zoom(page)
    box = page.locator("#viewer").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -240)
    _wait_map(page, "Number(d.zoom) > arg + 0.2", before)
    page.wait_for_function(  # the number box follows the map (rounded to the slider's step)
        "() => Math.abs(Number(document.querySelector('#zoom input[type=number]').value)"
        " - Number(document.querySelector('#viewer').dataset.zoom)) <= 0.026", timeout=5_000)
    assert _number(page) > before


def test_wheel_over_the_curtain_zooms_the_map_too(page):
    """The curtain starts in the middle of the map, where the cursor is: the wheel there zooms about the pointer
    (the point under it stays put) and leaves the curtain where it is."""
    page.evaluate("() => zsStudio.map.zoomTo(2, {immediately: true})")
    _wait_map(page, "Math.abs(Number(d.zoom) - 2) < 0.01")
    curtain_before = _map(page)["curtain"]
    handle = page.locator("#viewer .zs-curtain").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] * 0.3
    image_point = "([x, y]) => { const m = zsStudio.map, r = m.viewer.element.getBoundingClientRect();" \
        " const v = m.viewer.viewport, p = v.pointFromPixel(new OpenSeadragon.Point(x - r.left, y - r.top), true);" \
        " return [p.x, p.y]; }"
    under = page.evaluate(image_point, [x, y])
    page.mouse.move(x, y)
    page.mouse.wheel(0, -240)
    _wait_map(page, "Number(d.zoom) > 2.2")
    page.wait_for_timeout(600)  # the zoom's animation
    assert page.evaluate(image_point, [x, y]) == pytest.approx(under, abs=2e-3)  # zoomed about the pointer
    assert _map(page)["curtain"] == curtain_before


def test_pinch_zooms_the_map(page):
    page.wait_for_timeout(500)
    before = _zoom(page)
    box = page.locator("#viewer").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, spread: float | None) -> None:
        points = [] if spread is None else [{"x": x - spread, "y": y, "id": 0}, {"x": x + spread, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 30)
    for step in range(1, 5):  # two fingers move apart (30 -> 50 px from their middle): zoom in about it
        touch("touchMove", 30 + 5 * step)
        page.wait_for_timeout(30)
    touch("touchEnd", None)
    cdp.detach()
    _wait_map(page, "Number(d.zoom) > arg * 1.2", before)
    page.wait_for_function(  # and the slider follows
        "() => Math.abs(Number(document.querySelector('#zoom input[type=number]').value)"
        " - Math.min(8, Number(document.querySelector('#viewer').dataset.zoom))) <= 0.026", timeout=5_000)


def test_slider_keys_and_number_keys_zoom_the_map(page):
    page.wait_for_timeout(500)  # the wheel's zoom has settled
    page.evaluate("() => zsStudio.map.zoomTo(3, {immediately: true})")
    settled = "() => Number(document.querySelector('#zoom input[type=number]').value) === 3"
    page.wait_for_function(settled)
    page.wait_for_timeout(1_000)  # the rest's panels came back (their reply may name the rest zoom)
    page.wait_for_function(settled)
    slider = page.locator("#zoom input[type=range]")
    slider.focus()
    start = _number(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _wait_map(page, "Math.abs(Number(d.zoom) - arg) < 0.006", start + 0.1)
    page.wait_for_function("(z) => Math.abs(Number(document.querySelector('#zoom input[type=number]').value) - z)"
                           " < 1e-6", arg=round(start + 0.1, 2), timeout=5_000)  # and the slider stays there
    page.wait_for_timeout(1_500)
    assert _number(page) == pytest.approx(start + 0.1)

    box = page.locator("#zoom input[type=number]")  # the number box: the map animates to it
    box.fill("4.5")
    box.press("Enter")
    _wait_map(page, "Math.abs(Number(d.zoom) - 4.5) < 0.006")

    page.locator("#viewer .zs-label-left").click(force=True)  # focus away from any field: the page's keys
    page.evaluate("() => document.activeElement?.blur()")
    page.keyboard.press("2")
    _wait_map(page, "Math.abs(Number(d.zoom) - 2) < 1e-4")  # the animation has ended
    page.wait_for_function("() => Number(document.querySelector('#zoom input[type=number]').value) === 2")


def test_drag_pans_and_the_curtain_moves_the_clip(page):
    before = _map(page)
    box = page.locator("#viewer").bounding_box()
    x, y = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 30, steps=6)
    page.mouse.up()
    _wait_map(page, "d.centerX !== arg", before["centerX"])
    assert float(_map(page)["zoom"]) == pytest.approx(float(before["zoom"]), abs=1e-3)  # a pan keeps the zoom

    clip = float(_map(page)["clipX"])
    handle = page.locator("#viewer .zs-curtain").bounding_box()
    hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(hx, hy)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, hy, steps=6)
    page.mouse.up()
    state = _map(page)
    assert float(state["curtain"]) == pytest.approx(0.2, abs=0.02)
    assert float(state["clipX"]) < clip
    page.evaluate("() => zsStudio.map.setCurtain(0.5)")

    # the navigator (overview) marks the visible region; a click there moves the map
    nav = page.locator("#viewer .navigator")
    assert nav.is_visible() and page.locator("#viewer .navigator .displayregion").is_visible()
    before = _map(page)
    nb = nav.bounding_box()
    page.mouse.click(nb["x"] + nb["width"] * 0.15, nb["y"] + nb["height"] * 0.2)
    _wait_map(page, "Math.abs(Number(d.centerX) - arg) > 5", float(before["centerX"]))


def test_edge_gain_layer_shows_with_its_colour_bar(page):
    assert _map(page)["edgeGain"] == "0"
    assert not page.locator("#viewer .zs-colourbar").is_visible()
    page.locator("#viewer .zs-gain-on").check()
    _wait_map(page, "Number(d.edgeGain) > 0")
    assert page.evaluate("() => zsStudio.map.viewer.world.getItemAt(2).getOpacity()") > 0
    bar = page.locator("#viewer .zs-colourbar")
    assert bar.is_visible()
    info = _info(page)
    assert page.locator("#viewer .zs-bar-high").inner_text().startswith("+")
    assert page.locator("#viewer .zs-bar-low").inner_text().startswith("−")
    assert info["edge_gain_unit"] in page.locator("#viewer .zs-bar-unit").inner_text()
    page.locator("#viewer .zs-gain-on").uncheck()
    _wait_map(page, "d.edgeGain === '0'")


def test_at_rest_the_map_is_the_servers_view(page, server):
    page.evaluate("() => zsStudio.map.zoomTo(3.3)")  # between powers of two: the browser's scaling differs
    _wait_settled(page)
    _wait_map(page, "d.atRest === '1'")
    exact = page.evaluate("() => zsStudio.map.exact")
    state = _map(page)
    bicubic, mssnet = (_png(page.request.get(url).body()) for url in exact["urls"])
    # in the page's pixels: the layout above the map may leave the map's own corner between two pixels
    box = page.locator("#viewer").bounding_box()
    left, top = box["x"] + exact["x"], box["y"] + exact["y"]
    assert left == pytest.approx(round(left), abs=1e-3) and top == pytest.approx(round(top), abs=1e-3)
    w, h = round(exact["width"]), round(exact["height"])
    assert bicubic.shape == mssnet.shape == (h, w, 3)
    cut = round(box["x"] + float(state["curtain"]) * box["width"]) - round(left)
    want = bicubic.copy()
    want[:, cut:] = mssnet[:, cut:]
    shot = _png(page.screenshot())[round(top):round(top) + h, round(left):round(left) + w]
    keep = np.zeros((h, w), bool)  # away from the labels, the tools, the navigator and the curtain's handle
    keep[40:h - 50, 10:w - 10] = True
    keep[:, max(0, cut - 20):cut + 20] = False
    chrome = page.evaluate(  # in the page's CSS px
        "() => [...document.querySelectorAll('#viewer .navigator, #viewer .zs-tools, #viewer .zs-badge')]"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    x0, y0 = round(left), round(top)
    for a, b, c, d in chrome:
        keep[max(0, int(b) - y0 - 4):int(d) - y0 + 4, max(0, int(a) - x0 - 4):int(c) - x0 + 4] = False
    assert keep.sum() > 0.3 * w * h
    assert _psnr(shot[keep], want[keep]) >= 40.0

    # the region on screen went to the server
    _wait_until(page, lambda: any(r["id"] == state["id"] for r in _rests_sent()))
    rest = [r for r in _rests_sent() if r["id"] == state["id"]][-1]
    assert rest["id"] == state["id"] and rest["zoom"] == pytest.approx(float(state["zoom"]), abs=1e-3)
    assert rest["width"] > 0 and rest["height"] > 0

    # the map moves: the exact view goes at once
    page.keyboard.press("Escape")
    page.evaluate("() => zsStudio.map.zoomTo(3.6, {immediately: true})")
    _wait_map(page, "d.atRest === '0'")


def test_upload_opens_a_new_image(page):
    old = _map(page)
    page.evaluate("() => zsStudio.map.zoomTo(6, {immediately: true})")
    page.locator("#image-in input[type=file]").set_input_files(str(EXAMPLES / "chelsea.png"))
    _wait_map(page, "d.id !== arg", old["id"])
    info = _info(page)
    state = _map(page)
    assert state["id"] == info["id"]
    assert float(state["zoom"]) == pytest.approx(info["open"]["zoom"], abs=0.01)
    cx, cy = info["open"]["center"]
    assert float(state["centerX"]) == pytest.approx(cx, abs=1.0)
    assert float(state["centerY"]) == pytest.approx(cy, abs=1.0)
    _wait_settled(page)
    _wait_until(page, lambda: any(r["id"] == info["id"] for r in _rests_sent()))


def test_the_answer_says_when_it_is_updating_and_when_it_is_fresh(page):
    page.evaluate("() => zsStudio.map.zoomTo(3, {immediately: true})")
    # (the opening view's answer stays fresh until the map's next frame: wait for the new view's)
    page.wait_for_function("() => { const a = document.querySelector('#answer');"
                           " return a.dataset.state === 'fresh' && a.innerText.includes('At ×3,'); }")
    page.evaluate("() => zsStudio.map.zoomTo(2.5, {immediately: true})")
    page.wait_for_function("() => document.querySelector('#answer').dataset.state === 'pending'", timeout=500)
    assert page.evaluate("() => document.querySelector('#answer').dataset.pendingText") == "Updating for ×2.5…"
    page.wait_for_function("() => document.querySelector('#answer').dataset.state === 'fresh'")
    text = page.locator("#answer .prose").first.inner_text()  # the text itself, not Gradio's hidden status line
    assert text.startswith("At ×2.5,") and _number(page) == 2.5
    shares = [int(p) for p in re.findall(r"(\d+) % (?:of the sharpness MSSNet added went )?to ", text)]
    assert len(shares) == 3 and sum(shares) == 100
    # a new view while the last one is still being checked: the newest view's check arrives all the same
    page.evaluate("() => zsStudio.map.zoomTo(2.2, {immediately: true})")
    page.wait_for_function("() => document.querySelector('#answer').innerText.includes('At ×2.2,')")  # checking…
    page.evaluate("() => zsStudio.map.zoomTo(2.7, {immediately: true})")
    page.wait_for_function("() => { const t = document.querySelector('#answer .prose')?.innerText || '';"
                           " return t.startsWith('At ×2.7,') && t.includes('Checked on the real photo')"
                           " && t.includes('shrunk ×2.7'); }", timeout=TIMEOUT_MS)


def test_the_saliency_pair_waits_for_its_button_and_then_shows_the_view(page):
    """Eight gradients per view are not spent on every rest: the panel says what its button does, and the button
    draws the pair for the view on screen."""
    page.evaluate("() => zsStudio.map.zoomTo(2.4, {immediately: true})")
    page.wait_for_function("() => { const a = document.querySelector('#answer');"
                           " return a.dataset.state === 'fresh' && a.innerText.includes('At ×2.4,'); }")
    assert page.locator("#map-saliency img").count() == 0
    assert "Press the button" in page.locator("#saliency-text").inner_text()
    page.locator("#saliency-btn").click()
    page.wait_for_selector("#map-saliency img", timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('#saliency-text').innerText.includes('random-weights check')",
                           timeout=TIMEOUT_MS)
    assert "8 forward and backward passes" in page.locator("#saliency-text").inner_text()
