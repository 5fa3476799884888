"""Tests for the strongest-edge window, attribution shares and the random-weights check."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import mssnet
from explain import attribution_shares, strongest_edge_window
from explain.sanity import random_weights_check, randomized_copy, spearman


def test_strongest_edge_window_finds_the_sharpened_edge():
    before = np.full((40, 60, 3), 0.5, np.float32)
    after = before.copy()
    after[20:, 45] = 0.9  # a new vertical line at x = 45 in the lower half
    x0, y0, w, h = strongest_edge_window(before, after, 8)
    assert (w, h) == (8, 8) and x0 <= 44 and x0 + 8 >= 47 and y0 >= 19
    assert strongest_edge_window(before, before, 8) == (26, 16, 8, 8)  # no gain: the centre
    assert strongest_edge_window(before, after, 100)[2] == 40  # never larger than the view
    with pytest.raises(ValueError):
        strongest_edge_window(before, after[:10], 8)


def test_attribution_shares():
    attr = np.zeros((3, 10, 10))
    attr[:, 4, 4] = 1.0  # inside
    attr[0, 0, 9] = -3.0  # far away, negative
    inside, near = attribution_shares(attr, (3, 3, 2, 2))
    assert inside == pytest.approx(0.5) and near == pytest.approx(0.5)
    assert attribution_shares(np.zeros((10, 10)), (0, 0, 2, 2)) == (0.0, 0.0)


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.random(200), rng.random(200)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-9)
    assert spearman(a, 2 * a + 1) == pytest.approx(1.0) and spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros(200)) == 0.0
    with pytest.raises(ValueError):
        spearman(a, b[:10])


def test_randomized_copy_is_seeded_and_leaves_the_model_alone(tiny_weights):
    model = mssnet.load_model(tiny_weights)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.random.get_rng_state()
    one, two = randomized_copy(model, seed=3), randomized_copy(model, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
        assert torch.equal(one.state_dict()[k], two.state_dict()[k])
    changed = [k for k, v in one.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 2


def test_random_weights_check_same_window(tiny_weights, tmp_path):
    from PIL import Image

    from explain import report
    from mssnet.serve.session import Studio
    from mssnet.serve.source import load_source

    y, x = np.mgrid[0:64, 0:64]
    path = tmp_path / "img.png"
    Image.fromarray(np.stack([(x * 5) % 256, (y * 7) % 256, (x * y) % 256], 2).astype(np.uint8)).save(path)
    with Studio(tiny_weights) as studio:
        view, _ = studio.view(load_source(str(path)), 2.0, None, 32)
        check = random_weights_check(studio.models.get(None), view, (16.0, 16.0), "Gradient saliency", side=8,
                                     seed=1)
    assert check.trained.window == check.random.window and check.trained.crop == check.random.crop
    assert -1 <= check.signed_similarity <= 1 and -1 <= check.magnitude_similarity <= 1
    assert not np.array_equal(check.trained.attribution, check.random.attribution)
    text = report.randomisation_markdown(check)
    assert f"{check.magnitude_similarity:.2f}" in text and "seed 1" in text


def test_no_click_explains_the_strongest_sharpened_edge(tiny_weights, tmp_path):
    from PIL import Image

    from explain.window import explain_window, view_window, window_overlay
    from mssnet.serve.session import Studio
    from mssnet.serve.source import load_source

    y, x = np.mgrid[0:64, 0:64]
    path = tmp_path / "img.png"
    Image.fromarray(np.stack([(x * 5) % 256, (y * 7) % 256, (x * y) % 256], 2).astype(np.uint8)).save(path)
    studio = Studio(tiny_weights, fill=False)
    try:
        view, _ = studio.view(load_source(str(path)), 2.0, None, 32)
        expected = strongest_edge_window(view.bicubic, view.sharpened, 8)
        assert view_window(view, None, 8) == expected
        assert view_window(view, (4.0, 4.0), 8) == (0, 0, 8, 8)  # a click still wins
        result = explain_window(studio.models.get(None), view, None, "Gradient saliency", side=8)
        assert result.window == expected
        drawn = window_overlay(view, None, 8)
        assert drawn[expected[1], expected[0] + 4, 1] > 200  # the green window's top edge
    finally:
        studio.close()
