"""Training degradations."""

import numpy as np
import pytest
import torch

from mssnet.train import degrade


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.rand(2, 3, 48, 40)


def test_zoom_blur_shape_range_and_blur(batch):
    out = degrade.zoom_blur(batch, 3.0)
    assert out.shape == batch.shape and out.min() >= 0 and out.max() <= 1
    # blur removes high frequencies: neighbour differences shrink
    assert out.diff(dim=-1).abs().mean() < 0.5 * batch.diff(dim=-1).abs().mean()
    torch.testing.assert_close(degrade.zoom_blur(batch, 1.0), batch, atol=1e-5, rtol=0)


def test_shrink_size(batch):
    assert degrade.shrink(batch, 2.5).shape == (2, 3, 19, 16)
    with pytest.raises(ValueError):
        degrade.shrink(batch, 0.5)


def test_gaussian_blur_preserves_constant_and_mean():
    x = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(degrade.gaussian_blur(x, 1.0), x)
    k = degrade._gaussian_kernel1d(1.2)
    assert abs(k.sum().item() - 1) < 1e-6 and k.numel() % 2 == 1


def test_motion_kernel_normalised():
    k = degrade.motion_kernel(5, 30)
    assert abs(k.sum().item() - 1) < 1e-5 and k.shape[0] % 2 == 1


def test_noise_and_jpeg(batch):
    noisy = degrade.add_noise(batch, 0.05, torch.Generator().manual_seed(1))
    assert 0.01 < (noisy - batch).abs().mean() < 0.06
    ramp = torch.linspace(0, 1, 48 * 40).reshape(1, 1, 48, 40).expand(1, 3, 48, 40)
    assert (degrade.jpeg(ramp, 90) - ramp).abs().mean() < 0.01
    assert (degrade.jpeg(batch, 10) - batch).abs().mean() > 0.05
    with pytest.raises(ValueError):
        degrade.jpeg(batch, 0)


def test_random_degrade_uses_scale_range(batch):
    rng = np.random.default_rng(0)
    cfg = degrade.DegradeConfig.realistic((2.0, 3.0))
    for _ in range(5):
        out, s = degrade.random_degrade(batch, rng, cfg)
        assert out.shape == batch.shape and 2.0 <= s <= 3.0


def test_rejects_non_tensor():
    with pytest.raises(TypeError):
        degrade.zoom_blur(np.zeros((1, 3, 8, 8)), 2)


def test_gaussian_blur_radius_and_bad_sigma():
    x = torch.rand(1, 3, 16, 16)
    assert degrade.gaussian_blur(x, 0.0) is x
    assert degrade._gaussian_kernel1d(1.2, radius=2).numel() == 5
    wide = degrade.gaussian_blur(x, 0.5, radius=4)  # a small sigma on a wide support: the same blur
    torch.testing.assert_close(wide, degrade.gaussian_blur(x, 0.5), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="sigma"):
        degrade.gaussian_blur(x, -1.0)
