"""The Gradio app's wiring: the Blocks build, the upload component, and each handler called
directly on tiny images (Gradio values in, PNG paths / updates / ``gr.Error`` out).

The studio's behaviour (cache, geometry, strengths, scores) is tested without Gradio in
tests/mssnet/test_session.py and tests/explain/test_explain_studio.py. A tiny random MSSNet (wf=4) stands
in for the bundled weights, and viewports are 32-64 px, so the file runs in seconds.
"""

import base64
import inspect
import io
import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from PIL import Image
from pngs import BAD_FILES, bad_file, make_test_image, png_shape

import app
import mssnet
import mssnet.runtime.compiled
import mssnet.serve.session
import mssnet.serve.source
import mssnet.serve.views
from explain.page import EXPLAINED, RANDOM

SMALL = 64  # viewport side used throughout


@pytest.fixture(scope="module")
def page(tiny_weights):
    events = app.Page(tiny_weights, app.png_path)
    yield events
    events.close()


@pytest.fixture(scope="module")
def api(page):
    """The three API endpoints as Gradio calls them (errors as gr.Error)."""
    wiring = app.Wiring(page, SimpleNamespace())
    return SimpleNamespace(**{name: wiring.handler(getattr(page, name), n, plain=True) for name, n in
                              (("api_zoom_sharpen", 6), ("api_zoom_sharpen_full", 3), ("api_deep_zoom", 2))})



@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    return make_test_image(tmp_path_factory.mktemp("img"))


@pytest.fixture(scope="module")
def source(page, image_path):
    return page.load(image_path)["source"]


def _select(x, y):
    return gr.SelectData(None, {"index": [x, y], "value": None})


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
    assert {"zoom", "viewer-box", "timing"} <= ids and not {"deep-zoom-info", "map-rest", "map-rest-go"} & ids
    assert not {"compare", "sharpened", "bicubic", "overview"} & ids  # the map replaced the three views
    demo.studio_page.close()


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
    demo.studio_page.close()


def test_rest_view_is_the_middle_square_of_the_visible_region(page, source):
    rest = json.dumps({"id": "x", "zoom": 3.0, "center_x": 40, "center_y": 20, "width": 900, "height": 500})
    # 80 px ×3: no larger than the image
    assert mssnet.serve.views.rest_view(source, rest, app.events.PANEL_SIDE) == (3.0, (40.0, 20.0), 240)
    wide = json.dumps({"id": "x", "zoom": 8.0, "center_x": 40, "center_y": 20, "width": 900, "height": 500})
    assert mssnet.serve.views.rest_view(source, wide, app.events.PANEL_SIDE)[2] == app.events.PANEL_SIDE
    small = json.dumps({"id": "x", "zoom": 0.5, "center_x": -5, "center_y": 99, "width": 200, "height": 100})
    # zoom and centre clamped, ≤ the image
    assert mssnet.serve.views.rest_view(source, small, app.events.PANEL_SIDE) == (1.0, (0.0, 48.0), 80)
    for bad in ("", "{}", "not json", json.dumps({"zoom": "nan", "center_x": 1, "center_y": 1, "width": 9,
                                                  "height": 9})):
        assert mssnet.serve.views.rest_view(source, bad, app.events.PANEL_SIDE) is None
    # the rest of the map the page shows, or of another one (an image replaced meanwhile)
    assert (mssnet.serve.views.rest_view(source, rest, app.events.PANEL_SIDE, json.dumps({"id": "x"}))
            == (3.0, (40.0, 20.0), 240))
    assert mssnet.serve.views.rest_view(source, rest, app.events.PANEL_SIDE, json.dumps({"id": "y"})) is None


class Request:
    """Stands in for the gr.Request of one browser page."""

    def __init__(self, name):
        self.session_hash = name


