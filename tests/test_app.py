"""The Gradio app: the Blocks build, and every handler called directly on tiny images.

A tiny random MSSNet (wf=4) saved to a temporary file stands in for the bundled
weights, and viewports are 32-64 px, so the whole file runs in a few seconds.
"""

import io

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import app
import mssnet

SMALL = 64  # viewport side used throughout


@pytest.fixture(scope="module")
def studio(tiny_weights):
    return app.Studio(tiny_weights)


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
    """(H, W, 3) of a PNG the handlers return for display."""
    assert isinstance(path, str) and path.endswith(".png"), path
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB")).shape


# --------------------------------------------------------------------------- build


def test_build_demo_constructs_with_api_names(tiny_weights):
    demo = app.build_demo(tiny_weights)
    assert isinstance(demo, gr.Blocks)
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"zoom_sharpen", "zoom_sharpen_full"} <= names
    assert demo._queue.max_size == app.QUEUE_SIZE
    assert demo.studio.default_model.startswith("tiny.safetensors")
    options = app.launch_options()
    assert str(app.EXAMPLES_DIR) in options["allowed_paths"]
    assert not (app.ROOT / "app.pyi").exists()  # Gradio's stub writer stays off for ImageUpload


def test_examples_exist_and_are_small():
    for name in app.EXAMPLES:
        path = app.EXAMPLES_DIR / name
        assert path.exists(), name
        with Image.open(path) as im:
            assert max(im.size) <= 512 and im.format == "PNG"


def test_missing_default_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        app.Studio(tmp_path / "missing.safetensors")


# --------------------------------------------------------------------------- loading


def test_load_returns_source_overview_and_info(studio, image_path):
    source, center, overview, info = studio.load(image_path, 2.0, SMALL)
    assert source.rgb.shape == (48, 80, 3) and source.rgb.dtype == np.float32
    assert center == (40.0, 24.0)
    assert max(_shape(overview)[:2]) == app.OVERVIEW_SIDE
    assert "80×48" in info and "test.png" in info
    assert studio.load(None)[0] is None


def test_same_pixels_give_the_same_key(studio, image_path, tmp_path):
    again = _png(tmp_path / "copy.png", np.asarray(Image.open(image_path)))
    assert studio.load(again)[0].key == studio.load(image_path)[0].key


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
        studio.load(str(path))
    assert message in err.value.message
    assert str(tmp_path) not in err.value.message  # the temporary folder is not shown, only the name
    assert "upload.png" in err.value.message


def test_animated_gif_is_refused(studio, tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(gr.Error, match="animated"):
        studio.load(str(path))


def test_huge_image_is_refused_before_decoding(studio, tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (8000, 6000)).save(path)  # 48 MP, a few KiB on disk
    with pytest.raises(gr.Error, match="too large"):
        studio.load(str(path))


def test_exif_rotation_is_applied(studio, tmp_path):
    im = Image.new("RGB", (20, 10), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif)
    assert studio.load(str(path))[0].size == (10, 20)


def test_gray_alpha_16bit_and_tiny_images_load_with_notes(studio, tmp_path):
    gray = _png(tmp_path / "gray.png", np.full((20, 30), 128, np.uint8))
    assert "Gray image" in studio.load(gray)[3]
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3] = 200
    assert "Transparency" in studio.load(_png(tmp_path / "rgba.png", rgba, "RGBA"))[3]
    wide = tmp_path / "wide.png"
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(wide)
    source, _, _, info = studio.load(str(wide))
    assert source.bit_depth == 16 and "16-bit" in info
    tiny = studio.load(_png(tmp_path / "tiny.png", np.zeros((1, 1, 3), np.uint8)))
    assert "Very small" in tiny[3]
    run = studio.run(tiny[0], 8.0, tiny[1], 32, None)  # a 1x1 image still gives a view
    assert _shape(run[2]) == (32, 32, 3)


def test_image_input_passes_the_upload_through():
    comp = app.image_input(render=False)
    assert comp.get_block_name() == "image"
    assert comp.preprocess(None) is None
    payload = gr.FileData(path="/tmp/x.png")
    assert comp.preprocess(payload) == "/tmp/x.png"
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    import base64

    data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    assert app._upload_source(gr.FileData(path="", url=data_url)) == buf.getvalue()


# --------------------------------------------------------------------------- views


