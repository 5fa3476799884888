"""The map's MSSNet tiles the server is still sharpening, in a real browser (Chromium through Playwright) at
1280×720, tiny random model.

The page's MSSNet tile requests are answered 503 + ``Retry-After: 1`` for their first tries (as the server
does while a tile is being sharpened), then let through: the map counts them pending (data-pending, the
badge), asks for each again after Retry-After, and settles with every tile sharpened, nothing pending and
nothing loading; while tiles are pending the MSSNet layer draws no level coarser than the view needs (the
bicubic layer shows in the gaps). A tile waiting for Retry-After holds no request; one that stays 503 stops
being asked for, and stops counting, once it is off screen. map.js touches no private field of OpenSeadragon.
Skipped when Playwright or a Chromium binary is missing (``ZS_CHROMIUM`` names another binary). About 30 s.
"""

import math
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
from chromium import projector_page  # noqa: E402 (tests/chromium.py)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

TIMEOUT_MS = 60_000  # a busy two-core machine can be slow
MAP_JS = Path(__file__).resolve().parents[2] / "assets" / "ui" / "map.js"
MSSNET_TILES = "**/mssnet_files/**"
TILE = re.compile(r"/mssnet_files/(\d+)/(\d+)_(\d+)\.\w+$")
# OpenSeadragon's internals the map must leave alone (it uses documented options, methods and events only)
PRIVATE = ("savedCutOffLevel", ".exists", ".imageLoader", "jobsInProgress", "jobQueue", "tilesMatrix",
           "_tileCache", "lastResetTime")

