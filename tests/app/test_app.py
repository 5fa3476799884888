"""The Gradio app's wiring: the Blocks build, the upload component, and each handler called
directly on tiny images (Gradio values in, PNG paths / updates / ``gr.Error`` out).

The studio's behaviour (cache, geometry, strengths, scores) is tested without Gradio in
tests/mssnet/test_session.py and tests/explain/test_explain_studio.py. A tiny random MSSNet (wf=4) stands
in for the bundled weights, and viewports are 32-64 px, so the file runs in seconds.
"""

import base64
import io
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import app
import mssnet
import mssnet.runtime.compiled
import mssnet.serve.session
import mssnet.serve.source
import mssnet.serve.views
from explain.studio import EXPLORE_MAPS

SMALL = 64  # viewport side used throughout


@pytest.fixture(scope="module")
def studio(tiny_weights):
    handlers = app.Handlers(tiny_weights)
    yield handlers
    handlers.close()


def _png(path, array, mode=None):
    Image.fromarray(array, mode).save(path)
    return str(path)


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:80]
    rgb = np.stack([(x * 3) % 256, (y * 5) % 256, rng.integers(0, 256, (48, 80))], axis=2).astype(np.uint8)
    return _png(tmp_path_factory.mktemp("img") / "test.png", rgb)


@pytest.fixture(scope="module")
def source(studio, image_path):
    return studio.load(image_path)[0]


def _select(x, y):
    return gr.SelectData(None, {"index": [x, y], "value": None})


def _shape(path):
    """(H, W, channels) of a PNG the handlers return for display, as stored (no conversion)."""
    assert isinstance(path, str) and path.endswith(".png"), path
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im).shape


def _is_rgb_png(path, min_side=32):
    """A PNG of an RGB(A) image or figure, at least ``min_side`` px a side."""
    shape = _shape(path)
    return len(shape) == 3 and shape[2] in (3, 4) and min(shape[:2]) >= min_side


# --------------------------------------------------------------------------- build


def test_build_demo_constructs_with_api_names(tiny_weights):
    demo = app.build_demo(tiny_weights)
    assert isinstance(demo, gr.Blocks)
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"zoom_sharpen", "zoom_sharpen_full", "deep_zoom"} <= names
    assert demo._queue.max_size == app.QUEUE_SIZE
    assert demo.studio.default_label.startswith("tiny.safetensors")
    options = app.launch_options()
    assert str(app.EXAMPLES_DIR) in options["allowed_paths"]
    ids = {block.elem_id for block in demo.blocks.values()}
    assert {"zoom", "viewer-box", "deep-zoom-info", "map-rest", "map-rest-go", "timing"} <= ids
    assert not {"compare", "sharpened", "bicubic", "overview"} & ids  # the map replaced the three views
    demo.handlers.close()


def test_build_wires_the_map_events(tiny_weights):
    """Upload, model and the map at rest reach the server; the zoom slider does not (the map zooms itself)."""
    demo = app.build_demo(tiny_weights)
    fns = {fn.name: fn for fn in demo.fns.values()}
    assert {"load", "reopen", "map_rest", "heat_maps", "explain_window", "stages", "sweep", "simulate",
            "download", "add_weights", "api_zoom_sharpen", "api_zoom_sharpen_full", "api_deep_zoom"} <= set(fns)
    rest = [fn for fn in demo.fns.values() if fn.name == "map_rest"]
    assert len(rest) == 1 and rest[0].concurrency_id == "view" and rest[0].trigger_mode == "always_last"
    slider = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "zoom")
    assert not [fn for fn in demo.fns.values() if any(t[0] == slider._id for t in fn.targets)]
    opening = [fn for fn in demo.fns.values() if fn.targets and fn.targets[0][1] == "load"]
    assert len(opening) == 1  # the page opens on an example: no click needed
    assert (app.EXAMPLES_DIR / app.OPENING_EXAMPLE).exists()
    demo.handlers.close()


