"""The Gradio app's wiring: the Blocks build, the upload component, and each handler called
directly on tiny images (Gradio values in, PNG paths / updates / ``gr.Error`` out).

The studio's behaviour (cache, geometry, strengths, scores) is tested without Gradio in
tests/test_studio.py and tests/test_explain_studio.py. A tiny random MSSNet (wf=4) stands
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
import mssnet.studio
from explain.studio import EXPLORE_MAPS

SMALL = 64  # viewport side used throughout


@pytest.fixture(scope="module")
def studio(tiny_weights):
    handlers = app.Handlers(tiny_weights)
    yield handlers
    handlers.studio.close()


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
    assert {"zoom_sharpen", "zoom_sharpen_full"} <= names
    assert demo._queue.max_size == app.QUEUE_SIZE
    assert demo.studio.default_label.startswith("tiny.safetensors")
    options = app.launch_options()
    assert str(app.EXAMPLES_DIR) in options["allowed_paths"]
    ids = {block.elem_id for block in demo.blocks.values()}
    assert {"zoom", "compare", "sharpened", "overview", "timing"} <= ids


def test_build_wires_the_view_events(tiny_weights):
    """Slider release, viewport, model, upload and overview clicks run MSSNet, then the heat maps."""
    demo = app.build_demo(tiny_weights)
    fns = {fn.name: fn for fn in demo.fns.values()}
    assert {"load", "preview", "show_view", "heat_maps", "explain_window", "stages", "sweep", "simulate",
            "download", "add_weights", "api_zoom_sharpen", "api_zoom_sharpen_full"} <= set(fns)
    show = [fn for fn in demo.fns.values() if fn.name == "show_view"]
    # page load, upload, release, viewport, model, overview click, pan, and each lesson step's "Try it"
    assert len(show) == 7 + len(app.LESSON_STEPS)
    assert all(fn.concurrency_id == "view" for fn in show)
    opening = [fn for fn in demo.fns.values() if fn.name == "load" and fn.targets[0][1] == "load"]
    assert len(opening) == 1  # the page opens on an example: no click needed
    assert (app.EXAMPLES_DIR / app.OPENING_EXAMPLE).exists()


def test_pan_moves_the_centre_against_the_drag(studio, source):
    w, h = source.size
    assert studio.pan(source, (40.0, 24.0), 2.0, "8 -4 12345") == (36.0, 26.0)  # picture right: look left
    assert studio.pan(source, None, 1.0, "-1000 -1000") == (w, h)  # clamped to the image
    for bad in ("", None, "left"):
        assert studio.pan(source, (40.0, 24.0), 2.0, bad) == gr.skip()
    assert studio.pan(None, (40.0, 24.0), 2.0, "1 1") == gr.skip()


def test_lesson_try_it_sets_image_zoom_centre_and_tab(studio):
    for step in app.LESSON_STEPS:
        source, center, zoom, overview, info, tab = studio.try_it(step.number, SMALL)
        assert source.name == step.try_it.example and zoom == step.try_it.zoom and _is_rgb_png(overview, 32)
        assert center == (step.try_it.center or (source.size[0] / 2, source.size[1] / 2))
        assert tab.selected == step.try_it.tab and step.try_it.example in info
    view = studio.show_view(source, zoom, center, SMALL, None)[5]
    assert _is_rgb_png(studio.workflow(source, view), 200)
    with pytest.raises(gr.Error, match="Load an image"):
        studio.workflow(None, None)


def test_launch_options_carry_the_page_script_and_style():
    options = app.launch_options()
    assert "#zoom" in options["head"] and "pointerup" in options["head"]
    assert all(Path(p).exists() for p in options["css_paths"])


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


def test_load_returns_source_overview_and_info(studio, image_path):
    source, center, zoom, overview, info = studio.load(image_path, SMALL)
    assert source.rgb.shape == (48, 80, 3) and source.rgb.dtype == np.float32
    # a new image opens at opening_zoom (80 px fits a 64 px view at ×0.8: the first level, ×2), on its edges
    assert zoom == mssnet.studio.opening_zoom((80, 48), SMALL) == 2.0
    assert center == mssnet.studio.strongest_edges_center(source, zoom, SMALL)
    assert max(_shape(overview)[:2]) == mssnet.studio.OVERVIEW_SIDE
    assert "80×48" in info and "test.png" in info
    assert studio.load(image_path, SMALL, 3.0)[2] == 3.0  # the page's opening keeps the slider's zoom
    assert studio.load(None) == (None, None, gr.skip(), None, app.NO_IMAGE)


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
    *kept, info = studio.load(str(path))
    assert kept == [gr.skip()] * 4 and err.value.message in info and "stays" in info


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
    assert "Very small" in tiny[4] and tiny[2] == 8.0  # a 1 px image opens at the largest zoom
    shown = studio.show_view(tiny[0], 8.0, tiny[1], 32, None)
    assert _shape(shown[2]) == (32, 32, 3)


# --------------------------------------------------------------------------- views


def test_show_view_preview_and_heat_maps(studio, source):
    pair, bicubic, sharp, overview, timing, view, cached = studio.show_view(source, 3.0, None, SMALL, None)
    assert _shape(bicubic) == _shape(sharp) == (SMALL, SMALL, 3)
    assert isinstance(pair, gr.ImageSlider) and [v["path"] for v in pair.value] == [bicubic, sharp]
    assert cached is False and "cached" not in timing and len(view.stages) == 6

    again = studio.show_view(source, 3.0, None, SMALL, None)  # same view: from the cache
    assert again[6] is True and again[5] is view and "cached" in again[4]

    hit = studio.preview(source, 3.0, None, SMALL, None)
    assert hit[2] == sharp and "cached" in hit[4]  # same pixels, same file
    reused = studio.preview(source, 3.37, None, SMALL, None)  # same level, tiles cached: MSSNet at once
    assert reused[2] != gr.skip() and "every tile cached" in reused[4]
    miss = studio.preview(source, 5.0, None, SMALL, None)  # level 3 not computed: bicubic, marked
    assert miss[2] == gr.skip() and "sharpening…" in miss[4] and "missing tile" in miss[4]
    assert "sharpening…" in miss[0].label and _shape(miss[1]) == (SMALL, SMALL, 3)

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
    assert studio.preview(None, 2.0, None, SMALL, None) == (gr.skip(),) * 5
    assert studio.show_view(None, 2.0, None, SMALL, None) == (gr.skip(),) * 7
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
    view = studio.show_view(source, 2.0, None, SMALL, None)[5]
    with pytest.raises(gr.Error, match="unknown attribution method"):
        studio.explain_window(view, None, "no such method", 4, 8)
    with pytest.raises(gr.Error, match="above"):
        studio.simulate(source, 1.0, None, SMALL, None)


def test_center_click_maps_overview_to_source(studio, source):
    s = source.overview_scale
    x, y = studio.pick_center(source, _select(int(20 * s), int(10 * s)))
    assert abs(x - 20) < 1 and abs(y - 10) < 1
    assert studio.pick_center(None, _select(0, 0)) == gr.skip()


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
    view = studio.show_view(source, 2.0, None, SMALL, None)[5]
    window, drawn = studio.pick_window(view, 8, _select(10, 50))
    assert window == (10.5, 50.5) and _shape(drawn) == (SMALL, SMALL, 3)
    figure, text, kept = studio.explain_window(view, window, method, 2, 8)
    assert _is_rgb_png(figure, 200) and "Diffusion Index" in text
    random, compared = studio.random_weights(view, window, method, 2, 8, kept)  # reuses the trained result
    assert _is_rgb_png(random, 200) and "random weights" in compared


def test_decision_panel_and_saliency_once_per_view(studio, source):
    view = studio.show_view(source, 2.5, None, SMALL, None)[5]
    figure, text = studio.decision(view)
    assert _is_rgb_png(figure, 200) and "|" in text
    assert studio.decision(view) == (figure, text)
    figure, text = studio.saliency(view)
    assert (figure is None or _is_rgb_png(figure, 200)) and "saliency" in text.lower()
    assert studio.saliency(view) == (figure, text)
    assert studio.decision(None) == studio.saliency(None) == (gr.skip(), gr.skip())


def test_stages_sweep_and_simulate_convert_to_pngs(studio, source):
    view = studio.show_view(source, 2.0, None, SMALL, None)[5]
    figure, text, changes, changes_text = studio.stages(view)
    assert _is_rgb_png(figure, 200) and text.count("scale") >= 6
    assert _is_rgb_png(changes, 200) and "changed the image most" in changes_text

    gallery, plot, table = studio.sweep(source, None, 32, None)
    assert len(gallery) == len(mssnet.studio.SWEEP_FACTORS) and _is_rgb_png(plot, 200)
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
    assert studio.model_note(dropdown.value) == "Weights file: `tiny.safetensors`"
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(gr.Error, match="not a checkpoint"):
        studio.add_weights(str(bad))
    assert studio.add_weights(None) == (gr.skip(), gr.skip())


def test_api_zoom_sharpen(studio, image_path):
    bicubic, sharp, info = studio.api_zoom_sharpen(image_path, 2.0, 10.0, None, 32, None)
    assert _shape(bicubic) == _shape(sharp) == (32, 32, 3)
    assert info["rect"][0] == 2.0 and info["viewport"] == 32  # x clamped: centre 10 - 16/2
    assert set(info["edge_energy"]) == {"bicubic", "mssnet"} and info["level"] == 1
    again = studio.api_zoom_sharpen(image_path, 1.5, 10.0, None, 32, None)[2]  # level 1 again: tiles reused
    assert again["level"] == 1 and again["tiles"]["computed"] == 0 and again["tiles"]["reused"] >= 1
    assert studio.api_zoom_sharpen(image_path, 3.0, None, None, 32, None)[2]["level"] == 2
    path = studio.api_zoom_sharpen_full(image_path, 1.0, None)
    with Image.open(path) as im:
        assert im.size == (80, 48)
    with pytest.raises(gr.Error, match="No image"):
        studio.api_zoom_sharpen(None)