def test_run_preview_cache_and_maps(studio, source):
    out = studio.run(source, 3.0, None, SMALL, None)
    pair, bicubic, sharp, overview, timing, view = out
    assert _shape(bicubic) == _shape(sharp) == (SMALL, SMALL, 3)
    assert isinstance(pair, gr.ImageSlider) and len(pair.value) == 2
    assert "MSSNet" in timing and "cached" not in timing
    assert len(view.stages) == 6

    again = studio.run(source, 3.0, None, SMALL, None)  # same view: from the cache
    assert "cached" in again[4] and again[5] is view

    hit = studio.preview(source, 3.0, None, SMALL, None)
    assert hit[2] == sharp and "cached" in hit[4]  # same pixels, same file
    miss = studio.preview(source, 3.37, None, SMALL, None)
    assert miss[2] == gr.skip() and "release" in miss[4]
    assert _shape(miss[1]) == (SMALL, SMALL, 3)

    *maps, timing, attr_view = studio.maps(view, again[4])
    assert len(maps) == 4 and all(len(_shape(m)) == 3 for m in maps)
    assert _shape(attr_view) == (SMALL, SMALL, 3)
    assert "heat maps" in timing and timing.count("heat maps") == 1
    assert "cached" in timing  # the run before the maps came from the cache
    assert "heat maps" in studio.preview(source, 3.0, None, SMALL, None)[4]  # remembered with the view


@pytest.fixture(scope="module")
def calibrated_studio(tiny_weights, tmp_path_factory):
    """A studio whose weights carry a strength table: α 0 at ×1, 1 at ×2."""
    model = mssnet.load_model(tiny_weights)
    model.zoom_strength = {1.0: 0.0, 2.0: 1.0}
    return app.Studio(mssnet.save_safetensors(model, tmp_path_factory.mktemp("cal") / "cal.safetensors"))


def test_views_apply_and_name_the_calibrated_strength(calibrated_studio, source):
    plain = calibrated_studio.run(source, 1.0, None, SMALL, None)[5]
    assert plain.strengths == (0.0,)
    np.testing.assert_allclose(plain.sharpened, plain.bicubic, atol=1e-6)
    assert "nothing to undo" in calibrated_studio.timing(plain, cached=False)
    figure, text = calibrated_studio.explain_window(plain, None, app.ATTR_METHODS[0], 4, 8)
    assert figure is None and "no zoom blur to undo" in text
    view = calibrated_studio.run(source, 2 ** 0.5, None, SMALL, None)[5]
    assert view.strengths == pytest.approx((0.5,))
    assert "α = 0.50" in calibrated_studio.timing(view, cached=False)
    assert "0.50 × (final stage − input)" in calibrated_studio.stages(view)[1]
    assert "α = 0.50" in calibrated_studio.explain_window(view, None, app.ATTR_METHODS[1], 1, 8)[1]
    final = view.stages[-1].astype(np.float32) / 255
    expected = np.clip(view.model_input + 0.5 * (final - view.model_input), 0, 1)
    np.testing.assert_allclose(view.sharpened, expected, atol=2.5 / 255)  # stages are stored as uint8


def test_zooms_above_2_run_in_steps(studio, source):
    """×4: two ×2 steps; the bicubic view stays the one-step view; the tabs say so."""
    view = studio.run(source, 4.0, None, SMALL, None)[5]
    assert view.steps == pytest.approx((2.0, 2.0))
    one_step = mssnet.zoom(source.rgb, 4.0, viewport=(SMALL, SMALL)).view
    np.testing.assert_array_equal(view.bicubic, np.clip(one_step, 0, 1))
    assert view.model_input.shape == view.bicubic.shape and not np.array_equal(view.model_input, view.bicubic)
    assert "2 steps, ×2.00 then ×2.00" in studio.timing(view, cached=False)
    assert "2 steps" in studio.stages(view)[1]
    assert "last of 2 zoom steps" in studio.explain_window(view, None, app.ATTR_METHODS[1], 1, 8)[1]
    assert studio.run(source, 2.0, None, SMALL, None)[5].steps == (2.0,)
    text = studio.simulate(source, 3.0, None, SMALL, None)[0]
    assert "2 steps, ×2.00 then ×1.50" in text


def test_handlers_without_an_image_do_nothing(studio):
    assert studio.preview(None, 2.0, None, SMALL, None) == (gr.skip(),) * 5
    assert studio.run(None, 2.0, None, SMALL, None) == (gr.skip(),) * 6
    with pytest.raises(gr.Error, match="Load an image"):
        studio.sweep(None, None, SMALL, None)
    with pytest.raises(gr.Error, match="Load an image"):
        studio.explain_window(None, None, app.ATTR_METHODS[0], 4, 16)


def test_bad_values_become_gr_error(studio, source):
    with pytest.raises(gr.Error, match="zoom must be between"):
        studio.run(source, 9.0, None, SMALL, None)
    with pytest.raises(gr.Error, match="unknown model"):
        studio.run(source, 2.0, None, SMALL, "no such model")


def test_center_click_maps_overview_to_source(studio, source):
    s = source.overview_scale
    x, y = studio.pick_center(source, _select(int(20 * s), int(10 * s)))
    assert abs(x - 20) < 1 and abs(y - 10) < 1
    assert studio.pick_center(None, _select(0, 0)) == gr.skip()


