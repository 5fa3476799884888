"""The deep-zoom tile contract: descriptor, levels, tile = region of the command line's zoom,
overlap, edge gain, bad ids and paths, expiry, the fill starting at open, the queue's order and bounds."""

import asyncio
import json
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from corpus import photo

import mssnet
from mssnet.__main__ import main as cli
from mssnet.image.zoom import resample
from mssnet.pyramid.cache import TileCache
from mssnet.pyramid.fill import FillWorker
from mssnet.pyramid.levels import pyramid_zoom_image
from mssnet.pyramid.pyramid import ZoomPyramid
from mssnet.pyramid.tiles import TileId
from mssnet.serve.deepzoom import (
    EDGE_GAIN_MAX,
    LAYERS,
    DeepZoomImage,
    edge_gain_rgba,
    edge_strength_map,
    write_deep_zoom,
)
from mssnet.serve.tile_http import etag, parse_path
from mssnet.serve.tile_service import TileService

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
TILE = 64  # small tiles: several per level on a small image


@pytest.fixture(scope="module")
def weights(tiny_weights):
    return tiny_weights


@pytest.fixture(scope="module")
def model(weights):
    return mssnet.load_model(weights)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("dz") / "photo.png"
    mssnet.save_image(path, photo(40, 56))
    return path


@pytest.fixture(scope="module")
def deep(model, image_file):
    rgb = mssnet.load_image(image_file).rgb
    return DeepZoomImage(ZoomPyramid(rgb, model, tile=TILE, precision="fp32", cache=TileCache(256 * 2**20)))


