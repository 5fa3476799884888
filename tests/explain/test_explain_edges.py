"""Tests for explain.edges: Sobel edge maps, edge gain, change map, Canny mask."""

import numpy as np
import pytest
import torch

from explain import edge_gain, edge_magnitude, edge_mask, luminance, mean_edge_energy, sharpening_map


def step_image(h=6, w=8, col=4):
    """Gray (H, W) image: 0 left of ``col``, 1 from ``col`` on."""
    img = np.zeros((h, w), np.float32)
    img[:, col:] = 1.0
    return img


def test_step_edge_hand_computed_numpy():
    # normalised Sobel: gx = (sum of column differences weighted 1, 2, 1) / 8 = 4 / 8 on the step
    mag = edge_magnitude(step_image(), eps=0.0)
    expected = np.zeros((6, 8), np.float32)
    expected[:, 3:5] = 0.5
    np.testing.assert_allclose(mag, expected, atol=1e-6)


def test_step_edge_hand_computed_torch_and_borders_flat():
    img = torch.from_numpy(step_image()).expand(3, -1, -1).clone()  # gray RGB (3, H, W)
    mag = edge_magnitude(img)
    assert mag.shape == (1, 6, 8)
    assert torch.allclose(mag[0, :, 3:5], torch.full((6, 2), 0.5), atol=1e-5)
    # replicate padding: the frame of a flat region is not an edge
    assert mag[0, :, :3].abs().max() < 1e-6 and mag[0, :, 5:].abs().max() < 1e-6


def test_ramp_has_magnitude_equal_to_slope():
    ramp = np.tile(np.arange(10, dtype=np.float32) * 0.05, (7, 1))
    mag = edge_magnitude(ramp, eps=0.0)
    np.testing.assert_allclose(mag[:, 1:-1], 0.05, atol=1e-6)


def test_numpy_and_torch_agree():
    rng = np.random.default_rng(0)
    img = rng.random((20, 24, 3)).astype(np.float32)
    a = edge_magnitude(img)
    t = edge_magnitude(torch.from_numpy(img).permute(2, 0, 1)[None])  # (1, 1, H, W)
    np.testing.assert_allclose(a, t[0, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(
        luminance(img), luminance(torch.from_numpy(img).permute(2, 0, 1))[0], atol=1e-6
    )


def test_torch_form_is_the_one_edge_strength_map():
    """The differentiable form (attribution) computes mssnet.image.metrics.edge_strength_map: same luma, same kernel."""
    from explain import measure
    from mssnet.image import metrics

    img = np.random.default_rng(1).random((20, 24, 3)).astype(np.float32)
    t = edge_magnitude(torch.from_numpy(img).permute(2, 0, 1)[None], eps=0.0)  # (1, 1, H, W)
    np.testing.assert_allclose(t[0, 0].numpy(), metrics.edge_strength_map(img), atol=1e-6)
    np.testing.assert_allclose(edge_magnitude(img, eps=0.0), metrics.edge_strength_map(img), atol=1e-6)
    assert measure.edge_strength_map is metrics.edge_strength_map


def test_uint8_is_scaled():
    img = (step_image() * 255).astype(np.uint8)
    np.testing.assert_allclose(edge_magnitude(img, eps=0.0), edge_magnitude(step_image(), eps=0.0), atol=1e-6)


def test_gradcheck_edge_magnitude():
    x = torch.rand(1, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: edge_magnitude(t, eps=1e-3), (x,), eps=1e-6, atol=1e-5)


def test_gradient_is_finite_on_flat_image():
    x = torch.full((1, 3, 8, 8), 0.3, requires_grad=True)
    edge_magnitude(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_edge_gain_and_sharpening_map():
    blurry = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (6, 1))
    sharp = step_image()
    gain = edge_gain(blurry, sharp)
    assert gain.shape == (6, 8)
    assert gain[:, 3:5].min() > 0 and gain[:, 0].max() < 0  # stronger at the step, flatter elsewhere
    before = torch.zeros(2, 3, 4, 5)
    after = before.clone()
    after[:, :, 1, 2] = torch.tensor([3.0, 0.0, 4.0]).view(1, 3)
    change = sharpening_map(before, after)
    assert change.shape == (2, 1, 4, 5)
    assert change[0, 0, 1, 2] == pytest.approx(5.0) and change.sum() == pytest.approx(10.0)
    np.testing.assert_allclose(
        sharpening_map(before[0].permute(1, 2, 0).numpy(), after[0].permute(1, 2, 0).numpy()),
        change[0, 0].numpy(),
    )


def test_mean_edge_energy_shapes():
    assert mean_edge_energy(step_image()) == pytest.approx(2 * 0.5 / 8, abs=1e-5)
    assert mean_edge_energy(torch.rand(3, 3, 8, 8)).shape == (3,)


def test_edge_mask_finds_step():
    mask = edge_mask(step_image(16, 16, 8))
    assert mask.dtype == bool and mask.shape == (16, 16)
    assert mask[:, 7:9].any(axis=1).all() and not mask[:, :6].any() and not mask[:, 10:].any()
    assert edge_mask(torch.from_numpy(step_image(16, 16, 8)).expand(3, -1, -1)).sum() == mask.sum()


@pytest.mark.parametrize(
    "bad, err",
    [
        (torch.zeros(1, 4, 8, 8), ValueError),
        (torch.zeros(1, 3, 8, 8, dtype=torch.int64), TypeError),
        (np.zeros((8, 8, 4)), ValueError),
        (np.zeros((8, 8), dtype=np.int32), TypeError),
        ([[0.0, 1.0]], TypeError),
        (np.zeros((1, 8)), ValueError),
    ],
)
def test_bad_inputs_raise(bad, err):
    with pytest.raises(err):
        edge_magnitude(bad)


def test_pairs_must_match():
    with pytest.raises(ValueError, match="same shape"):
        edge_gain(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))
    with pytest.raises(TypeError, match="same kind"):
        sharpening_map(np.zeros((8, 8, 3)), torch.zeros(3, 8, 8))
    with pytest.raises(ValueError):
        edge_mask(np.zeros((8, 8)), low=0.2, high=0.1)
