"""Tests for mssnet.pipeline: zoom steps, step geometry, progress, and the gain of steps."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from fakes import Identity

from explain.metrics import psnr_y
from mssnet import zoom
from mssnet.model.weights import load_model
from mssnet.pipeline import zoom_sharpen_image, zoom_sharpen_view, zoom_steps
from mssnet.runtime.inference import sharpen_tensor, tile_count
from mssnet.train.degrade import shrink


@pytest.fixture
def smooth() -> np.ndarray:
    """(150, 220, 3) float32: smooth random structure, so bicubic twice ≈ bicubic once."""
    rng = np.random.default_rng(3)
    return np.clip(cv2.GaussianBlur(rng.random((150, 220, 3)).astype(np.float32), (0, 0), 6) * 4 - 1.5, 0, 1)


@pytest.mark.parametrize(("factor", "expected"), [
    (1.0, [1.0]), (1.5, [1.5]), (2.0, [2.0]), (3.0, [2.0, 1.5]), (4.0, [2.0, 2.0]),
    (5.0, [2.0, 2.0, 1.25]), (8.0, [2.0, 2.0, 2.0]), (0.5, [0.5]),
    (4.02, [2.0, 2.01]), (4.1, [2.0, 2.0, 1.025]), (8.0 + 1e-9, [2.0, 2.0, 2.0 + 5e-10]),
])
def test_zoom_steps(factor, expected):
    steps = zoom_steps(factor)
    assert steps == pytest.approx(expected)
    assert math.prod(steps) == pytest.approx(factor)
    assert all(s <= 2.0 * 1.01 for s in steps)
    assert all(s >= 1.01 for s in steps[1:])  # no pass for a sliver of a zoom


def test_zoom_steps_other_max_and_bad_values():
    assert zoom_steps(3.0, max_step=3.0) == [3.0]
    assert len(zoom_steps(8.0, max_step=1.5)) == 6
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive"):
            zoom_steps(bad)
    with pytest.raises(ValueError, match="max_step"):
        zoom_steps(2.0, max_step=1.0)


@pytest.mark.parametrize("factor", [1.0, 1.6, 2.0, 2.5, 3.0, 4.0, 8.0])
@pytest.mark.parametrize("center", [None, (5.0, 140.0), (219.0, 2.0)])
def test_view_geometry_matches_one_step_bicubic(smooth, factor, center):
    """With an identity 'network' the stepped view is bicubic-of-bicubic: the same picture
    as the one-step view (same place, same scale), and exactly it for one step."""
    net = Identity()
    v = zoom_sharpen_view(net, smooth, factor, (96, 64), center=center)
    ref = np.clip(zoom(smooth, factor, center=center, viewport=(96, 64)).view, 0, 1)
    assert v.bicubic.shape == v.sharpened.shape == v.model_input.shape == (64, 96, 3)
    assert v.sharpened.dtype == np.float32
    np.testing.assert_array_equal(v.bicubic, ref)
    assert len(v.steps) == len(zoom_steps(factor)) == len(net.seen)
    if len(v.steps) == 1:
        assert v.model_input is v.bicubic
    else:
        assert np.abs(v.model_input - ref).max() < 0.02
        # misplaced by half a source pixel, the view would differ far more than by interpolating twice
        k = max(1, round(factor / 2))
        shifted = np.abs(v.model_input[:, k:] - ref[:, :-k]).mean()
        assert np.abs(v.model_input - ref).mean() < shifted / 3
    np.testing.assert_allclose(v.sharpened, v.model_input, atol=1e-6)


def test_view_returns_stages_and_rect(smooth):
    v = zoom_sharpen_view(Identity(), smooth, 4.0, (64, 48), center=(100.0, 70.0), stages=True)
    assert len(v.stages) == 6 and all(s.shape == (48, 64, 3) for s in v.stages)
    assert v.rect == pytest.approx((92.0, 64.0, 16.0, 12.0))
    assert v.steps == pytest.approx((2.0, 2.0))
    assert set(v.seconds) == {"bicubic", "mssnet"} and all(t >= 0 for t in v.seconds.values())
    assert zoom_sharpen_view(Identity(), smooth, 4.0, (64, 48)).stages is None


def test_view_rejects_bad_arguments(smooth):
    with pytest.raises(ValueError, match=r"\[1, 8\]"):
        zoom_sharpen_view(Identity(), smooth, 9.0, (64, 64))
    with pytest.raises(ValueError, match="viewport"):
        zoom_sharpen_view(Identity(), smooth, 2.0, (0, 64))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        zoom_sharpen_view(Identity(), smooth[..., 0], 2.0, (64, 64))
    with pytest.raises(TypeError, match="float32"):
        zoom_sharpen_view(Identity(), (smooth * 255).astype(np.uint8), 2.0, (64, 64))


@pytest.mark.parametrize("factor", [1.3, 2.0, 3.0, 8.0])
def test_image_size_and_identity_geometry(smooth, factor):
    out = zoom_sharpen_image(Identity(), smooth, factor)
    h, w = round(150 * factor), round(220 * factor)
    assert out.shape == (h, w, 3) and out.dtype == np.float32
    ref = np.clip(cv2.resize(smooth, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)
    assert np.abs(out - ref).mean() < 0.005


def test_image_explicit_size_and_progress_over_all_steps(smooth):
    calls: list[tuple[int, int]] = []
    out = zoom_sharpen_image(Identity(), smooth, 4.0, size=(880, 600), tile=128,
                             progress=lambda done, total: calls.append((done, total)))
    assert out.shape == (600, 880, 3)
    total = tile_count(300, 440, 128) + tile_count(600, 880, 128)
    assert total > 2
    assert [d for d, _ in calls] == list(range(1, total + 1))
    assert {t for _, t in calls} == {total}


def test_tile_count_matches_progress():
    for h, w, tile in [(1, 1, None), (100, 100, None), (800, 900, None), (300, 500, 128), (64, 1000, 256)]:
        totals: list[int] = []
        sharpen_tensor(Identity(), torch.zeros(1, 3, h, w), tile=tile, progress=lambda _d, t, out=totals: out.append(t))
        assert totals[-1] == tile_count(h, w, tile)


def test_steps_beat_bicubic_with_bundled_weights():
    """The bundled weights, ×4 in two ×2 steps, on a photograph crop they never saw:
    clearly sharper than bicubic and better than one ×4 step."""
    import skimage.data

    hr = skimage.data.astronaut()[96:288, 160:352].astype(np.float32) / 255  # (192, 192, 3)
    lr = shrink(torch.from_numpy(hr).permute(2, 0, 1)[None], 4)[0].permute(1, 2, 0).numpy()
    lr = np.round(lr * 255) / 255
    net = load_model()
    bicubic = np.clip(cv2.resize(lr, (192, 192), interpolation=cv2.INTER_CUBIC), 0, 1)
    stepped = zoom_sharpen_image(net, lr, 4.0)
    one = zoom_sharpen_image(net, lr, 4.0, max_step=4.0)
    gain = psnr_y(stepped, hr, 4) - psnr_y(bicubic, hr, 4)
    assert gain > 0.4, gain
    assert psnr_y(stepped, hr, 4) > psnr_y(one, hr, 4)