def test_rest_view_is_the_middle_square_of_the_visible_region(studio, source):
    rest = json.dumps({"id": "x", "zoom": 3.0, "center_x": 40, "center_y": 20, "width": 900, "height": 500})
    # 80 px ×3: no larger than the image
    assert mssnet.serve.views.rest_view(source, rest, app.PANEL_SIDE) == (3.0, (40.0, 20.0), 240)
    wide = json.dumps({"id": "x", "zoom": 8.0, "center_x": 40, "center_y": 20, "width": 900, "height": 500})
    assert mssnet.serve.views.rest_view(source, wide, app.PANEL_SIDE)[2] == app.PANEL_SIDE
    small = json.dumps({"id": "x", "zoom": 0.5, "center_x": -5, "center_y": 99, "width": 200, "height": 100})
    # zoom and centre clamped, ≤ the image
    assert mssnet.serve.views.rest_view(source, small, app.PANEL_SIDE) == (1.0, (0.0, 48.0), 80)
    for bad in ("", "{}", "not json", json.dumps({"zoom": "nan", "center_x": 1, "center_y": 1, "width": 9,
                                                  "height": 9})):
        assert mssnet.serve.views.rest_view(source, bad, app.PANEL_SIDE) is None
    # the rest of the map the page shows, or of another one (an image replaced meanwhile)
    assert (mssnet.serve.views.rest_view(source, rest, app.PANEL_SIDE, json.dumps({"id": "x"}))
            == (3.0, (40.0, 20.0), 240))
    assert mssnet.serve.views.rest_view(source, rest, app.PANEL_SIDE, json.dumps({"id": "y"})) is None
    assert studio.map_rest(None, rest, None) == (gr.skip(),) * 5
    center, side, timing, view, cached = studio.map_rest(source, rest, None)
    assert side == 240 and view.zoom == 3.0 and view.viewport == 240 and center == (40.0, 20.0)


def test_lesson_try_it_sets_image_everywhere_zoom_centre_and_tab(studio):
    for step in app.LESSON_STEPS:
        source, center, zoom, info, map_json, tab, upload, action = studio.try_it(step.number)
        assert source.name == step.try_it.example and zoom == step.try_it.zoom and upload == str(step.try_it.path)
        assert action == (step.try_it.tab if step.try_it.tab in app.TAB_ACTIONS else None)
        assert center == (step.try_it.center or (source.size[0] / 2, source.size[1] / 2))
        assert tab.selected == step.try_it.tab and step.try_it.example in info
        opened = json.loads(map_json)
        assert opened["open"] == {"zoom": zoom, "center": list(center)} and opened["width"] == source.size[0]
        # the upload now holds the example: its change event sees the same image and changes nothing
        assert studio.load(upload, None, source) == (gr.skip(),) * 5
    view = studio.show_view(source, zoom, center, SMALL, None)[1]
    assert _is_rgb_png(studio.workflow(source, view), 200)
    with pytest.raises(gr.Error, match="Load an image"):
        studio.workflow(None, None)


class Page:
    """Stands in for the gr.Request of one browser page."""

    def __init__(self, name):
        self.session_hash = name


def test_panels_of_a_view_the_page_has_left_are_dropped(studio, source):
    page = Page("a")
    rest = {"id": "x", "center_x": 40, "center_y": 24, "width": 64, "height": 64}
    first = studio.map_rest(source, json.dumps({**rest, "zoom": 2.0}), None, None, page)[3]
    assert studio.answer(first, page) != (gr.skip(), gr.skip())  # still the page's view
    second = studio.map_rest(source, json.dumps({**rest, "zoom": 2.5}), None, None, page)[3]
    assert first.identity != second.identity
    for handler, n in ((studio.heat_maps, 6), (studio.answer, 2), (studio.decision, 3), (studio.saliency, 2),
                       (studio.visual_saliency, 2)):
        assert handler(first, request=page) == (gr.skip(),) * n  # a late result of the first view: dropped
    assert studio.answer(second, page)[0].startswith(("MSSNet", "These weights"))
    assert studio.answer(first, Page("b")) != (gr.skip(), gr.skip())  # another page's view is its own
    # a rest of a map the page has replaced (another id) changes nothing
    shown = json.dumps({"id": "y"})
    assert studio.map_rest(source, json.dumps({**rest, "zoom": 3.0}), None, shown, page) == (gr.skip(),) * 5


