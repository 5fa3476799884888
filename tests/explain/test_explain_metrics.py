"""Tests for explain.metrics: Y-channel PSNR/SSIM against scikit-image."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from explain import psnr_y, rgb_to_y, ssim_y


@pytest.fixture
def pair():
    rng = np.random.default_rng(1)
    a = rng.random((48, 40, 3))
    a = (a + np.roll(a, 1, 0) + np.roll(a, 1, 1)) / 3  # some structure
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    return a, b


def _sk_ssim(ya, yb):
    return structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )


def test_y_convention():
    assert rgb_to_y(np.zeros((2, 2, 3))) == pytest.approx(16.0)
    assert rgb_to_y(np.ones((2, 2, 3))) == pytest.approx(235.0)
    assert rgb_to_y(np.full((2, 2), 0.5)) == pytest.approx(16 + 219 * 0.5)


@pytest.mark.parametrize("shave", [0, 4])
def test_psnr_and_ssim_match_skimage(pair, shave):
    a, b = pair
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    assert psnr_y(a, b, shave=shave) == pytest.approx(
        peak_signal_noise_ratio(ya, yb, data_range=255), abs=1e-3
    )
    assert ssim_y(a, b, shave=shave) == pytest.approx(_sk_ssim(ya, yb), abs=1e-3)


def test_tensor_and_uint8_inputs(pair):
    a, b = pair
    ta, tb = torch.from_numpy(a).permute(2, 0, 1).float(), torch.from_numpy(b).permute(2, 0, 1)[None].float()
    assert psnr_y(ta, tb) == pytest.approx(psnr_y(a, b), abs=1e-3)
    assert ssim_y(ta, tb) == pytest.approx(ssim_y(a, b), abs=1e-4)
    a8 = (a * 255).round().astype(np.uint8)
    assert psnr_y(a8, a8) == float("inf")
    assert ssim_y(a8, a8) == pytest.approx(1.0)


def test_bad_inputs_raise(pair):
    a, b = pair
    with pytest.raises(ValueError, match="same size"):
        psnr_y(a, b[:-1])
    with pytest.raises(ValueError, match="shave"):
        ssim_y(a, b, shave=30)
    with pytest.raises(ValueError):
        psnr_y(a, b, shave=-1)
    with pytest.raises(TypeError):
        psnr_y(a.tolist(), b)
    with pytest.raises(ValueError):
        ssim_y(np.zeros((8, 8, 4)), np.zeros((8, 8, 4)))
