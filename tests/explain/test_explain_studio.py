"""The explain side of the studio without Gradio: window geometry, attribution by method
label, heat maps, stage table, sweep rows, Simulate's scores, and the report text."""

import dataclasses

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

import mssnet
from explain import edge_scale, report, strongest_edge_window
from explain.metrics import rgb_to_y
from explain.studio import (
    default_window_center,
    edge_pair_figure,
    heat_map_figures,
    simulate,
    simulation_figures,
    stage_changes_figure,
    stage_changes_table,
    stage_checks,
    stage_checks_figure,
    sweep_pair_image,
    sweep_row,
)
from explain.truth import TRUTH_SIDE, truth_check, truth_sentence
from explain.window import ATTRIBUTION_CROP, METHODS, crop_box, explain_window, window_box, window_overlay
from mssnet.serve.session import Studio
from mssnet.serve.source import load_source

SMALL = 64


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    y, x = np.mgrid[0:96, 0:128]
    rgb = np.stack([(x * 3) % 256, (y * 5) % 256, (x * y) % 256], axis=2).astype(np.uint8)
    path = tmp_path_factory.mktemp("img") / "pattern.png"
    Image.fromarray(rgb).save(path)
    return load_source(str(path))


def test_window_and_crop_stay_inside_the_view():
    assert window_box((64, 64), None, 16) == (24, 24, 16, 16)
    assert window_box((64, 64), (2.0, 63.0), 16) == (0, 48, 16, 16)  # shifted inside
    assert window_box((20, 10), None, 16) == (5, 0, 10, 10)  # never larger than the view
    assert crop_box((256, 256), (0, 100, 16, 16)) == (0, 44, ATTRIBUTION_CROP, ATTRIBUTION_CROP)
    assert crop_box((64, 48), (10, 10, 8, 8)) == (0, 0, 48, 48)


def test_window_overlay_draws_both_boxes(studio, source):
    view, _ = studio.view(source, 2.0, None, SMALL)
    drawn = window_overlay(view, (10.0, 10.0), 8)
    assert drawn.shape == (SMALL, SMALL, 3) and drawn.dtype == np.uint8
    r, g, b = (int(v) for v in drawn[6, 10])  # the middle of the window's top edge: green
    assert g > 200 and r < 40 and b < 40


@pytest.mark.parametrize("method", list(METHODS))
def test_explain_window_numbers_per_method(studio, source, method):
    view, _ = studio.view(source, 2.0, None, SMALL)
    model = studio.models.get(None)
    result = explain_window(model, view, (10.5, 50.5), method, steps=2, side=8)
    assert result.method == method and result.window == (6, 46, 8, 8) and result.crop == (0, 0, SMALL, SMALL)
    # the pass explained: level 1 (scale 1 at ×2), its input is the tile + margin around the window
    tile_pass = view.tile_pass((10.0, 50.0))
    ix, iy = tile_pass.to_input((6, 46))
    assert result.tile == tuple(tile_pass.tile) and result.input_window == (round(ix), round(iy), 8, 8)
    c = result.input_crop[2]
    assert result.local_window[2:] == (8, 8) and result.patch.shape == (c, c, 3)
    cx0, cy0 = result.input_crop[:2]
    np.testing.assert_array_equal(result.patch, tile_pass.model_input[cy0:cy0 + c, cx0:cx0 + c])
    assert result.attribution.shape == (3, c, c) and np.isfinite(result.attribution).all()
    assert 0 <= result.diffusion_index <= 100 and np.isfinite(result.gain)
    assert result.gradients == (1 if method == "Gradient saliency" else 2)
    with pytest.raises(ValueError, match="unknown attribution method"):
        explain_window(model, view, None, "Occlusion")


def test_explain_window_at_strength_0_and_per_step(tiny_weights, tmp_path, source):
    model = mssnet.load_model(tiny_weights)
    model.zoom_strength = {1.0: 0.0, 2.0: 0.5}
    studio = Studio(mssnet.save_safetensors(model, tmp_path / "cal.safetensors"), fill=False)
    plain, _ = studio.view(source, 1.0, None, SMALL)
    nothing = explain_window(studio.models.get(None), plain, None, "Gradient saliency")
    assert nothing.strength == 0 and nothing.attribution is None
    assert "no zoom blur to undo" in report.window_markdown(nothing)
    half, _ = studio.view(source, 1.5, None, SMALL)
    result = explain_window(studio.models.get(None), half, None, "Gradient saliency", side=8)
    assert result.strength == pytest.approx(0.5) and result.level == 1 and result.tile == (1, 0, 0)
    assert result.input_window[2] == round(8 * 2 / 1.5)  # the window in level px
    text = report.window_markdown(result)
    assert "α = 0.50" in text and "tile (row 0, column 0) of level 1" in text