def test_try_it_runs_the_tab_it_opens_once_its_view_is_shown(studio, source):
    view = studio.show_view(source, 2.0, None, SMALL, None)[1]
    args = (source, view, None, SMALL, None, 2.0, None, "SmoothGrad", 2, 8)
    stages = studio.tab_action("stages", *args)
    assert stages[0] is None and _is_rgb_png(stages[1], 100) and stages[5:] == (gr.skip(),) * 12
    attribution = studio.tab_action("attribution", *args)
    assert _is_rgb_png(attribution[14], 100) and attribution[1:14] == (gr.skip(),) * 13
    assert studio.tab_action(None, *args) == (gr.skip(),) * 17


def test_a_change_that_changes_nothing_empties_nothing():
    run = app._and_clear(lambda x: (gr.skip(), gr.skip()) if x is None else (1, 2), (None, ""))
    assert run(None) == (gr.skip(),) * 4 and run(5) == (1, 2, None, "")


def test_launch_options_carry_the_page_script_style_and_routes(tiny_weights):
    options = app.launch_options()
    assert "deep-zoom-info" in options["head"] and options["ssr_mode"] is False and "app_kwargs" not in options
    assert all(Path(p).exists() for p in options["css_paths"])
    demo = app.build_demo(tiny_weights)
    paths = [r.path for r in app.launch_options(demo)["app_kwargs"]["routes"]]
    assert paths == [app.DZ_PREFIX + "/{path:path}", app.UI_PREFIX]
    demo.handlers.close()


def test_routes_serve_tiles_and_ui_files_but_nothing_else(studio, image_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    client = TestClient(Starlette(routes=app.routes(studio.tiles)))
    info = studio.api_deep_zoom(image_path)
    assert client.get(info["layers"]["mssnet"]).status_code == 200
    tile = client.get(f"/dz/{info['id']}/bicubic_files/{info['max_level']}/0_0.png")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    assert client.get(app.UI_PREFIX + "/map.js").status_code == 200
    for path in ("/dz/../app.py", "/dz/%2e%2e/%2e%2e/app.py", f"/dz/{info['id']}/%2e%2e/mssnet.dzi",
                 app.UI_PREFIX + "/../../app.py", app.UI_PREFIX + "/%2e%2e/%2e%2e/app.py",
                 "/dz/" + "A" * 22 + "/x.dzi"):
        assert client.get(path).status_code in (400, 404), path


def test_image_upload_patch_still_fits_gradio():
    """image_input replaces preprocess on one gr.Image; this fails loudly when Gradio stops calling it."""
    import inspect

    from gradio.blocks import Blocks

    assert "block.preprocess" in inspect.getsource(Blocks.preprocess_data)  # the instance attribute is used
    comp = app.image_input(render=False)
    assert comp.get_block_name() == "image"
    assert comp.preprocess(None) is None
    assert comp.preprocess(gr.FileData(path="/tmp/x.png")) == "/tmp/x.png"
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    assert app._upload_source(gr.FileData(path="", url=data_url)) == buf.getvalue()


def test_tabs_are_the_lessons_tabs():
    from explain.lesson import TABS

    assert list(app.TAB_BUILDERS) == list(TABS)  # the "Try it" steps select tabs by these ids


def test_examples_exist_and_are_small():
    for name in app.EXAMPLES:
        path = app.EXAMPLES_DIR / name
        assert path.exists(), name
        with Image.open(path) as im:
            assert max(im.size) <= 512 and im.format == "PNG"


def test_missing_default_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        app.Handlers(tmp_path / "missing.safetensors")


# --------------------------------------------------------------------------- loading


def test_load_returns_source_info_and_the_map(studio, image_path):
    source, center, zoom, info, map_json = studio.load(image_path)
    assert source.rgb.shape == (48, 80, 3) and source.rgb.dtype == np.float32
    # a new image opens at opening_zoom (fills the panel square, ×2 at least), on its strongest edges
    assert zoom == mssnet.serve.source.opening_zoom((80, 48), app.PANEL_SIDE) >= 2.0
    assert center == mssnet.serve.source.strongest_edges_center(source, zoom, app.PANEL_SIDE)
    assert "80×48" in info and "test.png" in info
    opened = json.loads(map_json)
    assert (opened["width"], opened["height"], opened["scale"]) == (80, 48, 8) and len(opened["id"]) == 22
    assert set(opened["layers"]) == {"bicubic", "mssnet", "edge_gain"} and opened["open"]["zoom"] == zoom
    assert studio.load(image_path, None, None, 3.0)[2] == 3.0  # the page's opening keeps the slider's zoom
    assert json.loads(studio.load(image_path)[4])["id"] != opened["id"]  # each opening: a fresh id
    assert studio.load(None) == (None, None, gr.skip(), app.NO_IMAGE, "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (None, "truncated or corrupt"),  # a PNG cut in half
    ],
)
def test_bad_uploads_become_gr_error(studio, image_path, tmp_path, data, message):
    if data is None:
        data = open(image_path, "rb").read()[:300]
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    with pytest.raises(gr.Error) as err:
        studio.open(str(path))
    assert message in err.value.message
    assert str(tmp_path) not in err.value.message  # the temporary folder is not shown, only the name
    assert "upload.png" in err.value.message
    # in the page: one message in the info line, the previous image and its views kept, no error raised
    *kept, info, map_json = studio.load(str(path))
    assert kept == [gr.skip()] * 3 and map_json == gr.skip() and err.value.message in info and "stays" in info


