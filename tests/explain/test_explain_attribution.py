"""Tests for explain.attribution, .objectives and .spread: faithfulness, shapes, caller state, bad input."""

import numpy as np
import pytest
import torch
from torch import nn

from explain import (
    IG_METHODS,
    blur_path_attribution,
    correction_energy_objective,
    diffusion_index,
    edge_gain_objective,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from mssnet.model.network import MSSNet, MSSNetConfig


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(0)
    return MSSNet(MSSNetConfig(8, 8, 8)).eval()


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(0)
    return MSSNet(MSSNetConfig.preset("small")).eval()


def linear_fn(weights):
    """fn(x) = sum(w * x) per item: gradient w everywhere."""
    return lambda x: (x * weights).flatten(1).sum(1)


class Identity(nn.Module):
    """A 'network' whose correction is zero: output = input."""

    def forward(self, x):
        return x

    def forward_stages(self, x):
        return [x] * 6


def test_saliency_of_linear_model_is_abs_weights():
    w = torch.randn(1, 3, 6, 7)
    x = torch.rand(2, 3, 6, 7)
    assert torch.allclose(saliency(linear_fn(w), x), w.abs().expand_as(x))
    assert torch.allclose(saliency(linear_fn(w), x, abs=False), w.expand_as(x))


@pytest.mark.parametrize("method", IG_METHODS)
def test_ig_on_linear_fn_is_exact(method):
    w = torch.randn(1, 3, 5, 5, dtype=torch.float64)
    x, base = torch.rand(2, 3, 5, 5, dtype=torch.float64), torch.rand(1, 3, 5, 5, dtype=torch.float64)
    attr, delta = integrated_gradients(
        linear_fn(w), x, baseline=base, n_steps=7, method=method, return_delta=True
    )
    assert attr.shape == x.shape
    assert torch.allclose(attr, (x - base) * w)
    assert delta.shape == (2,) and delta.abs().max() < 1e-10


def test_ig_completeness_on_mssnet_small(small_net):
    # a tiny input keeps MSSNet-small fast on CPU; Gauss-Legendre with 32 steps
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    fn = edge_gain_objective(small_net, (8, 8, 16, 16))
    calls = []
    attr, delta = integrated_gradients(
        fn,
        x,
        n_steps=32,
        internal_batch_size=32,
        return_delta=True,
        progress=lambda d, t: calls.append((d, t)),
    )
    gap = fn(x) - fn(torch.zeros_like(x))
    assert attr.shape == x.shape
    assert delta.abs().item() <= 0.01 * gap.abs().item()
    assert calls[-1] == (32, 32)
    assert all(p.grad is None for p in small_net.parameters())  # only input gradients


def test_blur_path_shape_completeness_on_linear_fn(tiny_net):
    w = torch.randn(1, 3, 16, 16)
    x = torch.rand(2, 3, 16, 16)
    attr, delta = blur_path_attribution(linear_fn(w), x, sigma=1.2, n_steps=5, return_delta=True)
    assert attr.shape == x.shape and delta.abs().max() < 1e-4  # telescoping sum: exact for linear fn
    fn = correction_energy_objective(tiny_net, (4, 4, 8, 8))
    done = []
    attr, delta = blur_path_attribution(
        fn, x[:1], n_steps=8, internal_batch_size=8, return_delta=True, progress=lambda d, t: done.append(d)
    )
    assert attr.shape == (1, 3, 16, 16) and done[-1] == 8 and delta.shape == (1,)


def test_diffusion_index_extremes():
    one_hot = np.zeros((3, 32, 32))
    one_hot[0, 5, 7] = 2.0
    assert diffusion_index(one_hot) < 0.2
    assert diffusion_index(np.ones((3, 32, 32))) == pytest.approx(100.0, abs=1e-6)
    di = diffusion_index(torch.randn(4, 3, 16, 16))
    assert di.shape == (4,) and np.all((di >= 0) & (di <= 100))


@pytest.mark.parametrize("requires_grad", [True, False])
def test_caller_tensor_untouched(requires_grad):
    w = torch.randn(1, 3, 8, 8)
    x = torch.rand(1, 3, 8, 8).requires_grad_(requires_grad)
    before = x.detach().clone()
    for method in (saliency, smoothgrad, integrated_gradients, blur_path_attribution):
        attr = method(linear_fn(w), x)
        assert attr.shape == x.shape and not attr.requires_grad
        assert x.requires_grad == requires_grad and x.grad is None
    assert torch.equal(x.detach(), before)


def test_smoothgrad_seed_and_zero_noise():
    fn = lambda x: (x**2).flatten(1).sum(1)
    x = torch.rand(2, 3, 4, 4)
    a = smoothgrad(fn, x, sigma=0.1, n=4, seed=3, abs=False)
    assert torch.equal(a, smoothgrad(fn, x, sigma=0.1, n=4, seed=3, abs=False, internal_batch_size=3))
    assert not torch.equal(a, smoothgrad(fn, x, sigma=0.1, n=4, seed=4, abs=False))
    assert torch.allclose(smoothgrad(fn, x, sigma=0.0, n=3), saliency(fn, x))


def test_objectives_any_size_and_identity_has_no_gain(tiny_net):
    x = torch.rand(2, 3, 12, 19)  # padded to 16 x 32 inside
    for build in (edge_gain_objective, correction_energy_objective):
        fn = build(tiny_net, (3, 2, 10, 9))
        assert fn(x).shape == (2,)
        assert saliency(fn, x).shape == x.shape
        # a network that adds nothing has nothing to explain: skip connection cancels
        ident = build(Identity(), (3, 2, 10, 9))
        assert torch.allclose(ident(x), torch.zeros(2), atol=1e-6)
        assert saliency(ident, x).abs().max() < 1e-6
    pos = edge_gain_objective(tiny_net, (3, 2, 10, 9), positive=True)(x)
    assert torch.all(pos >= edge_gain_objective(tiny_net, (3, 2, 10, 9))(x))


def test_bad_inputs_raise(tiny_net):
    w = torch.ones(1, 3, 4, 4)
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(TypeError):
        saliency(linear_fn(w), x.numpy())
    with pytest.raises(TypeError):
        saliency("not callable", x)
    with pytest.raises(ValueError, match="one scalar per batch item"):
        saliency(lambda t: t.sum(), x)
    with pytest.raises(ValueError):
        integrated_gradients(linear_fn(w), x, n_steps=0)
    with pytest.raises(ValueError, match="unknown method"):
        integrated_gradients(linear_fn(w), x, method="simpson")
    with pytest.raises(ValueError, match="broadcast"):
        integrated_gradients(linear_fn(w), x, baseline=torch.zeros(2, 3, 5, 5))
    with pytest.raises(ValueError):
        blur_path_attribution(linear_fn(w), x, sigma=0.0)
    with pytest.raises(TypeError):
        edge_gain_objective("model", (0, 0, 4, 4))
    with pytest.raises(TypeError):
        correction_energy_objective(tiny_net, (0, 0, 4))
    with pytest.raises(ValueError):
        edge_gain_objective(tiny_net, (0, 0, 0, 4))
    with pytest.raises(ValueError, match="does not fit"):
        edge_gain_objective(tiny_net, (10, 0, 8, 8))(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError):
        diffusion_index(np.zeros((2, 2, 2, 2, 2)))


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_works_inside_no_grad_callers(context, tiny_net):
    fn = correction_energy_objective(tiny_net, (2, 2, 8, 8))
    with context():
        x = torch.rand(1, 3, 16, 16)
        attr, delta = integrated_gradients(fn, x, n_steps=2, return_delta=True)
    assert attr.shape == x.shape and torch.isfinite(attr).all() and delta.shape == (1,)


def test_edge_gain_objective_strength_scales_the_correction():
    """strength α explains x + α·(model(x) − x): 0 adds nothing, 1 is the model as is."""

    class Double(torch.nn.Module):
        def forward(self, x):
            return 2 * x

    x = torch.rand(1, 3, 24, 24)
    win = (4, 4, 12, 12)
    assert torch.allclose(edge_gain_objective(Double(), win, strength=0.0)(x), torch.zeros(1), atol=1e-5)
    full = edge_gain_objective(Double(), win)(x)
    half = edge_gain_objective(Double(), win, strength=0.5)(x)
    assert float(full) > 0
    assert torch.allclose(half, 0.5 * full, rtol=1e-4)  # 1.5·x has half the added edges of 2·x
