"""The studio page's events without Gradio (explain.page.Page): plain values in, ``{field: value}`` out with only
the fields that change, ``ValueError``/``Missing`` for what the user must be told.

A tiny random MSSNet (wf=4) stands in for the bundled weights and views are 32-64 px, so the file runs in
seconds. The Gradio side (wiring, gr.Error, the API endpoints) is tested in tests/app/test_app.py.
"""

import concurrent.futures
import json
import re

import numpy as np
import pytest
from PIL import Image
from pngs import BAD_FILES, bad_file, is_rgb_png, make_test_image, png_shape, write_png

import explain
import mssnet
import mssnet.runtime.compiled
import mssnet.serve.session
import mssnet.serve.source
from explain.contracts import NO_MEMORY
from explain.lesson import LESSON_STEPS
from explain.page import (
    EXPLAINED,
    MAPS,
    NO_IMAGE,
    OPENED,
    PANEL_SIDE,
    PENDING_ANSWER,
    PER_IMAGE,
    PER_VIEW,
    RANDOM,
    SIMULATE,
    STAGES,
    SWEEP,
    TAB_ACTIONS,
    Missing,
    Page,
    user_message,
)
from explain.studio import EXPLORE_MAPS
from explain.window import METHODS
from mssnet.serve.source import Source

SMALL = 64  # viewport side used throughout