# In the page: every MSSNet tile the map drew ("level/x_y"), those drawn while tiles were pending with the level
# the view needed then (the pyramid's rule: level k of the source enlarged 2^k times for zooms in
# (2^(k-1), 2^k]), and the badge's texts.
RECORD = """() => {
    const map = zsStudio.map, viewer = map.viewer, el = map.element;
    const seen = window.zsSeen = {tiles: [], drawn: [], badges: [], maxPending: 0};
    viewer.addHandler("tile-drawn", (e) => {
        if (e.tiledImage !== viewer.world.getItemAt(1)) return;
        const key = `${e.tile.level}/${e.tile.x}_${e.tile.y}`;
        if (!seen.tiles.includes(key)) seen.tiles.push(key);
        if (el.dataset.pending === "0") return;
        const src = e.tiledImage.source, scale = src.dimensions.x / map.info.width;
        const level = src.maxLevel - Math.log2(scale) + Math.ceil(Math.log2(map.zoom()) - 1e-9);
        seen.drawn.push([e.tile.level, Math.max(0, Math.min(src.maxLevel, level))]);
    });
    new MutationObserver(() => {
        seen.maxPending = Math.max(seen.maxPending, Number(el.dataset.pending));
        const text = el.querySelector(".zs-badge").textContent;
        if (text && seen.badges.at(-1) !== text) seen.badges.push(text);
    }).observe(el, {attributes: true, subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def page(server):
    with projector_page(server[0], TIMEOUT_MS) as page:
        page.wait_for_function("() => window.zsStudio?.map && document.querySelector('#viewer')?.dataset.id")
        _wait_settled(page)
        yield page


class Sharpening:
    """Answers the page's MSSNet tile requests 503 + Retry-After: 1 for their first ``busy`` tries (all of
    them while ``busy`` is None), then lets them through; notes when each URL was asked for and answered 503."""

    def __init__(self, busy: int | None):
        self.busy = busy
        self.asked: dict[str, list[float]] = defaultdict(list)
        self.refused: dict[str, list[float]] = defaultdict(list)

    def __call__(self, route) -> None:
        url = route.request.url
        self.asked[url].append(time.monotonic())
        if self.busy is None or len(self.asked[url]) <= self.busy:
            self.refused[url].append(time.monotonic())
            route.fulfill(status=503, headers={"Retry-After": "1"}, body="still sharpening")
        else:
            route.continue_()


def _wait_map(page, condition: str, arg=None, timeout: float = TIMEOUT_MS) -> None:
    """Wait until ``condition``, a JS expression of ``d`` (#viewer's dataset) and ``arg``, holds."""
    page.wait_for_function(f"(arg) => {{ const d = document.querySelector('#viewer').dataset; return {condition}; }}",
                           arg=arg, timeout=timeout)


def _wait_settled(page) -> None:
    """MSSNet tiles arrived, none pending, nothing loading."""
    _wait_map(page, "Number(d.mssnetTiles) > 0 && d.pending === '0' && d.loading === '0'")


def _needed(page) -> int:
    """The MSSNet level the view needs now (the rule RECORD uses)."""
    info = page.evaluate("() => { const s = zsStudio.map.viewer.world.getItemAt(1).source;"
                         " return {max: s.maxLevel, scale: s.dimensions.x / zsStudio.map.info.width,"
                         " zoom: zsStudio.map.zoom()}; }")
    level = info["max"] - round(math.log2(info["scale"])) + math.ceil(math.log2(info["zoom"]) - 1e-9)
    return max(0, min(info["max"], level))


def test_map_js_leaves_openseadragon_internals_alone(server):
    import urllib.request

    with urllib.request.urlopen(server[0].rstrip("/") + "/zs/ui/map.js", timeout=30) as answer:
        served = answer.read().decode()
    assert served == MAP_JS.read_text()
    assert [name for name in PRIVATE if name in served] == []


def test_tiles_still_sharpening_wait_under_the_bicubic_layer(page):
    sharpening = Sharpening(busy=2)
    page.route(MSSNET_TILES, sharpening)
    try:
        page.evaluate(RECORD)
        mssnet_before = int(page.evaluate("() => document.querySelector('#viewer').dataset.mssnetTiles"))
        page.evaluate("() => zsStudio.map.zoomTo(6, {immediately: true})")  # the top level: not loaded yet
        _wait_map(page, "Number(d.pending) > 0")
        page.wait_for_function("() => /^MSSNet: \\d+ tiles? sharpening$/"
                               ".test(document.querySelector('#viewer .zs-badge').textContent)")
        needed = _needed(page)
        _wait_map(page, "Number(d.mssnetTiles) > arg && d.pending === '0' && d.loading === '0'", mssnet_before)
        assert page.locator("#viewer .zs-badge").inner_text() == ""
    finally:
        page.unroute(MSSNET_TILES, sharpening)

    seen = page.evaluate("() => window.zsSeen")
    assert seen["maxPending"] > 0 and all(re.fullmatch(r"MSSNet: \d+ tiles? sharpening", b) for b in seen["badges"])
    # each refused tile of the needed level on screen was asked for again after Retry-After, until it came (the
    # overview may ask for a tile once too: the third request, the one let through, is a Retry-After after the first)
    refused = [url for url in sharpening.refused
               if "{}/{}_{}".format(*TILE.search(url).groups()) in seen["tiles"] and int(TILE.search(url)[1]) == needed]
    assert refused, dict(sharpening.asked)
    for url in refused:
        asked = sharpening.asked[url]
        assert len(asked) >= 3 and asked[2] - asked[0] >= 0.8, (url, asked)
    # while tiles were pending, no coarser (blurred) MSSNet level was drawn over the gaps
    assert seen["drawn"], "no MSSNet tile was drawn while tiles were pending"
    assert [level for level, want in seen["drawn"] if level < want] == []
    assert {want for _, want in seen["drawn"]} == {needed}


def test_a_tile_off_screen_stops_being_asked_for(page):
    page.evaluate("() => zsStudio.map.zoomTo(6, {immediately: true})")
    _wait_settled(page)
    here = page.evaluate("() => zsStudio.map.center()")
    sharpening = Sharpening(busy=None)  # every MSSNet tile asked for from now on: still sharpening
    page.route(MSSNET_TILES, sharpening)
    try:
        page.evaluate("() => zsStudio.map.panTo([40, 40], true)")  # a corner not seen at this zoom yet
        _wait_map(page, "Number(d.pending) > 0")
        _wait_map(page, "Number(d.pending) > 0 && d.loading === '0'")  # waiting for Retry-After holds no request
        page.evaluate("(here) => zsStudio.map.panTo(here, true)", here)  # back to the tiles that came
        _wait_map(page, "d.pending === '0' && d.loading === '0'", timeout=20_000)
        asked = sum(len(times) for times in sharpening.asked.values())
        page.wait_for_timeout(2_500)  # more than Retry-After: nothing is asked for again
        assert sum(len(times) for times in sharpening.asked.values()) == asked
        assert page.evaluate("() => zsStudio.map.pending") == 0
    finally:
        page.unroute(MSSNET_TILES, sharpening)


def test_a_map_the_server_lost_is_reopened_where_it_was(page, server):
    tiles, events = server[1].studio_page.tiles, server[1].studio_page
    old = page.evaluate("() => document.querySelector('#viewer').dataset.id")
    w, h = page.evaluate("() => [zsStudio.map.info.width, zsStudio.map.info.height]")
    assert tiles.image(old) is not None
    # every layer the map drops, with how many are left and whether the bottom one (bicubic) has its view's tiles
    page.evaluate("""() => { const world = zsStudio.map.viewer.world; window.zsDropped = [];
        world.addHandler('remove-item', () => zsDropped.push([world.getItemCount(),
                                                              !!world.getItemAt(0)?.getFullyLoaded()])); }""")
    # the server lets the map expire, as it does when its memory budget is spent (or when it restarted)
    kept, tiles.max_images = tiles.max_images, 1
    try:
        other = events.open(str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "coffee.png"))
        tiles.open(events.studio.pyramid(other, None))
    finally:
        tiles.max_images = kept
    assert tiles.image(old) is None
    there = [w / 2 + 10, h / 2 - 10]
    page.evaluate("(c) => { zsStudio.map.zoomTo(7, {immediately: true}); zsStudio.map.panTo(c, true); }", there)
    _wait_map(page, "d.id && d.id !== arg", old)  # a new map of the same image
    _wait_settled(page)
    new = page.evaluate("() => document.querySelector('#viewer').dataset.id")
    assert tiles.image(new) is not None
    zoom, (x, y) = page.evaluate("() => [zsStudio.map.zoom(), zsStudio.map.center()]")
    assert abs(zoom - 7) < 0.05 and abs(x - there[0]) < 2 and abs(y - there[1]) < 2  # where it was
    assert page.evaluate("() => [zsStudio.map.info.width, zsStudio.map.info.height]") == [w, h]
    # no hole meanwhile: the old layers went only once the new bicubic layer had the view's tiles, never all at once
    dropped = page.evaluate("() => zsDropped")
    assert len(dropped) == 3 and all(left >= 1 and bicubic_in for left, bicubic_in in dropped), dropped
    assert page.evaluate("() => zsStudio.map.viewer.world.getItemCount()") == 3