def decode(png: bytes) -> np.ndarray:
    """PNG bytes -> (H, W, 3) RGB or (H, W, 4) RGBA uint8."""
    a = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(a, cv2.COLOR_BGRA2RGBA if a.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def run(coro):
    return asyncio.run(coro)


# --------------------------------------------------------------------------- geometry and descriptor


def test_descriptor_names_size_tile_overlap_and_format(deep):
    root = ET.fromstring(deep.descriptor())
    assert root.tag == "{http://schemas.microsoft.com/deepzoom/2008}Image"
    assert (root.get("TileSize"), root.get("Overlap"), root.get("Format")) == (str(TILE), "1", "png")
    size = root.find("{http://schemas.microsoft.com/deepzoom/2008}Size")
    assert (int(size.get("Width")), int(size.get("Height"))) == (56 * 8, 40 * 8)  # the image ×8


def test_levels_are_dzi_halvings_with_the_pyramid_on_top(deep):
    n = deep.max_level
    assert n == 9  # ceil(log2(448))
    assert [deep.level_size(k) for k in (n, n - 1, n - 2, n - 3)] == [(448, 320), (224, 160), (112, 80), (56, 40)]
    assert [deep.pyramid_level(k) for k in (n, n - 3, n - 4)] == [3, 0, -1]
    assert deep.level_size(n - 4) == (28, 20) and deep.level_size(n - 6) == (7, 5) and deep.level_size(0) == (1, 1)
    assert deep.grid(n) == (7, 5)
    assert not deep.has_tile(n + 1, 0, 0) and not deep.has_tile(n, 7, 0) and not deep.has_tile(n, 0, -1)


def test_tile_boxes_overlap_their_neighbours_by_one_pixel(deep):
    n = deep.max_level
    assert deep.tile_box(n, 0, 0) == (0, 0, TILE + 1, TILE + 1)
    assert deep.tile_box(n, 1, 2) == (TILE - 1, 2 * TILE - 1, 2 * TILE + 1, 3 * TILE + 1)
    assert deep.tile_box(n, 6, 4) == (6 * TILE - 1, 4 * TILE - 1, 448, 320)  # none past the edges
    for layer in ("bicubic", "mssnet"):
        a, b = decode(deep.tile_png(layer, n - 2, 0, 0)), decode(deep.tile_png(layer, n - 2, 1, 0))
        assert a.shape[1] == TILE + 1 and b.shape[1] == 112 - (TILE - 1)  # level ×2 is 112 px wide
        if layer == "bicubic":  # the same pixels on both sides of the border
            np.testing.assert_array_equal(a[:, -2:], b[: a.shape[0], :2])


def test_a_new_tile_costs_one_pass_its_ring_taken_from_that_pass(model, image_file):
    rgb = mssnet.load_image(image_file).rgb
    deep = DeepZoomImage(ZoomPyramid(rgb, model, tile=TILE, precision="fp32", cache=TileCache(256 * 2**20)))
    level = deep.max_level  # ×8: pyramid level 3, a grid of 7 × 5 tiles
    assert deep.pyramid_tiles(level, 1, 1) == [TileId(3, 1, 1)] and not deep.ready("mssnet", level, 1, 1)
    ringed = decode(deep.tile_png("mssnet", level, 1, 1))
    assert ringed.shape == (TILE + 2, TILE + 2, 3)
    cached = [t for t in deep.pyramid.tiles_under(3, (0, 0, *deep.pyramid.level_size(3))) if deep.pyramid.is_cached(t)]
    assert cached == [TileId(3, 1, 1)]  # one pass at its level, not the nine tiles its box touches
    assert deep.ready("mssnet", level, 1, 1) and deep.ready("edge_gain", level, 1, 1)
    inner = mssnet.to_uint8(deep.pyramid.region(3, (TILE, TILE, 2 * TILE, 2 * TILE)))
    np.testing.assert_array_equal(ringed[1:-1, 1:-1], inner)  # inside its box, the tile is the level


def test_an_overlap_wider_than_the_ring_reads_the_neighbours(model, image_file):
    rgb = mssnet.load_image(image_file).rgb
    deep = DeepZoomImage(ZoomPyramid(rgb, model, tile=TILE, precision="fp32"), overlap=2)
    level = deep.max_level
    assert len(deep.pyramid_tiles(level, 1, 1)) == 9
    a, b = decode(deep.tile_png("mssnet", level, 0, 0)), decode(deep.tile_png("mssnet", level, 1, 0))
    np.testing.assert_array_equal(a[:, -4:], b[: a.shape[0], :4])  # then the shared columns are the same pixels


def test_the_ring_of_the_bundled_weights_is_within_two_levels_of_the_command_line_zoom():
    """On a photograph the own-pass ring differs from the neighbours' passes by ≤ 2/255 (bench/deepzoom.py
    measures every example); inside the ring a tile is the command-line zoom exactly."""
    model = mssnet.load_model()
    rgb = mssnet.load_image(EXAMPLES / "astronaut.png").rgb[100:196, 120:248]  # 128×96: 12 tiles at ×2
    deep = DeepZoomImage(ZoomPyramid(rgb, model, tile=TILE))
    whole = mssnet.to_uint8(pyramid_zoom_image(model, rgb, 2, tile=TILE))
    level = deep.max_level - 2
    cols, rows = deep.grid(level)
    worst = 0
    for col in range(cols):
        for row in range(rows):
            x0, y0, x1, y1 = deep.tile_box(level, col, row)
            diff = np.abs(decode(deep.tile_png("mssnet", level, col, row)).astype(int) - whole[y0:y1, x0:x1])
            i0, j0 = col * TILE - x0, row * TILE - y0  # the tile's own box inside its ring
            assert diff[j0 : j0 + TILE, i0 : i0 + TILE].max() == 0
            worst = max(worst, int(diff.max()))
    assert 0 < worst <= 2


@pytest.mark.parametrize("zoom", [2, 4, 8])
def test_mssnet_tiles_are_regions_of_the_command_line_zoom(deep, weights, image_file, tmp_path, zoom):
    out = tmp_path / f"x{zoom}.png"
    assert cli(["zoom", str(image_file), "-o", str(out), "--zoom", str(zoom), "--weights", str(weights),
                "--tile", str(TILE), "--precision", "fp32"]) == 0
    whole = decode(out.read_bytes())
    level = deep.max_level - 3 + int(np.log2(zoom))
    cols, rows = deep.grid(level)
    for col, row in {(0, 0), (cols - 1, rows - 1), (cols // 2, rows // 2)}:
        x0, y0, x1, y1 = deep.tile_box(level, col, row)
        i0, j0 = col * TILE - x0, row * TILE - y0  # the tile's own box inside its overlap ring
        tile = decode(deep.tile_png("mssnet", level, col, row))[j0 : j0 + TILE, i0 : i0 + TILE]
        np.testing.assert_array_equal(tile, whole[y0 + j0 : y0 + j0 + tile.shape[0], x0 + i0 : x0 + i0 + tile.shape[1]])


def test_bicubic_tiles_are_the_plain_enlargement(deep):
    level = deep.max_level - 1  # ×4
    x0, y0, x1, y1 = deep.tile_box(level, 1, 1)
    ref = mssnet.to_uint8(np.clip(resample(deep.pyramid.image, 0, 0, 4.0, (224, 160)), 0, 1))[y0:y1, x0:x1]
    np.testing.assert_array_equal(decode(deep.tile_png("bicubic", level, 1, 1)), ref)


def test_levels_at_and_below_x1_are_the_image_and_its_downsamples(deep):
    n = deep.max_level
    image = mssnet.to_uint8(deep.pyramid.image)
    for layer in ("bicubic", "mssnet"):
        np.testing.assert_array_equal(decode(deep.tile_png(layer, n - 3, 0, 0)), image)
        small = decode(deep.tile_png(layer, n - 4, 0, 0))
        assert small.shape == (20, 28, 3) and abs(small.astype(float).mean() - image.mean()) < 2
    gain = decode(deep.tile_png("edge_gain", n - 3, 0, 0))
    assert gain.shape == (40, 56, 4) and gain[..., 3].max() == 0  # nothing sharpened: transparent


# --------------------------------------------------------------------------- edge gain


def test_edge_strength_map_of_a_step_is_one_half():
    step = np.zeros((8, 8, 3), np.float32)
    step[:, 4:] = 1.0
    e = edge_strength_map(step)
    assert e.shape == (8, 8) and e[:, 3:5].max() == pytest.approx(0.5) and e[:, 0].max() == 0


def test_edge_gain_is_red_up_blue_down_transparent_when_unchanged():
    soft = np.full((16, 16, 3), 0.5, np.float32)
    soft[:, 8:] = 0.6
    hard = soft.copy()
    hard[:, 8:] = 0.9  # a stronger edge
    up = edge_gain_rgba(soft, hard)
    assert up.shape == (16, 16, 4) and up.dtype == np.uint8
    assert up[0, 0, 3] == 0 and up[8, 7, 3] == 255 and tuple(up[8, 7, :3]) == (214, 39, 40)
    down = edge_gain_rgba(hard, soft)
    assert tuple(down[8, 7, :3]) == (31, 119, 180) and down[8, 7, 3] == 255
    same = edge_gain_rgba(soft, soft)
    assert same[..., 3].max() == 0
    slightly = soft.copy()
    slightly[:, 8:] = 0.62  # edge strength 0.05 -> 0.06 (a luminance step of s gives s/2): +0.01
    assert edge_gain_rgba(soft, slightly)[8, 7, 3] == round(0.01 / EDGE_GAIN_MAX * 255)


def test_edge_gain_tiles_are_rgba_on_the_fixed_scale(deep):
    level = deep.max_level - 2
    gain = decode(deep.tile_png("edge_gain", level, 0, 0))
    x0, y0, x1, y1 = deep.tile_box(level, 0, 0)
    assert gain.shape == (y1 - y0, x1 - x0, 4)
    bic = deep.pixels("bicubic", level, 0, 0)
    sharp = deep.pixels("mssnet", level, 0, 0)
    np.testing.assert_array_equal(gain, edge_gain_rgba(bic, sharp))


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path", [
    "", "x", "../etc/passwd", "AAAAAAAAAAAAAAAAAAAAAA/../mssnet.dzi", "AAAAAAAAAAAAAAAAAAAAAA/%2e%2e/app.py",
    "AAAAAAAAAAAAAAAAAAAAAA/mssnet_files/1/0_0.jpg", "AAAAAAAAAAAAAAAAAAAAAA/other.dzi",
    "AAAAAAAAAAAAAAAAAAAAAA/mssnet_files/-1/0_0.png", "AAAAAAAAAAAAAAAAAAAAAA/mssnet_files/1/0_0.png/x",
    "AAAA/mssnet.dzi", "AAAAAAAAAAAAAAAAAAAAAA/mssnet_files/1/0_0.png" + "0" * 200, None,
])
def test_bad_paths_do_not_parse(path):
    assert parse_path(path) is None


def test_good_paths_parse():
    i = "A" * 21 + "-"
    assert parse_path(f"{i}/mssnet.dzi") == ("descriptor", i, "mssnet", 0, 0, 0)
    assert parse_path(f"{i}/edge_gain_files/12/3_4.png") == ("tile", i, "edge_gain", 12, 3, 4)
    assert parse_path(f"{i}/view.png").kind == "view"


# --------------------------------------------------------------------------- the service


@pytest.fixture
def service():
    s = TileService(max_images=2, wait_seconds=20)
    yield s
    s.close()


def test_service_answers_descriptor_tiles_and_view(service, deep, model):
    pyramid = ZoomPyramid(deep.pyramid.image, model, tile=TILE, precision="fp32")
    image_id = service.open(pyramid, "photo.png")
    assert len(image_id) == 22 and image_id != service.open(pyramid, "photo.png")  # 128 random bits each
    info = service.info(image_id)
    assert info["layers"]["mssnet"] == f"/dz/{image_id}/mssnet.dzi" and (info["width"], info["height"]) == (56, 40)
    # the strength α of every level the map shows (its right side's label)
    assert info["strengths"] == [round(float(a), 4) for a in pyramid.alphas[:len(info["strengths"])]]
    assert 1 << len(info["strengths"]) == info["scale"]
    d = run(service.respond(f"{image_id}/mssnet.dzi"))
    assert d.status == 200 and d.media_type == "application/xml" and b"TileSize" in d.body
    n = deep.max_level
    run(service.respond(f"{image_id}/mssnet_files/{n - 2}/0_0.png"))
    t = run(service.respond(f"{image_id}/mssnet_files/{n - 2}/1_0.png"))
    assert t.status == 200 and t.media_type == "image/png"
    np.testing.assert_array_equal(decode(t.body), decode(deep.tile_png("mssnet", n - 2, 1, 0)))
    v = run(service.respond(f"{image_id}/view.png", {"zoom": "2", "u0": "0", "v0": "0", "w": "64", "h": "48"}))
    assert v.status == 200
    np.testing.assert_array_equal(decode(v.body), mssnet.to_uint8(pyramid.view(2.0, (16, 12), (64, 48)).sharpened))


def test_tiles_are_cacheable_and_asked_again_answer_304_without_work(service, deep, model):
    image_id = service.open(ZoomPyramid(deep.pyramid.image, model, tile=TILE, precision="fp32"))
    n = deep.max_level
    paths = (f"{image_id}/mssnet.dzi", f"{image_id}/mssnet_files/{n}/0_0.png", f"{image_id}/bicubic_files/{n}/0_0.png",
             f"{image_id}/edge_gain_files/{n - 1}/0_0.png")
    replies = [run(service.respond(path)) for path in paths]
    assert all(r.status == 200 and "immutable" in r.headers["Cache-Control"] for r in replies)
    tags = [r.headers["ETag"] for r in replies]
    assert len(set(tags)) == len(tags) and all(t.startswith('"') and t.endswith('"') and image_id in t for t in tags)
    assert tags[1] == etag(parse_path(paths[1])) == f'"tile/{image_id}/mssnet/{n}/0/0"'
    for path, tag in zip(paths, tags, strict=True):
        for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            again = run(service.respond(path, None, header))
            assert again.status == 304 and again.body == b"" and again.headers["ETag"] == tag
    assert run(service.respond(paths[1], None, tags[2])).status == 200  # another tile's tag: the tile itself
    view = run(service.respond(f"{image_id}/view.png", {"zoom": "2", "u0": "0", "v0": "0", "w": "8", "h": "8"}, "*"))
    assert view.status == 200 and "ETag" not in view.headers  # the exact view is not a map's fixed part
    service.open(deep.pyramid)
    service.open(deep.pyramid)  # max_images=2: the id expires; a page holding a tile keeps it
    assert run(service.respond(paths[1])).status == 404 and run(service.respond(paths[1], None, tags[1])).status == 304
    errors = run(service.respond(f"{'B' * 22}/mssnet.dzi"))
    assert "ETag" not in errors.headers and errors.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("query", [
    {}, {"zoom": "0.5", "u0": "0", "v0": "0", "w": "8", "h": "8"},
    {"zoom": "2", "u0": "-1", "v0": "0", "w": "8", "h": "8"},
    {"zoom": "2", "u0": "100", "v0": "0", "w": "64", "h": "8"},
    {"zoom": "nan", "u0": "0", "v0": "0", "w": "8", "h": "8"},
    {"zoom": "2", "u0": "0", "v0": "0", "w": "8", "h": "8", "layer": "edge_gain"},
    {"zoom": "2", "u0": "0.5", "v0": "0", "w": "8", "h": "8"},
])
def test_bad_view_requests_are_400(service, deep, model, query):
    image_id = service.open(ZoomPyramid(deep.pyramid.image, model, tile=TILE))
    assert run(service.respond(f"{image_id}/view.png", query)).status == 400


def test_unknown_ids_out_of_range_tiles_and_expired_ids_are_404(service, deep, model):
    pyramid = ZoomPyramid(deep.pyramid.image, model, tile=TILE)
    first = service.open(pyramid)
    n = deep.max_level
    for path in (f"{'B' * 22}/mssnet.dzi", f"{first}/mssnet_files/{n + 1}/0_0.png",
                 f"{first}/bicubic_files/{n}/7_0.png", f"{first}/mssnet_files/{n}/0_5.png", f"{first}/../../app.py",
                 f"{first}/mssnet.xml"):
        reply = run(service.respond(path))
        assert reply.status == 404 and b"Traceback" not in reply.body, path
    service.open(pyramid)
    service.open(pyramid)  # max_images=2: the first id expires
    assert run(service.respond(f"{first}/mssnet.dzi")).status == 404 and len(service) == 2


def test_maps_are_kept_by_memory_and_every_request_keeps_its_map(deep, model):
    """A class: many pages on one image share its bytes and lose nothing; distinct images expire least recently
    used first, only beyond the byte budget, and a map still being asked for is not the one that goes."""
    rgb = deep.pyramid.image
    one = rgb.nbytes
    service = TileService(max_bytes=3 * one)
    try:
        shared = ZoomPyramid(rgb, model, tile=TILE)
        ids = [service.open(shared) for _ in range(30)]  # thirty pages, one photo
        assert len(service) == 30 and service.nbytes() == one
        others = [ZoomPyramid(np.ascontiguousarray(rgb[:, ::-1]) * k, model, tile=TILE) for k in (0.9, 0.8, 0.7)]
        first = service.open(others[0])
        second = service.open(others[1])
        assert len(service) == 32 and service.nbytes() == 3 * one  # at the budget: nothing expired
        assert run(service.respond(f"{first}/bicubic.dzi")).status == 200  # the first is in use again
        third = service.open(others[2])  # over the budget: the least recently used go until it fits
        assert run(service.respond(f"{first}/bicubic.dzi")).status == 200  # kept: it was asked for
        assert run(service.respond(f"{third}/bicubic.dzi")).status == 200
        assert run(service.respond(f"{second}/bicubic.dzi")).status == 200
        assert all(run(service.respond(f"{i}/bicubic.dzi")).status == 404 for i in ids)  # the shared photo's, last used
        assert service.nbytes() <= 3 * one
    finally:
        service.close()


def test_maps_take_turns_and_each_serves_its_newest_request_first():
    """Thirty pages ask at once: no page waits behind another page's screenful. Maps are served a tile each in
    turn (never served first, then the one served longest ago); within a map the newest request goes first."""
    service = TileService()
    gate, done = threading.Event(), []
    try:
        service._submit(("block",), "x", lambda: gate.wait(10) and b"")  # occupies the compute thread
        time.sleep(0.1)
        futures = []
        for image_id, tile in [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1), ("c", 1), ("c", 2), ("b", 2)]:
            futures.append(service._submit((image_id, tile), image_id,
                                           lambda image_id=image_id, tile=tile: done.append((image_id, tile)) or b""))
        gate.set()
        for future in futures:
            future.result(10)
        assert done == [("a", 4), ("b", 2), ("c", 2), ("a", 3), ("b", 1), ("c", 1), ("a", 2), ("a", 1)]
    finally:
        gate.set()
        service.close()