def test_display_pngs_are_written_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    first = app.png(image)
    assert first.startswith(str(tmp_path)) and app.png(image) == first
    assert app.png(image[:4]) != first
    np.testing.assert_array_equal(np.asarray(Image.open(first)), app.to_u8(image))


def test_memory_helpers_call_glibc_or_do_nothing(monkeypatch):
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append(("mallopt", option, value))

        def malloc_trim(self, pad):
            calls.append(("malloc_trim", pad))

    monkeypatch.setattr(app, "_LIBC", FakeLibc())
    app.limit_malloc_arenas(3)
    app.release_memory()
    assert calls == [("mallopt", -8, 3), ("malloc_trim", 0)]
    monkeypatch.setattr(app, "_LIBC", None)  # not glibc: nothing happens, nothing fails
    app.limit_malloc_arenas()
    app.release_memory()


def test_cache_is_bounded_in_bytes():
    def view():
        a = np.zeros((4, 4, 3), np.float32)
        return app.View("k", "m", 1.0, 4, (0, 0, 4, 4), a, a, a, (1.0,), [], {})

    cache = app.ResultCache(max_bytes=3 * view().nbytes)

    for i in range(5):
        cache.put(("key", i), view())
    assert len(cache) == 3 and cache.get(("key", 0)) is None and cache.get(("key", 4)) is not None


# --------------------------------------------------------------------------- explanation tabs


@pytest.mark.parametrize("method", app.ATTR_METHODS)
def test_attribution_for_a_clicked_window(studio, source, method):
    view = studio.run(source, 2.0, None, SMALL, None)[5]
    window, drawn = studio.pick_window(view, 8, _select(10, 50))
    assert window == (10.5, 50.5) and _shape(drawn) == (SMALL, SMALL, 3)
    figure, text = studio.explain_window(view, window, method, 2, 8)
    assert len(_shape(figure)) == 3
    assert "Diffusion Index" in text


def test_stages_sweep_and_simulate(studio, source):
    view = studio.run(source, 2.0, None, SMALL, None)[5]
    figure, text = studio.stages(view)
    assert len(_shape(figure)) == 3 and text.count("scale") >= 6
    assert studio.stages(None)[0] is None

    gallery, plot, table = studio.sweep(source, None, 32, None)
    assert len(gallery) == len(app.SWEEP_FACTORS) and len(_shape(plot)) == 3
    assert _shape(gallery[0][0]) == (32, 2 * 32 + 4, 3) and "×8" in table

    text, truth, bic, sharp, errors, spectrum = studio.simulate(source, 2.5, None, SMALL, None)
    assert "PSNR" in text and _shape(truth) == _shape(bic) == _shape(sharp) == (48, 64, 3)
    assert len(_shape(errors)) == len(_shape(spectrum)) == 3
    with pytest.raises(gr.Error, match="above"):
        studio.simulate(source, 1.0, None, SMALL, None)


def test_download_is_a_png_of_the_whole_image(studio, source, tmp_path):
    path = studio.download(source, 1.5, None)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (120, 72)
    with pytest.raises(gr.Error, match="limit"):
        big = app.Source("big", "big.png", np.zeros((1000, 1000, 3), np.float32), None, 8, "RGB",
                         np.zeros((8, 8, 3), np.uint8), 0.008)
        studio.download(big, 4.0, None)


def test_download_keeps_alpha(studio, tmp_path):
    rgba = np.zeros((16, 24, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 128
    source = studio.load(_png(tmp_path / "alpha.png", rgba, "RGBA"))[0]
    with Image.open(studio.download(source, 2.0, None)) as im:
        assert im.mode == "RGBA" and im.size == (48, 32)
        assert abs(int(np.asarray(im)[..., 3].mean()) - 128) <= 1


# --------------------------------------------------------------------------- models and API


def test_uploaded_weights_join_the_dropdown(studio, tiny_weights, tmp_path):
    dropdown, note = studio.add_weights(str(tiny_weights))
    assert dropdown.value.startswith("uploaded: ") and dropdown.value in studio.model_choices
    assert "MSSNet-custom" in note
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(gr.Error, match="not a checkpoint"):
        studio.add_weights(str(bad))


def test_api_zoom_sharpen(studio, image_path):
    bicubic, sharp, info = studio.api_zoom_sharpen(image_path, 2.0, 10.0, None, 32, None)
    assert _shape(bicubic) == _shape(sharp) == (32, 32, 3)
    assert info["rect"][0] == 2.0 and info["viewport"] == 32  # x clamped: centre 10 - 16/2
    assert set(info["edge_energy"]) == {"bicubic", "mssnet"} and info["steps"] == [2.0]
    assert studio.api_zoom_sharpen(image_path, 3.0, None, None, 32, None)[2]["steps"] == [2.0, 1.5]
    path = studio.api_zoom_sharpen_full(image_path, 1.0, None)
    with Image.open(path) as im:
        assert im.size == (80, 48)
