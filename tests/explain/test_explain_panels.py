"""explain.panels without Gradio: every panel's files and text, made once per view."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from explain import panels
from explain.studio import EXPLORE_MAPS
from mssnet.image.io import png_by_content
from mssnet.serve.session import SWEEP_FACTORS, Studio
from mssnet.serve.source import load_source


@pytest.fixture(scope="module")
def setup(tiny_weights, tmp_path_factory):
    folder = tmp_path_factory.mktemp("panels")
    y, x = np.mgrid[0:64, 0:64]
    path = folder / "img.png"
    Image.fromarray(np.stack([(x * 5) % 256, (y * 7) % 256, (x * y) % 256], 2).astype(np.uint8)).save(path)
    saved: list[str] = []

    def save(obj):
        if obj is None:
            return None
        if isinstance(obj, Figure):
            obj.set_dpi(40)
            from explain import figure_to_array

            obj = figure_to_array(obj)
        saved.append(str(png_by_content(obj, folder / "out")))
        return saved[-1]

    with Studio(tiny_weights, fill=False) as studio:
        source = load_source(str(path))
        view, _ = studio.view(source, 2.0, None, 32)
        yield studio, source, view, save, saved


def test_explore_maps_made_once_with_scales_from_the_figures(setup):
    _, _, view, save, saved = setup
    *maps, scales = panels.explore_maps(view, save)
    assert len(maps) == len(EXPLORE_MAPS) and all(os.path.isfile(m) for m in maps)
    scales = json.loads(scales)
    assert scales["edges"][0] == scales["edges"][1]  # one scale for both edge maps
    low, high = scales["edge_gain"][0]
    assert low == -high  # signed, centred on 0
    assert "heat maps" in view.seconds
    count = len(saved)
    assert panels.explore_maps(view, save) == (*maps, json.dumps(scales)) and len(saved) == count  # kept
    os.remove(maps[0])  # a cache cleaned: made again
    assert panels.explore_maps(view, save)[0] == maps[0] and os.path.isfile(maps[0])


def test_decision_and_stages(setup):
    studio, source, view, save, _ = setup
    figure, text = panels.decision(view, save)
    assert os.path.isfile(figure) and text
    plot, table, changed, changes = panels.stages(view, studio.models.get(None), source, save)
    assert os.path.isfile(plot) and os.path.isfile(changed) and "put back" in table and "changed" in changes


def test_attribution_and_random_weights_reuse_the_trained_result(setup):
    studio, _, view, save, _ = setup
    model = studio.models.get(None)
    figure, text, kept = panels.attribution(model, view, (16.0, 16.0), "Gradient saliency", 2, 8, save)
    assert os.path.isfile(figure) and "Diffusion Index" in text and kept[1].attribution is not None
    calls = []
    original = panels.random_weights_check

    def spy(*args, trained=None, **kwargs):
        calls.append(trained)
        return original(*args, trained=trained, **kwargs)

    panels.random_weights_check = spy
    try:
        figure, text = panels.random_weights(model, view, [16.0, 16.0], "Gradient saliency", 2, 8, save, kept=kept)
        assert os.path.isfile(figure) and "random weights" in text
        panels.random_weights(model, view, (20.0, 16.0), "Gradient saliency", 2, 8, save, kept=kept)
    finally:
        panels.random_weights_check = original
    assert calls == [kept[1], None]  # the trained result is reused only for the same request


def test_sweep_and_simulation(setup):
    studio, source, _, save, _ = setup
    done = []
    gallery, plot, table = panels.sweep(studio, source, None, 32, None, save, progress=lambda d, t: done.append(d))
    assert len(gallery) == len(SWEEP_FACTORS) == len(done) and os.path.isfile(plot) and "×" in table
    text, *paths = panels.simulation(studio.models.get(None), source, 2.0, None, 32, save)
    assert "PSNR" in text and len(paths) == 5 and all(os.path.isfile(p) for p in paths)


def test_saliency_stops_when_the_view_is_left_and_keeps_nothing(setup):
    studio, _, view, save, _ = setup
    model = studio.models.get(None)
    asked = []

    def wanted():  # the page leaves the view after the first gradient
        asked.append(1)
        return len(asked) < 2

    with pytest.raises(panels.ViewLeft, match="after 2 of 4"):  # 2 noisy copies per network, 4 gradients
        panels.saliency_pair(view, model, save, n=2, wanted=wanted)
    assert len(asked) == 2 and "saliency pair 2" not in view.rendered  # stopped early, nothing kept
    counted = []
    figure, text = panels.saliency_pair(view, model, save, n=2, wanted=lambda: True,
                                        progress=lambda done, total: counted.append((done, total)))
    assert os.path.isfile(figure) and "random-weights check" in text
    assert counted == [(1, 4), (2, 4), (3, 4), (4, 4)]  # one count over the trained and the random network