def test_the_fill_starts_when_an_image_opens(deep, model):
    fill = FillWorker()
    service = TileService(fill=fill)
    try:
        pyramid = ZoomPyramid(deep.pyramid.image, model, tile=TILE, fill=fill, cache=TileCache())
        service.open(pyramid, center=(28, 20))
        assert fill.wait_idle(60)
        middle = pyramid.tile_at(1, (56, 40))
        assert pyramid.is_cached(middle) and all(pyramid.is_cached(t) for t in pyramid.tiles_under(1, (0, 0, 112, 80)))
        assert not pyramid.is_cached(pyramid.tile_at(2, (112, 80)))
        service.open(pyramid, center=(28, 20), zoom=3.0)  # a first view at ×3: its level 2 fills first
        assert fill.wait_idle(60) and pyramid.is_cached(pyramid.tile_at(2, (112, 80)))
    finally:
        service.close()
        fill.stop()


class Gate(torch.nn.Module):
    """Identity network that blocks each pass until released, logging the order of the passes' inputs."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.go = threading.Event()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        self.go.wait(30)
        return x


def test_newest_request_first_bounded_and_503_while_waiting():
    gate = Gate().eval()
    pyramid = ZoomPyramid(photo(64, 256), gate, tile=TILE, strength=1.0)
    service = TileService(wait_seconds=0.2, max_pending=3, max_pending_per_image=3)
    try:
        image_id = service.open(pyramid)
        n = service.image(image_id).max_level
        level = n - 2  # ×2: 512×128, 8×2 tiles of 64 (the bottom row alone needs no neighbour above)

        async def ask(col):
            return await service.respond(f"{image_id}/mssnet_files/{level}/{col}_1.png")

        async def scenario():
            first = asyncio.create_task(ask(0))  # occupies the compute thread
            await asyncio.sleep(0.1)
            waits = [asyncio.create_task(ask(c)) for c in (3, 5, 7)]
            await asyncio.sleep(0.1)
            full = await ask(2)  # a fourth queued tile: refused at once
            replies = await asyncio.gather(first, *waits)
            return full, replies

        full, replies = run(scenario())
        assert full.status == 503 and "Retry-After" in full.headers
        assert all(r.status == 503 and r.headers["Retry-After"] == "1" for r in replies)  # still sharpening
        order = []
        service_take = service._take

        def logged():
            job = service_take()
            if job is not None:
                order.append(job.key[-2])
            return job

        service._take = logged
        gate.go.set()
        deadline = time.monotonic() + 30
        while service.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert order == [7, 5, 3]  # newest first
        again = run(ask(7))
        assert again.status == 200
    finally:
        gate.go.set()
        service.close()


def test_write_deep_zoom_and_the_command_line_site(weights, image_file, tmp_path, deep):
    out = tmp_path / "site"
    assert cli(["deepzoom", str(image_file), "-o", str(out), "--max-zoom", "2", "--weights", str(weights)]) == 0
    for layer in LAYERS:
        root = ET.fromstring((out / f"{layer}.dzi").read_text())
        assert root.find("{http://schemas.microsoft.com/deepzoom/2008}Size").get("Width") == "112"
    top = 7  # ceil(log2(112))
    assert sorted(int(p.name) for p in (out / "mssnet_files").iterdir()) == list(range(top + 1))
    assert (out / "mssnet_files" / str(top) / "0_0.png").exists()
    page = (out / "index.html").read_text()
    assert "/*ZS_INFO*/null" not in page
    start = page.index("const info = ") + len("const info = ")
    info = json.JSONDecoder().raw_decode(page[start:])[0]
    assert info["layers"]["mssnet"] == "./mssnet.dzi" and info["scale"] == 2 and info["name"] == "photo.png"
    for name in ("openseadragon.min.js", "map.js", "LICENSE.txt", "studio.css"):
        assert (out / name).stat().st_size > 0
    assert cli(["deepzoom", str(tmp_path / "missing.png"), "-o", str(out)]) == 2


def test_write_deep_zoom_counts_every_tile(deep, tmp_path):
    small = DeepZoomImage(deep.pyramid, top=1)
    seen = []
    write_deep_zoom(small, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == len(list(small.tiles())) == len(list(tmp_path.rglob("*.png")))


class Broken(torch.nn.Module):
    """A network whose every pass fails (an out-of-memory, a broken runtime)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        raise ValueError("this pass failed")


def test_a_tile_that_cannot_be_made_is_503_and_logged(caplog):
    service = TileService(wait_seconds=10)
    try:
        image_id = service.open(ZoomPyramid(photo(32, 32), Broken().eval(), tile=TILE, strength=1.0))
        level = service.image(image_id).max_level - 2
        with caplog.at_level("ERROR", logger="mssnet.serve.tile_service"):
            reply = run(service.respond(f"{image_id}/mssnet_files/{level}/0_0.png"))
        assert reply.status == 503 and "Retry-After" in reply.headers and b"Traceback" not in reply.body
        assert "this pass failed" in caplog.text
        assert run(service.respond(f"{image_id}/bicubic_files/{level}/0_0.png")).status == 200  # others still work
    finally:
        service.close()