@pytest.fixture(scope="module")
def page(tiny_weights, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shown")
    events = Page(tiny_weights, lambda image: explain.save_png(image, folder), fill=False)  # tiles: the views' own
    yield events
    events.close()



@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    return make_test_image(tmp_path_factory.mktemp("img"))


@pytest.fixture(scope="module")
def source(page, image_path):
    return page.load(image_path)["source"]


def _view(page, source, zoom=2.0, center=None, side=SMALL):
    return page.studio.view(source, zoom, center, side, None)[0]


def _rest(zoom, x=40, y=24, side=SMALL, map_id="x", shown="x"):
    """The map component's value at rest: the map JSON (its id: ``shown``) with the region on screen."""
    rest = {"id": map_id, "zoom": zoom, "center_x": x, "center_y": y, "width": side, "height": side}
    return json.dumps({"id": shown, "layers": {}, "rest": rest})


# --------------------------------------------------------------------------- images and the map


def test_load_returns_source_info_and_the_map_and_empties_every_panel(page, image_path):
    out = page.load(image_path)
    source, center, zoom = out["source"], out["center"], out["zoom"]
    assert set(OPENED) <= set(out) and {k: out[k] for k in PER_IMAGE} == PER_IMAGE
    assert out["answer"] == PENDING_ANSWER
    assert source.rgb.shape == (48, 80, 3) and source.rgb.dtype == np.float32
    # a new image opens at opening_zoom (fills the panel square, ×2 at least), on its strongest edges
    assert zoom == mssnet.serve.source.opening_zoom((80, 48), PANEL_SIDE) >= 2.0
    assert center == mssnet.serve.source.strongest_edges_center(source, zoom, PANEL_SIDE)
    assert "80×48" in out["info"] and "test.png" in out["info"]
    opened = json.loads(out["map_info"])
    assert (opened["width"], opened["height"], opened["scale"]) == (80, 48, 8) and len(opened["id"]) == 22
    assert set(opened["layers"]) == {"bicubic", "mssnet", "edge_gain"} and opened["open"]["zoom"] == zoom
    assert page.load(image_path, None, None, 3.0)["zoom"] == 3.0  # the page's opening keeps the slider's zoom
    assert json.loads(page.load(image_path)["map_info"])["id"] != opened["id"]  # each opening: a fresh id
    cleared = page.load(None)
    assert (cleared["source"], cleared["center"], cleared["info"], cleared["map_info"]) == (None, None, NO_IMAGE, "")
    assert "zoom" not in cleared  # the slider stays
    assert page.load(image_path, None, source) == {}  # the image already shown: nothing changes


def test_one_upload_opens_one_map_even_when_its_change_event_comes_twice(page, image_path, tmp_path):
    """Gradio may fire an upload's change event twice, the second before the first has set the page's state: the
    page opens one map, whichever event is first; another page, another image or the image again after a clear
    opens one."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both events at once, neither knows the other's source
        outs = list(pool.map(lambda _: page.load(image_path, None, None, None, "p"), range(2)))
    assert sorted(bool(o) for o in outs) == [False, True]
    assert page.load(image_path, None, None, None, "p") == {}  # later: still the image shown
    assert page.load(image_path, None, None, None, "q")["map_info"]  # another page opens its own
    other = write_png(tmp_path / "other.png", np.random.default_rng(3).integers(0, 256, (24, 40, 3), np.uint8))
    assert page.load(other, None, None, None, "p")["map_info"]  # another image
    assert page.load(image_path, None, None, None, "p")["map_info"]  # back to the first image: a map again
    page.load(None, None, None, None, "p")  # cleared, then the same image again: a map again
    assert page.load(image_path, None, None, None, "p")["map_info"]
    tried = page.try_it(LESSON_STEPS[0].number, None, "p")  # Try it sets the upload, whose change follows
    assert tried["map_info"] and page.load(tried["image_in"], None, None, None, "p") == {}


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_a_bad_file_is_said_in_the_info_line_and_keeps_the_image(page, image_path, tmp_path, data, message):
    path = bad_file(data, image_path, tmp_path)
    with pytest.raises(ValueError, match=message):
        page.open(str(path))
    out = page.load(str(path))  # in the page: one message in the info line, the image and its panels kept
    assert set(out) == {"info"} and message in out["info"] and "stays" in out["info"]


def test_a_1x1_image_still_gives_a_view(page, tmp_path):
    tiny = page.load(write_png(tmp_path / "tiny.png", np.zeros((1, 1, 3), np.uint8)))
    assert "Very small" in tiny["info"] and tiny["zoom"] == 8.0  # a 1 px image opens at the largest zoom
    view = _view(page, tiny["source"], 8.0, tiny["center"], 32)
    assert view.sharpened.shape == (32, 32, 3) and json.loads(tiny["map_info"])["max_level"] == 3


def test_lesson_try_it_sets_image_everywhere_zoom_centre_and_tab(page):
    for step in LESSON_STEPS:
        out = page.try_it(step.number)
        source, center, zoom = out["source"], out["center"], out["zoom"]
        assert source.name == step.try_it.example and zoom == step.try_it.zoom
        assert out["image_in"] == str(step.try_it.path) and out["tabs"] == step.try_it.tab
        assert out["tab_action"] == (step.try_it.tab if step.try_it.tab in TAB_ACTIONS else None)
        assert center == (step.try_it.center or (source.size[0] / 2, source.size[1] / 2))
        assert step.try_it.example in out["info"] and out["answer"] == PENDING_ANSWER
        opened = json.loads(out["map_info"])
        assert opened["open"] == {"zoom": zoom, "center": list(center)} and opened["width"] == source.size[0]
        # the upload now holds the example: its change event sees the same image and changes nothing
        assert page.load(out["image_in"], None, source) == {}
    view = _view(page, source, zoom, center)
    assert is_rgb_png(page.workflow(source, view)["workflow_plot"], 200)
    with pytest.raises(Missing, match="Load an image"):
        page.workflow(None, None)


def test_another_model_reopens_the_map_and_empties_the_panels(page, source):
    out = page.reopen(source, None, 2.0, (40.0, 24.0))
    assert json.loads(out["map_info"])["open"] == {"zoom": 2.0, "center": [40.0, 24.0]}
    assert {k: out[k] for k in PER_IMAGE} == PER_IMAGE
    assert page.reopen(None, None, 2.0, None) == {}


def test_a_map_the_server_lost_is_reopened_for_the_same_image_where_it_was(page, source, image_path):
    info = json.loads(page.reopen(source, None, 2.0, (40.0, 24.0))["map_info"])

    def expired(map_id, zoom=3.0, center=(50.0, 20.0)):
        where = {"id": map_id, "zoom": zoom, "center": list(center) if center else None}
        return json.dumps({**info, "expired": where})

    assert page.map_expired(source, None, expired(info["id"]), None) == {}  # still open: nothing to do
    for state in (None, "", json.dumps(info), "{bad"):
        assert page.map_expired(source, None, state, None) == {}
    out = page.map_expired(source, None, expired("gone"), None)
    again = json.loads(out["map_info"])
    assert out["source"] is source and again["id"] not in (info["id"], "gone")
    assert again["reopens"] == "gone"  # the page swaps it for the lost map, without a gap
    assert again["open"] == {"zoom": 3.0, "center": [50.0, 20.0]} and page.tiles.image(again["id"]) is not None
    # after a restart the page's state is gone: the image comes from the upload again
    out = page.map_expired(None, str(image_path), expired("gone", 2.5, (1e9, -5)), None)
    assert out["source"].key == source.key
    assert json.loads(out["map_info"])["open"]["center"] == [float(source.size[0]), 0.0]  # clamped to the image
    out = page.map_expired(source, None, expired("gone", None, None), None)  # no place known: the opening one
    assert json.loads(out["map_info"])["open"]["zoom"] > 0
    assert page.map_expired(None, None, expired("gone"), None) == {}  # no image at all


# --------------------------------------------------------------------------- the map at rest and its panels


def test_rest_gives_the_view_its_timing_and_empties_the_per_view_panels(page, source):
    out = page.map_rest(source, _rest(7.0, 60, 30), None)  # level 3: not computed before
    assert out["side"] == SMALL and out["center"] == (60.0, 30.0)  # the middle square of what is visible
    view = out["view"]
    assert view.zoom == 7.0 and view.viewport == SMALL and {k: out[k] for k in PER_VIEW} == PER_VIEW
    assert "Runs on: " in out["timing"] and out["view_cached"] is False and "cached" not in out["timing"]
    again = page.map_rest(source, _rest(7.0, 60, 30), None)  # same view: from the cache
    assert again["view"] is view and again["view_cached"] is True and "cached" in again["timing"]
    assert page.map_rest(None, _rest(3.0), None) == {}
    assert page.map_rest(source, "not json", None) == {}


def test_panels_of_a_view_the_page_has_left_are_dropped(page, source):
    first = page.map_rest(source, _rest(2.0), None, "a")["view"]
    assert page.answer(first, "a") != {}  # still the page's view
    second = page.map_rest(source, _rest(2.5), None, "a")["view"]
    assert first.identity != second.identity
    for handler in (page.heat_maps, page.answer, page.decision, page.saliency, page.visual_saliency):
        assert handler(first, page="a") == {}  # a late result of the first view: dropped
    assert page.truth(first, source, "a") == {} and page.locality(first, source, "a") == {}
    assert page.answer(second, "a")["answer"].startswith(("**At ×2.5,", "At ×2.5,"))
    assert page.answer(first, "b") != {}  # another page's view is its own
    # a rest of a map the page has replaced (another id) changes nothing
    assert page.map_rest(source, _rest(3.0, shown="y"), None, "a") == {}
    assert page.map_rest(source, json.dumps({"id": "x", "layers": {}}), None, "a") == {}  # no region: nothing


def test_heat_maps_are_rendered_once_per_view(page, source):
    view = _view(page, source, 6.0, (9.0, 9.0))  # level 3, left of what the test above computed
    out = page.heat_maps(view, True)
    assert set(out) == set(MAPS)
    maps, scales = [out[k] for k in MAPS[:3]], json.loads(out["map_scales"])
    assert len(maps) == len(EXPLORE_MAPS) == 3 and all(is_rgb_png(m, 200) for m in maps)
    before, after = scales["edges"]  # both edge maps on one scale, read from the figure
    assert before == after and before[0] == 0 and before[1] > 0
    low, high = scales["edge_gain"][0]  # the signed map: centred on 0
    assert low == -high and high > 0
    assert png_shape(out["attr_view"]) == (SMALL, SMALL, 3)
    assert out["timing"].count("heat maps") == 1 and "cached" in out["timing"]  # told by the state, not the text
    assert "cached" not in page.heat_maps(view, False)["timing"]
    assert page.heat_maps(view, True)["edges"] == out["edges"]  # rendered once, kept with the view


def test_answer_decision_and_saliencies_once_per_view(page, source):
    view = _view(page, source, 2.5)
    out = page.answer(view)
    assert "edge strength" in out["answer"] and "decision panel" in out["why"]
    checked = page.truth(view, source)["answer"]  # the same answer, checked against the truth at the end
    assert checked.split("**")[1] == out["answer"].split("**")[1] and "Checked on the real photo" in checked
    assert "detail the zoom removed" in checked or "nothing to put back" in checked
    assert "drove the change" not in checked  # how local it decides: one gradient more, the next step
    ruled = page.locality(view, source)["answer"]
    assert ruled.startswith(checked.split(" Over the view")[0])  # joins the text already read, at its end
    near = re.search(r"(\d+) % of what drove the change lies within 8 px of it", ruled)
    assert near and 0 <= int(near.group(1)) <= 100
    assert page.truth(view, None) == {} and page.locality(view, None) == {}
    # one quantity, one number: the answer's shares are the decision panel's (sentence and table)
    decision = page.decision(view)
    for name in ("edges and lines", "corners and fine texture", "flat areas"):
        share = re.search(rf"(\d+) % (?:of the sharpness MSSNet added went )?to {name}", checked).group(1)
        assert f"{share} % {'went ' if name == 'edges and lines' else ''}to {name}" in decision["decision_text"]
        assert re.search(rf"\| {name} \(structure\) \| \d+ % \| {share} % \|", decision["decision_table"])
    decision = page.decision(view)
    assert is_rgb_png(decision["decision_plot"], 200)
    assert "|" in decision["decision_table"] and "|" not in decision["decision_text"]
    assert page.decision(view) == decision
    saliency = page.saliency(view)
    assert is_rgb_png(saliency["saliency_plot"], 200) and "random-weights check" in saliency["saliency_text"]
    assert page.saliency(view) == saliency
    visual = page.visual_saliency(view)
    assert is_rgb_png(visual["visual_plot"], 200) and "correlation" in visual["visual_text"].lower()
    for handler in (page.decision, page.visual_saliency, page.answer, page.heat_maps):
        assert handler(None) == {}
    with pytest.raises(Missing):  # the saliency is a button's: pressed without a view, it says so
        page.saliency(None)


def test_one_quantity_one_number_in_every_panel(page, source):
    """The answer, Simulate and Every zoom level check the same view against the truth with one function: their
    put-back and invented shares are the same numbers; the answer's shares are the decision panel's."""
    zoom, center = 2.0, (50.0, 30.0)  # ×2 is one of the sweep's zooms
    view, _ = page.studio.view(source, zoom, center, SMALL, None)
    checked = page.truth(view, source)["answer"]
    said = re.search(r"put back (\d+) % of the detail the zoom removed; (\d+) % of what it added", checked)
    assert said, checked
    simulated = page.simulate(source, zoom, center, SMALL, None)["sim_text"]
    assert said.group(0) in simulated
    sweep = page.sweep(source, center, SMALL, None)["sweep_text"]
    row = re.search(r"\| ×2 \| \d+ % \| (\d+) % \| (\d+) % \|", sweep)
    assert row and row.groups() == said.groups(), sweep
    decision = page.decision(view)["decision_text"].split("**")[1]
    named = 0
    for name in ("edges and lines", "corners and fine texture", "flat areas"):
        share = re.search(rf"(\d+) % (?:of the sharpness MSSNet added went )?to {name}", checked.split("**")[1])
        assert (share is None) == (name not in decision)  # a class without added sharpness is left out of both
        if share:
            named += 1
            assert f"{share.group(1)} % {'went ' if name == 'edges and lines' else ''}to {name}" in decision
    assert named >= 1


# --------------------------------------------------------------------------- the tabs' actions


def test_events_without_an_image_do_nothing_or_say_so(page):
    assert page.stages(None, None)["stages_plot"] is None
    for handler, args in ((page.sweep, (None, None, SMALL, None)),
                          (page.simulate, (None, 2.0, None, SMALL, None)),
                          (page.download, (None, 2.0, None)),
                          (page.explain_window, (None, None, "SmoothGrad", 4, 16))):
        with pytest.raises(Missing, match="Load an image"):
            handler(*args)


def test_bad_values_raise_value_errors(page, source):
    with pytest.raises(ValueError, match="unknown model"):
        page.map_rest(source, _rest(2.0), "no such model")
    view = _view(page, source)
    with pytest.raises(ValueError, match="unknown attribution method"):
        page.explain_window(view, None, "no such method", 4, 8)
    with pytest.raises(ValueError, match="above"):
        page.simulate(source, 1.0, None, SMALL, None)


@pytest.mark.parametrize("method", list(METHODS))
def test_attribution_for_a_clicked_window(page, source, method):
    view = _view(page, source)
    picked = page.pick_window(view, 8, (10, 50))
    assert picked["window"] == (10.5, 50.5) and png_shape(picked["attr_view"]) == (SMALL, SMALL, 3)
    assert all(picked[k] == PER_VIEW[k] for k in EXPLAINED + RANDOM)  # a result is for one window
    assert page.pick_window(view, 8, None) == {}
    out = page.explain_window(view, picked["window"], method, 2, 8)
    assert set(out) == set(EXPLAINED) and is_rgb_png(out["attr_plot"], 200)
    assert "Diffusion Index" in out["attr_text"]
    random = page.random_weights(view, picked["window"], method, 2, 8, out["attr_kept"])  # reuses the trained one
    assert set(random) == set(RANDOM) and is_rgb_png(random["random_plot"], 200)
    assert "random weights" in random["random_text"]


def test_random_weights_compare_with_the_window_explained_last(page, source):
    """Window A -> explain -> window B -> explain -> random weights: the comparison quotes B, never A."""
    view = _view(page, source)
    kept_a = page.explain_window(view, (12.5, 12.5), "SmoothGrad", 2, 8)["attr_kept"]
    kept_b = page.explain_window(view, (44.5, 40.5), "SmoothGrad", 2, 8)["attr_kept"]
    assert kept_a[1].gain != kept_b[1].gain
    text = page.random_weights(view, (44.5, 40.5), "SmoothGrad", 2, 8, kept_b)["random_text"]
    assert f"(trained: {kept_b[1].gain:+.3f})" in text
    text = page.random_weights(view, (44.5, 40.5), "SmoothGrad", 2, 8, kept_a)["random_text"]  # another window's
    assert f"(trained: {kept_b[1].gain:+.3f})" in text and f"(trained: {kept_a[1].gain:+.3f})" not in text


def test_try_it_runs_the_tab_it_opens_once_its_view_is_shown(page, source):
    view = _view(page, source)
    args = (source, view, None, SMALL, None, 2.0, None, "SmoothGrad", 2, 8)
    stages = page.tab_action("stages", *args)
    assert set(stages) == {"tab_action", *STAGES} and stages["tab_action"] is None
    assert is_rgb_png(stages["stages_plot"], 100)
    attribution = page.tab_action("attribution", *args)
    assert set(attribution) == {"tab_action", *EXPLAINED} and is_rgb_png(attribution["attr_plot"], 100)
    assert page.tab_action(None, *args) == {} and page.tab_action("stages", source, None, *args[2:]) == {}


def test_stages_sweep_and_simulate(page, source):
    view = _view(page, source)
    stages = page.stages(view, source)
    assert is_rgb_png(stages["stages_plot"], 200) and stages["stages_text"].count("scale") >= 6
    assert "put back" in stages["stages_text"] and "invented" in stages["stages_text"]
    assert is_rgb_png(stages["changes_plot"], 200) and "changed the image most" in stages["changes_text"]

    progress = []
    sweep = page.sweep(source, None, 32, None, lambda fraction, text: progress.append((fraction, text)))
    assert set(sweep) == set(SWEEP) and is_rgb_png(sweep["sweep_plot"], 200) and "×8" in sweep["sweep_text"]
    assert len(sweep["sweep_gallery"]) == len(mssnet.serve.session.SWEEP_FACTORS)
    height, width, _ = png_shape(sweep["sweep_gallery"][0][0])  # the whole bicubic | MSSNet pair at 1:1, labels above
    assert width == 2 * 32 + 6 and height > 32
    assert progress[-1][0] == 1.0 and "bicubic + MSSNet" in progress[-1][1]

    sim = page.simulate(source, 2.5, None, SMALL, None)
    assert set(sim) == set(SIMULATE) and "PSNR" in sim["sim_text"]
    assert png_shape(sim["sim_truth"]) == png_shape(sim["sim_bicubic"]) == png_shape(sim["sim_sharp"]) == (48, 64, 3)
    assert is_rgb_png(sim["sim_errors"], 200) and is_rgb_png(sim["sim_spectrum"], 200)


def test_download_is_a_png_of_the_whole_image(page, source):
    path = page.download(source, 1.5, None)["download_file"]
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (120, 72)
    big = Source("big", "big.png", np.zeros((1000, 1000, 3), np.float32), None, 8, "RGB",
                 np.zeros((8, 8, 3), np.uint8), 0.008)
    with pytest.raises(ValueError, match="limit"):
        page.download(big, 4.0, None)


# --------------------------------------------------------------------------- models and the API


def test_uploaded_weights_join_the_models(page, tiny_weights, tmp_path):
    out = page.add_weights(str(tiny_weights))
    label = out["model"]
    assert label.startswith("uploaded: ") and label in page.studio.models.labels
    assert "MSSNet-custom" in out["model_info"]
    note = page.model_note(label)["model_info"]
    assert note.startswith("Weights file: `tiny.safetensors`") and "Runs on: " in note
    assert note.split("Runs on: ")[1] == mssnet.runtime.compiled.backend_name(page.studio.models.get(label))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a checkpoint"):
        page.add_weights(str(bad))
    assert page.add_weights(None) == {}


def test_zoom_sharpen_gives_both_views_and_reuses_tiles(page, image_path):
    bicubic, sharp, info = page.api_zoom_sharpen(image_path, 2.0, 10.0, None, 32, None)
    assert png_shape(bicubic) == png_shape(sharp) == (32, 32, 3)
    assert info["rect"][0] == 2.0 and info["viewport"] == 32  # x clamped: centre 10 - 16/2
    assert info["level"] == 1 and info["backend"].startswith(("OpenVINO", "PyTorch"))
    again = page.api_zoom_sharpen(image_path, 1.5, 10.0, None, 32, None)[2]  # level 1 again: tiles reused
    assert again["level"] == 1 and again["tiles"]["computed"] == 0 and again["tiles"]["reused"] >= 1
    assert page.api_zoom_sharpen(image_path, 3.0, None, None, 32, None)[2]["level"] == 2


def test_missing_default_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        Page(tmp_path / "missing.safetensors", lambda image: None)


def test_what_a_user_is_told_of_an_error():
    upload = "/tmp/gradio/3f9a/photo.png"
    assert user_message(ValueError(f"{upload}: not an image")) == (f"{upload}: not an image", "Cannot do that")
    assert user_message(ValueError(f"{upload}: not an image"), upload) == ("photo.png: not an image", "Cannot do that")
    assert user_message(TypeError("zoom must be a number")) == ("zoom must be a number", "Cannot do that")
    assert user_message(FileNotFoundError("no such file")) == ("no such file", "Cannot do that")
    assert user_message(Missing("Load an image first.")) == ("Load an image first.", None)  # nothing to work on yet
    assert user_message(MemoryError()) == (NO_MEMORY, None)
    assert user_message(RuntimeError("DefaultCPUAllocator: can't allocate memory")) == (NO_MEMORY, None)
    assert user_message(RuntimeError("out of memory")) == (NO_MEMORY, None)
    for bug in (RuntimeError("shape mismatch"), KeyError("x"), ZeroDivisionError()):  # not the user's to mend
        assert user_message(bug) is None


def test_explaining_again_empties_the_random_weights_result_only(page):
    assert page.explain_again() == {k: PER_VIEW[k] for k in RANDOM}