def test_heat_maps(studio, source):
    view, _ = studio.view(source, 4.0, None, SMALL)
    figures = heat_map_figures(view)
    assert set(figures) == {"edge_before", "edge_after", "edge_gain", "sharpening"}
    assert all(isinstance(f, Figure) for f in figures.values())
    some = heat_map_figures(view, ("sharpening", "edge_gain"))  # only the maps asked for are made
    assert list(some) == ["sharpening", "edge_gain"]
    assert some["sharpening"].axes[0].images[0].get_clim() == figures["sharpening"].axes[0].images[0].get_clim()
    with pytest.raises(ValueError, match="unknown heat maps"):
        heat_map_figures(view, ("edge_before", "edges"))


def test_stages_are_checked_against_the_truth_on_one_2x_step(studio, source):
    model = studio.models.get(None)
    checks = stage_checks(model, source, source.middle)
    assert list(checks.stages) == list(mssnet.STAGE_NAMES) and checks.side == min(TRUTH_SIDE, *source.size)
    shares = [(c.put_back, c.invented) for c in checks.stages.values()]
    assert all(0 <= a <= 1 and 0 <= b <= 1 for a, b in shares)
    assert all(c.lost == checks.result.lost for c in checks.stages.values())  # one truth, one input: one loss
    assert checks.strength == mssnet.model.strength.level_strengths(model, 1)[0]
    view, _ = studio.view(source, 4.0, None, SMALL)
    text = report.stages_markdown(view, checks, 0.01)
    assert "pyramid level 2" in text and "2× bicubic enlargement of level 1" in text
    for name, check in checks.stages.items():  # the table is the checks' numbers
        assert f"| {name} | {100 * check.put_back:.0f} % | {100 * check.invented:.0f} % |" in text
    best = max(range(6), key=lambda k: shares[k][0] - (shares[k - 1][0] if k else 0.0))
    assert f"the stage that put back most is **{mssnet.STAGE_NAMES[best]}**" in text  # computed, not canned
    assert isinstance(stage_checks_figure(checks), Figure)
    assert "too small to check" in report.stages_markdown(view, None, 0.01)


def test_sweep_rows_check_the_same_crop_at_every_zoom_and_know_cached_views(tiny_weights, source):
    studio = Studio(tiny_weights, fill=False)  # nothing computed yet
    model = studio.models.get(None)

    def rows():
        return [sweep_row(s, model, source, source.middle)
                for s in studio.sweep(source, None, 32, factors=(1.0, 1.5, 3.0))]

    first, again = rows(), rows()
    assert [r.factor for r in first] == [1.0, 1.5, 3.0] and all(r.seconds is not None for r in first[1:])
    assert all(r.seconds is None for r in again)
    assert first[0].check is None  # ×1: nothing removed, nothing to check
    one, three = first[1].check, first[2].check
    assert one.side == three.side == min(TRUTH_SIDE, *source.size)  # one region at every zoom
    assert 0 < one.removed < three.removed <= 1  # a larger zoom removes more of the same crop's detail
    # the check is a function of the crop and the zoom (up to the runtime's float rounding between runs)
    assert dataclasses.astuple(again[2].check) == pytest.approx(dataclasses.astuple(three), rel=1e-6)
    text = report.sweep_markdown(again, 0.5)
    assert "| ×3 |" in text and "cached" in text and "| ×1 | – | – | – |" in text
    for check in (one, three):  # the sentence's numbers are the table's
        for share in (check.removed, check.put_back, check.invented):
            assert f"{100 * share:.0f} %" in text.split("\n\n")[0]
            assert f"| {100 * share:.0f} % |" in text


