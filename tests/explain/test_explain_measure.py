"""Tests for explain.measure: the one measure of sharpness and how its changes are written."""

import numpy as np
import pytest
import torch

from explain.measure import NEAR_ZERO, change_pct, change_phrase, change_text, edge_strength, edge_strength_map


def test_edge_strength_of_a_step_by_hand():
    x = np.zeros((4, 8), np.float32)
    x[:, 4:] = 1.0  # a black-to-white step: the two pixels beside it have Sobel magnitude 0.5 (4/8)
    m = edge_strength_map(x)
    assert m[:, 3] == pytest.approx(0.5) and m[:, 4] == pytest.approx(0.5) and m[:, :3].max() == 0
    assert edge_strength(x) == pytest.approx(np.sqrt(2 * 0.25 / 8))  # RMS over the 8 columns: 0.25
    assert edge_strength(x, m > 0) == pytest.approx(0.5)
    assert edge_strength(x, np.zeros_like(x, bool)) == 0.0
    # a ramp rising by s per pixel has edge strength s (inside, away from the replicated border)
    ramp = np.tile(np.arange(32, dtype=np.float32) * 0.01, (8, 1))
    assert edge_strength(ramp[:, 2:-2]) == pytest.approx(0.01, rel=0.05)
    # RGB: the BT.601 luma; a tensor gives the same number
    rgb = np.repeat(x[..., None], 3, 2)
    assert edge_strength(rgb) == pytest.approx(edge_strength(x), rel=1e-5)
    assert edge_strength(torch.from_numpy(rgb).permute(2, 0, 1)) == pytest.approx(edge_strength(x), rel=1e-5)


def test_narrower_edges_are_stronger():
    """Blurring an edge keeps its summed gradient (its contrast) but lowers the edge strength."""
    import cv2

    x = np.zeros((16, 64), np.float32)
    x[:, 32:] = 1.0
    wide, narrow = (cv2.GaussianBlur(x, (0, 0), s, borderType=cv2.BORDER_REPLICATE) for s in (3.0, 1.0))
    assert edge_strength_map(wide).sum() == pytest.approx(edge_strength_map(narrow).sum(), rel=0.02)
    assert edge_strength(narrow) > 1.5 * edge_strength(wide)


def test_change_text_cases():
    assert change_text(0.1, 0.117) == "+17 % edge strength"
    assert change_text(0.1, 0.097) == "−3.0 % edge strength"
    assert change_text(0.1, 0.1002) == "±0 % edge strength (unchanged)"  # a tie is not "more"
    assert change_pct(0.1, 0.1) == 0.0
    near = change_text(NEAR_ZERO / 5, 0.0011)
    assert "almost no edges before" in near and "%" not in near  # no percentage of almost nothing
    assert change_pct(0.0, 0.5) is None
    assert change_phrase(0.1, 0.124) == "raised edge strength by 24 %"
    assert change_phrase(0.1, 0.05) == "lowered edge strength by 50 %"
    assert change_phrase(0.1, 0.1) == "left edge strength unchanged (within 0.5 %)"
    assert change_phrase(0.0, 0.0) == "left almost no edge strength (0.0000 → 0.0000)"
    x = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    assert change_text(x, x) == "±0 % edge strength (unchanged)"  # images are measured first
    with pytest.raises(ValueError, match=">= 0"):
        change_text(-1.0, 0.1)
    with pytest.raises(TypeError):
        change_text("sharp", 0.1)
    with pytest.raises(ValueError, match="mask"):
        edge_strength(x, np.ones((2, 2), bool))
