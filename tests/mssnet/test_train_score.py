"""Held-out scoring (mssnet.train.score): the command line's zoom against plain bicubic."""

import numpy as np
import pytest
from fakes import Identity

from mssnet.train.score import bicubic_zoom, crop_to_multiple, degrade_pair, gain_table, holdout_gains


def test_degrade_pair_crops_to_the_zoom_and_shrinks():
    image = np.random.default_rng(0).random((50, 61, 3)).astype(np.float32)
    hr, lr, size = degrade_pair(image, 4)
    assert hr.shape == (48, 60, 3) and lr.shape == (12, 15, 3) and size == (60, 48)
    assert np.allclose(lr * 255, np.round(lr * 255))  # 8-bit
    assert crop_to_multiple(image, 1.5).shape == image.shape
    assert bicubic_zoom(lr, size).shape == (48, 60, 3)


def test_a_network_that_changes_nothing_gains_nothing_at_x2():
    image = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    gains = holdout_gains({"identity": Identity()}, [image], scales=(2.0,), precision="fp32")
    assert list(gains) == ["identity"] and abs(gains["identity"][2.0]) < 0.01


def test_gain_table_has_a_column_per_zoom():
    table = gain_table({"small, new": {2.0: 2.5, 4.0: 1.5}, "tiny, new": {2.0: 2.25}})
    lines = table.splitlines()
    assert lines[0] == "| weights | ×2 | ×4 |" and lines[2] == "| small, new | +2.500 | +1.500 |"
    assert lines[3] == "| tiny, new | +2.250 |  |"


def test_scoring_needs_images_and_zooms_of_at_least_one():
    with pytest.raises(ValueError, match="at least one held-out image"):
        holdout_gains({"identity": Identity()}, [])
    with pytest.raises(ValueError, match="zooms must be 1 or more"):
        holdout_gains({"identity": Identity()}, [np.zeros((32, 32, 3), np.uint8)], scales=(0.5,))