def test_animated_gif_is_refused(studio, tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(gr.Error, match="animated"):
        studio.open(str(path))


def test_huge_image_is_refused_before_decoding(studio, tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (8000, 6000)).save(path)  # 48 MP, a few KiB on disk
    with pytest.raises(gr.Error, match="too large"):
        studio.open(str(path))


def test_a_1x1_image_still_gives_a_view(studio, tmp_path):
    tiny = studio.load(_png(tmp_path / "tiny.png", np.zeros((1, 1, 3), np.uint8)))
    assert "Very small" in tiny[3] and tiny[2] == 8.0  # a 1 px image opens at the largest zoom
    view = studio.show_view(tiny[0], 8.0, tiny[1], 32, None)[1]
    assert view.sharpened.shape == (32, 32, 3) and json.loads(tiny[4])["max_level"] == 3


# --------------------------------------------------------------------------- views


def test_show_view_and_heat_maps(studio, source):
    timing, view, cached = studio.show_view(source, 6.0, (9.0, 9.0), SMALL, None)  # level 3: not computed before
    assert view.sharpened.shape == (SMALL, SMALL, 3) and cached is False and "cached" not in timing
    assert len(view.stages) == 6
    again = studio.show_view(source, 6.0, (9.0, 9.0), SMALL, None)  # same view: from the cache
    assert again[2] is True and again[1] is view and "cached" in again[0]

    *maps, scales, timing, attr_view = studio.heat_maps(view, True)
    scales = json.loads(scales)
    assert len(maps) == len(EXPLORE_MAPS) == 3 and all(_is_rgb_png(m, 200) for m in maps)
    before, after = scales["edges"]  # both edge maps on one scale, read from the figure
    assert before == after and before[0] == 0 and before[1] > 0
    low, high = scales["edge_gain"][0]  # the signed map: centred on 0
    assert low == -high and high > 0
    assert _shape(attr_view) == (SMALL, SMALL, 3)
    assert timing.count("heat maps") == 1 and "cached" in timing  # told by the state, not by the text
    assert "cached" not in studio.heat_maps(view, False)[4]
    assert studio.heat_maps(view, True)[0] == maps[0]  # rendered once, kept with the view


def test_handlers_without_an_image_do_nothing(studio):
    assert studio.show_view(None, 2.0, None, SMALL, None) == (gr.skip(),) * 3
    assert studio.reopen(None, None, 2.0, None) == gr.skip()
    assert studio.heat_maps(None) == (gr.skip(),) * 6
    assert studio.stages(None)[0] is None
    for handler, args in ((studio.sweep, (None, None, SMALL, None)),
                          (studio.simulate, (None, 2.0, None, SMALL, None)),
                          (studio.download, (None, 2.0, None)),
                          (studio.explain_window, (None, None, "SmoothGrad", 4, 16))):
        with pytest.raises(gr.Error, match="Load an image"):
            handler(*args)


def test_bad_values_become_gr_error(studio, source):
    with pytest.raises(gr.Error, match="zoom must be between"):
        studio.show_view(source, 9.0, None, SMALL, None)
    with pytest.raises(gr.Error, match="unknown model"):
        studio.show_view(source, 2.0, None, SMALL, "no such model")
    view = studio.show_view(source, 2.0, None, SMALL, None)[1]
    with pytest.raises(gr.Error, match="unknown attribution method"):
        studio.explain_window(view, None, "no such method", 4, 8)
    with pytest.raises(gr.Error, match="above"):
        studio.simulate(source, 1.0, None, SMALL, None)


def test_display_pngs_are_written_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    first = app.png_path(image)
    assert first.startswith(str(tmp_path)) and app.png_path(image) == first
    assert app.png_path(image[:4]) != first
    np.testing.assert_array_equal(np.asarray(Image.open(first)), mssnet.to_uint8(image))


# --------------------------------------------------------------------------- explanation tabs


@pytest.mark.parametrize("method", list(app.METHODS))
def test_attribution_for_a_clicked_window(studio, source, method):
    view = studio.show_view(source, 2.0, None, SMALL, None)[1]
    window, drawn = studio.pick_window(view, 8, _select(10, 50))
    assert window == (10.5, 50.5) and _shape(drawn) == (SMALL, SMALL, 3)
    figure, text, kept = studio.explain_window(view, window, method, 2, 8)
    assert _is_rgb_png(figure, 200) and "Diffusion Index" in text
    random, compared = studio.random_weights(view, window, method, 2, 8, kept)  # reuses the trained result
    assert _is_rgb_png(random, 200) and "random weights" in compared


def test_random_weights_compare_with_the_window_explained_last(studio, source):
    """Window A -> explain -> window B -> explain -> random weights: the comparison quotes B, never A."""
    view = studio.show_view(source, 2.0, None, SMALL, None)[1]
    _, _, kept_a = studio.explain_window(view, (12.5, 12.5), "SmoothGrad", 2, 8)
    _, _, kept_b = studio.explain_window(view, (44.5, 40.5), "SmoothGrad", 2, 8)
    assert kept_a[1].gain != kept_b[1].gain
    _, text = studio.random_weights(view, (44.5, 40.5), "SmoothGrad", 2, 8, kept_b)
    assert f"(trained: {kept_b[1].gain:+.3f})" in text
    _, text = studio.random_weights(view, (44.5, 40.5), "SmoothGrad", 2, 8, kept_a)  # kept for another window
    assert f"(trained: {kept_b[1].gain:+.3f})" in text and f"(trained: {kept_a[1].gain:+.3f})" not in text


def test_answer_decision_and_saliencies_once_per_view(studio, source):
    view = studio.show_view(source, 2.5, None, SMALL, None)[1]
    answer, why = studio.answer(view)
    assert "edge strength" in answer and "decision panel" in why
    figure, text, table = studio.decision(view)
    assert _is_rgb_png(figure, 200) and "|" in table and "|" not in text
    assert studio.decision(view) == (figure, text, table)
    figure, text = studio.saliency(view)
    assert _is_rgb_png(figure, 200) and "random-weights check" in text
    assert studio.saliency(view) == (figure, text)
    figure, text = studio.visual_saliency(view)
    assert _is_rgb_png(figure, 200) and "correlation" in text.lower()
    assert studio.decision(None) == (gr.skip(),) * 3
    assert studio.saliency(None) == studio.visual_saliency(None) == studio.answer(None) == (gr.skip(), gr.skip())


def test_stages_sweep_and_simulate_convert_to_pngs(studio, source):
    view = studio.show_view(source, 2.0, None, SMALL, None)[1]
    figure, text, changes, changes_text = studio.stages(view)
    assert _is_rgb_png(figure, 200) and text.count("scale") >= 6
    assert _is_rgb_png(changes, 200) and "changed the image most" in changes_text

    gallery, plot, table = studio.sweep(source, None, 32, None)
    assert len(gallery) == len(mssnet.serve.session.SWEEP_FACTORS) and _is_rgb_png(plot, 200)
    height, width, _ = _shape(gallery[0][0])  # the whole bicubic | MSSNet pair at 1:1, labels above
    assert width == 2 * 32 + 6 and height > 32 and "×8" in table

    text, truth, bic, sharp, errors, spectrum = studio.simulate(source, 2.5, None, SMALL, None)
    assert "PSNR" in text and _shape(truth) == _shape(bic) == _shape(sharp) == (48, 64, 3)
    assert _is_rgb_png(errors, 200) and _is_rgb_png(spectrum, 200)


def test_download_is_a_png_of_the_whole_image(studio, source):
    path = studio.download(source, 1.5, None)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (120, 72)
    big = app.Source("big", "big.png", np.zeros((1000, 1000, 3), np.float32), None, 8, "RGB",
                     np.zeros((8, 8, 3), np.uint8), 0.008)
    with pytest.raises(gr.Error, match="limit"):
        studio.download(big, 4.0, None)


# --------------------------------------------------------------------------- models and API


def test_uploaded_weights_join_the_dropdown(studio, tiny_weights, tmp_path):
    dropdown, note = studio.add_weights(str(tiny_weights))
    assert dropdown.value.startswith("uploaded: ") and dropdown.value in studio.studio.models.labels
    assert "MSSNet-custom" in note
    note = studio.model_note(dropdown.value)
    assert note.startswith("Weights file: `tiny.safetensors`") and "Runs on: " in note
    runs_on = mssnet.runtime.compiled.backend_name(studio.studio.models.get(dropdown.value))
    assert note.split("Runs on: ")[1] in {runs_on}
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(gr.Error, match="not a checkpoint"):
        studio.add_weights(str(bad))
    assert studio.add_weights(None) == (gr.skip(), gr.skip())


def test_api_zoom_sharpen(studio, image_path):
    bicubic, sharp, info = studio.api_zoom_sharpen(image_path, 2.0, 10.0, None, 32, None)
    assert _shape(bicubic) == _shape(sharp) == (32, 32, 3)
    assert info["rect"][0] == 2.0 and info["viewport"] == 32  # x clamped: centre 10 - 16/2
    assert info["level"] == 1 and info["backend"].startswith(("OpenVINO", "PyTorch"))
    again = studio.api_zoom_sharpen(image_path, 1.5, 10.0, None, 32, None)[2]  # level 1 again: tiles reused
    assert again["level"] == 1 and again["tiles"]["computed"] == 0 and again["tiles"]["reused"] >= 1
    assert studio.api_zoom_sharpen(image_path, 3.0, None, None, 32, None)[2]["level"] == 2
    path = studio.api_zoom_sharpen_full(image_path, 1.0, None)
    with Image.open(path) as im:
        assert im.size == (80, 48)
    with pytest.raises(gr.Error, match="No image"):
        studio.api_zoom_sharpen(None)


def test_api_deep_zoom_opens_the_map_layers(studio, image_path):
    info = studio.api_deep_zoom(image_path)
    assert (info["width"], info["height"], info["scale"]) == (80, 48, 8) and "open" not in info
    assert info["view_url"] == f"/dz/{info['id']}/view.png"
    with pytest.raises(gr.Error, match="No image"):
        studio.api_deep_zoom(None)