def test_wired_handlers_send_fields_to_their_components_and_errors_as_gr_error(page, source):
    """Wiring.handler: the page's {field: value} as {component: value}; a parameter named page, index or
    progress gets the page's id, the click or Gradio's bar; Missing and bad values become one gr.Error."""
    ui = SimpleNamespace(answer=gr.Markdown(), tabs=gr.Tabs(), model=gr.Dropdown(),
                         **{k: gr.State() for k in ("window", "attr_view", *EXPLAINED, *RANDOM)})
    wiring = app.Wiring(page, ui)
    seen = []
    run = wiring.handler(lambda text, page=None: seen.append(page) or {"answer": text, "tabs": "stages"}, 1)
    assert run.__name__ == "<lambda>" and list(inspect.signature(run).parameters) == ["text", "request"]
    out = run("text", Request("a"))
    assert out[ui.answer] == "text" and out[ui.tabs].selected == "stages" and seen == ["a"]
    # nothing to change (e.g. a view the page has left): every output skipped; Gradio would take {} as a value
    assert wiring.handler(lambda: {}, 0, outputs=["answer", "tabs"])() == {ui.answer: gr.skip(), ui.tabs: gr.skip()}
    picked = wiring.handler(page.pick_window, 2)
    assert list(inspect.signature(picked).parameters) == ["view", "side", "request", "evt"]
    view = page.studio.view(source, 2.0, None, SMALL, None)[0]
    assert picked(view, 8, None, _select(3, 4))[ui.window] == (3.5, 4.5)
    added = wiring.handler(lambda label: {"model": label}, 1)(page.studio.models.default_label)
    assert added[ui.model].value == page.studio.models.default_label
    explain_window = wiring.handler(page.explain_window, 5)
    assert "progress" in inspect.signature(explain_window).parameters  # Gradio's bar goes in
    with pytest.raises(gr.Error, match="Load an image"):
        explain_window(None, None, "SmoothGrad", 4, 16)
    with pytest.raises(gr.Error, match="unknown attribution method"):
        explain_window(view, None, "no such method", 4, 8)


def test_launch_options_carry_the_page_script_style_and_routes(tiny_weights):
    options = app.launch_options()
    assert "zsStudio" in options["head"] and options["ssr_mode"] is False and "app_kwargs" not in options
    assert all(Path(p).exists() for p in options["css_paths"])
    demo = app.build_demo(tiny_weights)
    paths = [r.path for r in app.launch_options(demo)["app_kwargs"]["routes"]]
    assert paths == [app.events.DZ_PREFIX + "/{path:path}", app.UI_PREFIX]
    demo.studio_page.close()


def test_routes_serve_tiles_and_ui_files_but_nothing_else(page, api, image_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    client = TestClient(Starlette(routes=app.routes(page.tiles)))
    info = api.api_deep_zoom(image_path)
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
        app.build_demo(tmp_path / "missing.safetensors")


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_bad_uploads_become_gr_error(api, image_path, tmp_path, data, message):
    """The API says what is wrong with a file in one gr.Error (the page says it in its info line instead:
    tests/explain/test_explain_page.py)."""
    path = bad_file(data, image_path, tmp_path)
    for endpoint in (api.api_deep_zoom, api.api_zoom_sharpen, api.api_zoom_sharpen_full):
        with pytest.raises(gr.Error) as err:
            endpoint(str(path))
        assert message in err.value.message
        assert str(tmp_path) not in err.value.message  # the temporary folder is not shown, only the name
        assert "upload.png" in err.value.message


def test_animated_gif_is_refused(api, tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(gr.Error, match="animated"):
        api.api_deep_zoom(str(path))


def test_huge_image_is_refused_before_decoding(api, tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (8000, 6000)).save(path)  # 48 MP, a few KiB on disk
    with pytest.raises(gr.Error, match="too large"):
        api.api_deep_zoom(str(path))


def test_display_pngs_are_written_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    first = app.png_path(image)
    assert first.startswith(str(tmp_path)) and app.png_path(image) == first
    assert app.png_path(image[:4]) != first
    np.testing.assert_array_equal(np.asarray(Image.open(first)), mssnet.to_uint8(image))


# --------------------------------------------------------------------------- models and API


def test_api_zoom_sharpen(api, image_path):
    bicubic, sharp, info = api.api_zoom_sharpen(image_path, 2.0, 10.0, None, 32, None)
    assert png_shape(bicubic) == png_shape(sharp) == (32, 32, 3)
    assert info["rect"][0] == 2.0 and info["viewport"] == 32  # x clamped: centre 10 - 16/2
    assert info["level"] == 1 and info["backend"].startswith(("OpenVINO", "PyTorch"))
    again = api.api_zoom_sharpen(image_path, 1.5, 10.0, None, 32, None)[2]  # level 1 again: tiles reused
    assert again["level"] == 1 and again["tiles"]["computed"] == 0 and again["tiles"]["reused"] >= 1
    assert api.api_zoom_sharpen(image_path, 3.0, None, None, 32, None)[2]["level"] == 2
    path = api.api_zoom_sharpen_full(image_path, 1.0, None)
    with Image.open(path) as im:
        assert im.size == (80, 48)
    with pytest.raises(gr.Error, match="No image"):
        api.api_zoom_sharpen(None)


def test_api_deep_zoom_opens_the_map_layers(api, image_path):
    info = api.api_deep_zoom(image_path)
    assert (info["width"], info["height"], info["scale"]) == (80, 48, 8) and "open" not in info
    assert info["view_url"] == f"/dz/{info['id']}/view.png"
    with pytest.raises(gr.Error, match="No image"):
        api.api_deep_zoom(None)