def test_simulate_scores_match_skimage_on_y(studio, source):
    sim = simulate(studio.models.get(None), source, 3.0, None, SMALL)
    assert sim.size == (SMALL, SMALL) and sim.steps == (2.0, 2.0) and sim.shave == 3
    assert sim.truth.shape == sim.bicubic.shape == sim.sharpened.shape == (SMALL, SMALL, 3)

    def y(image):  # Y in [0, 255] without the shaved border
        return rgb_to_y(np.round(np.clip(image, 0, 1) * 255) / 255)[3:-3, 3:-3]

    expected = peak_signal_noise_ratio(y(sim.truth), y(sim.bicubic), data_range=255)
    assert sim.psnr[0] == pytest.approx(expected, abs=0.05)
    expected = peak_signal_noise_ratio(y(sim.truth), y(sim.sharpened), data_range=255)
    assert sim.psnr[1] == pytest.approx(expected, abs=0.05)
    assert sim.gain_db == pytest.approx(sim.psnr[1] - sim.psnr[0])
    assert all(isinstance(f, Figure) for f in simulation_figures(sim))
    check = truth_check(sim.truth, sim.bicubic, sim.sharpened, sim.zoom, sim.shave)  # the answer's measure
    text = report.simulation_markdown(sim, check)
    assert f"{sim.psnr[0]:.2f} dB" in text and truth_sentence(check) in text
    with pytest.raises(ValueError, match="above ×1.1"):
        simulate(studio.models.get(None), source, 1.05, None, SMALL)


def test_report_timing_and_source(studio, source):
    view, _ = studio.view(source, 3.0, None, SMALL)
    fresh, cached = report.timing_markdown(view, False), report.timing_markdown(view, True)
    assert "MSSNet 0 ms (every tile cached; level 2 (×4)" in cached and "level 2 (×4)" in fresh
    if view.tiles_computed:
        assert f"{view.tiles_computed} tile(s) computed, {view.tiles_reused} reused" in fresh
        assert "cached" not in fresh
    else:  # every tile was there already (an earlier test's view)
        assert f"every tile cached; level 2 (×4): {view.tiles_reused} tile(s) reused" in fresh
    # shown again from the cache: nothing is computed now, so no tile counts as computed
    assert f"{view.tiles_computed + view.tiles_reused} tile(s) reused" in cached and "computed" not in cached
    per_level = dataclasses.replace(view, strengths=(1.05, 0.73))  # as calibrated weights would have them
    assert "α = 1.05 at level 1, 0.73 at level 2 (calibrated per level)" in report.timing_markdown(per_level, True)
    uniform = dataclasses.replace(view, strengths=(1.2, 1.2))
    assert "α = 1.20 per 2× step" in report.timing_markdown(uniform, True)
    assert "128×96 px" in report.source_markdown(source)
    assert report.fmt_seconds(0.25) == "250 ms" and report.fmt_seconds(2) == "2.00 s"


def test_heat_maps_share_the_edge_scale_and_centre_the_gain(studio, source):
    view, _ = studio.view(source, 2.0, None, SMALL)
    figures = heat_map_figures(view)
    before, after = (figures[k].axes[0].images[-1].get_clim() for k in ("edge_before", "edge_after"))
    assert before == after == (0, pytest.approx(edge_scale(view.bicubic, view.sharpened)))
    lo, hi = figures["edge_gain"].axes[0].images[0].get_clim()
    assert lo == -hi < 0
    pair = edge_pair_figure(view)
    assert len(pair.axes) == 3 and pair.axes[0].images[0].get_clim() == pair.axes[1].images[0].get_clim()


def test_stage_changes_and_sweep_pairs(studio, source):
    view, _ = studio.view(source, 2.0, None, SMALL)
    table = stage_changes_table(view)
    assert list(table.mean_abs_change) == list(mssnet.STAGE_NAMES) and table.busiest in mssnet.STAGE_NAMES
    assert all(v >= 0 for v in table.mean_abs_change.values()) and table.limit > 0
    fig = stage_changes_figure(view, table)
    from explain.gallery_plots import amplification

    n = amplification(table.limit)
    assert {ax.images[0].get_clim() for ax in fig.axes if ax.images} == {(-1 / n, 1 / n)}
    assert (f"×{n} amplified" if n > 1 else "not amplified") in fig.get_suptitle() and 1 / n >= table.limit
    pair = sweep_pair_image(view, 2.0)
    assert pair.dtype == np.uint8 and pair.shape[1] == 2 * SMALL + 6 and pair.shape[0] > SMALL
    strip = pair.shape[0] - SMALL
    np.testing.assert_array_equal(pair[strip:, :SMALL], mssnet.to_uint8(view.bicubic))  # both halves whole
    np.testing.assert_array_equal(pair[strip:, SMALL + 6:], mssnet.to_uint8(view.sharpened))
    assert (pair[:strip, :SMALL] < 128).any()  # a label above each half


def test_default_window_sits_on_the_strongest_sharpened_edge(studio, source):
    view, _ = studio.view(source, 2.0, None, SMALL)
    cx, cy = default_window_center(view, 8)
    x0, y0, s, _ = strongest_edge_window(view.bicubic, view.sharpened, 8)
    assert (cx, cy) == (x0 + 4, y0 + 4) and s == 8
