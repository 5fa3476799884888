"""Input attribution for MSSNet, shaped like captum's API (no captum dependency).

Every method takes ``fn: Callable[[Tensor], Tensor]`` mapping ``x: (B, C, H, W)``
to one scalar per batch item ``(B,)``, and returns an attribution shaped like
``x``. Gradients are taken with ``torch.autograd.grad`` with respect to a detached
copy of the input only, so the caller's tensor keeps its ``requires_grad`` and
the model's parameters never accumulate ``.grad``.

Methods
-------
* :func:`saliency` - input gradient (absolute by default).
* :func:`smoothgrad` - gradient averaged over noisy copies (noise in image units).
* :func:`integrated_gradients` - straight path from a baseline, with the
  completeness gap ``sum(attr) - (f(x) - f(baseline))`` on request.
* :func:`blur_path_attribution` - the path of LAM (Gu & Dong, "Interpreting
  Super-Resolution Networks with Local Attribution Maps", CVPR 2021): from the
  input blurred with a Gaussian of ``sigma`` to the input itself, by shrinking the
  blur, ``sigma(alpha) = (1 - alpha) * sigma``.

What to explain (the objectives ``fn``) is in :mod:`explain.objectives`; how spread out an
attribution is (Gini, LAM's Diffusion Index, shares near a window) in :mod:`explain.spread`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mssnet.train.degrade import gaussian_blur

from .objectives import Objective

__all__ = ["IG_METHODS", "blur_path_attribution", "gaussian_blur", "integrated_gradients", "saliency", "smoothgrad"]

Progress = Callable[[int, int], None] | None

#: Quadrature rules for :func:`integrated_gradients` (captum's names).
IG_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


# --------------------------------------------------------------------------- checks

def _check_inputs(fn: object, x: object) -> Tensor:
    if not callable(fn):
        raise TypeError(f"fn must be callable (B, C, H, W) -> (B,); got {type(fn).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"x must be a floating-point tensor; got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"x must be batched, (B, ...) with B >= 1; got {tuple(x.shape)}")
    return x.detach()


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}")
    return value


# ---------------------------------------------------------------------- gradients
def _eval_and_grad(fn: Objective, points: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient of ``fn`` at ``points: (N, ...)`` -> (values (N,), grads (N, ...))."""
    # works inside torch.no_grad() and torch.inference_mode() callers too
    with torch.inference_mode(False), torch.enable_grad():
        xi = points.detach().clone().requires_grad_(True)
        out = fn(xi)
        if not isinstance(out, Tensor) or out.shape != (points.shape[0],):
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(
                f"fn must return one scalar per batch item, shape ({points.shape[0]},); got {got}"
            )
        if not out.requires_grad:
            raise ValueError("fn's output does not depend differentiably on its input")
        (grad,) = torch.autograd.grad(out.sum(), xi)
    return out.detach(), grad


def _batched_grads(
    fn: Objective, points: Tensor, batch_size: int | None, progress: Progress = None
) -> tuple[Tensor, Tensor]:
    """``_eval_and_grad`` over ``points: (N, ...)`` in chunks of ``batch_size``."""
    n = points.shape[0]
    size = n if batch_size is None else _check_positive_int(batch_size, "internal_batch_size")
    values, grads = [], []
    for start in range(0, n, size):
        v, g = _eval_and_grad(fn, points[start : start + size])
        values.append(v)
        grads.append(g)
        if progress is not None:
            progress(min(start + size, n), n)
    return torch.cat(values), torch.cat(grads)


def _no_grad_eval(fn: Objective, x: Tensor) -> Tensor:
    with torch.inference_mode(False), torch.no_grad():
        return fn(x.clone()).detach()


# ------------------------------------------------------------------------ methods
def saliency(fn: Objective, x: Tensor, abs: bool = True) -> Tensor:
    """Input gradient ``d fn(x) / d x``, absolute when ``abs``. x: (B, C, H, W) -> same shape."""
    x = _check_inputs(fn, x)
    _, grad = _eval_and_grad(fn, x)
    return grad.abs() if abs else grad


def smoothgrad(
    fn: Objective,
    x: Tensor,
    sigma: float = 0.1,
    n: int = 16,
    seed: int | None = 0,
    abs: bool = True,
    internal_batch_size: int | None = None,
    progress: Progress = None,
) -> Tensor:
    """SmoothGrad: the gradient averaged over ``n`` noisy copies of ``x``.

    x: (B, C, H, W) -> (B, C, H, W). The noise is Gaussian with standard deviation
    ``sigma`` in image units (images in [0, 1]; 0.05-0.15 is sensible, 1.0 is not).
    The signed gradients are averaged, then made absolute when ``abs`` (as in
    Smilkov et al.). ``seed`` makes the noise repeatable (``None``: global RNG).
    ``internal_batch_size`` noisy copies go through ``fn`` at a time (default: B).
    """
    x = _check_inputs(fn, x)
    n = _check_positive_int(n, "n")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0 (image units); got {sigma}")
    gen = None
    if seed is not None:
        gen = torch.Generator(device=x.device).manual_seed(int(seed))
    noise = torch.randn((n, *x.shape), generator=gen, device=x.device, dtype=x.dtype)  # (n, B, C, H, W)
    points = (x.unsqueeze(0) + sigma * noise).flatten(0, 1)  # (n*B, C, H, W)
    _, grads = _batched_grads(fn, points, internal_batch_size or x.shape[0], progress)
    grad = grads.reshape(n, *x.shape).mean(0)  # (B, C, H, W)
    return grad.abs() if abs else grad


def _quadrature(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Points ``alpha`` in [0, 1] and weights summing to 1 for the path integral."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return list((nodes + 1) / 2), list(weights / 2)
    if method == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError(f"riemann_trapezoid needs n_steps >= 2; got {n_steps}")
        alphas = np.linspace(0, 1, n_steps)
        weights = np.full(n_steps, 1 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return list(alphas), list(weights)
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}.get(method)
    if offset is None:
        raise ValueError(f"unknown method {method!r}; expected one of {IG_METHODS}")
    return [(i + offset) / n_steps for i in range(n_steps)], [1 / n_steps] * n_steps


def integrated_gradients(
    fn: Objective,
    x: Tensor,
    baseline: None | float | Tensor = None,
    n_steps: int = 32,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    return_delta: bool = False,
    progress: Progress = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Integrated gradients along the straight line from ``baseline`` to ``x``.

    x: (B, C, H, W) -> attribution (B, C, H, W), and with ``return_delta`` also
    the completeness gap (B,) = ``attr.sum() - (fn(x) - fn(baseline))`` per item.
    ``baseline``: None (black image), a number, or a tensor broadcastable to x.
    ``method``: one of :data:`IG_METHODS`; Gauss-Legendre (captum's default) is
    the most accurate for a given ``n_steps`` on smooth functions.
    ``internal_batch_size`` path points go through ``fn`` at a time (default: B,
    i.e. one step for all items); ``progress(done, total)`` is called per chunk.
    """
    x = _check_inputs(fn, x)
    n_steps = _check_positive_int(n_steps, "n_steps")
    if baseline is None:
        baseline = torch.zeros_like(x)
    elif isinstance(baseline, (int, float)):
        baseline = torch.full_like(x, float(baseline))
    elif isinstance(baseline, Tensor):
        try:
            baseline = baseline.detach().to(x).expand_as(x)
        except RuntimeError as err:
            raise ValueError(
                f"baseline {tuple(baseline.shape)} does not broadcast to x {tuple(x.shape)}"
            ) from err
    else:
        raise TypeError(f"baseline must be None, a number or a tensor; got {type(baseline).__name__}")
    alphas, weights = _quadrature(method, n_steps)
    a = torch.tensor(alphas, dtype=x.dtype, device=x.device).view(-1, 1, *([1] * (x.ndim - 1)))
    points = (baseline.unsqueeze(0) + a * (x - baseline).unsqueeze(0)).flatten(0, 1)  # (n*B, C, H, W)
    _, grads = _batched_grads(fn, points, internal_batch_size or x.shape[0], progress)
    w = torch.tensor(weights, dtype=x.dtype, device=x.device).view_as(a)
    avg_grad = (grads.reshape(n_steps, *x.shape) * w).sum(0)  # (B, C, H, W)
    attr = (x - baseline) * avg_grad
    if not return_delta:
        return attr
    gap = _no_grad_eval(fn, x) - _no_grad_eval(fn, baseline.contiguous())
    return attr, attr.flatten(1).sum(1) - gap


# --------------------------------------------------------------------- blur path
def blur_path_attribution(
    fn: Objective,
    x: Tensor,
    sigma: float = 1.2,
    n_steps: int = 50,
    method: str = "midpoint",
    internal_batch_size: int | None = None,
    return_delta: bool = False,
    progress: Progress = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """LAM's path-integrated gradient along a blur path (Gu & Dong, CVPR 2021).

    x: (B, C, H, W) -> attribution (B, C, H, W) [, completeness gap (B,)].
    The path is ``gamma(alpha) = blur(x, (1 - alpha) * sigma)``: from the input
    blurred at ``sigma`` (the baseline: detail removed) to the sharp input. The
    attribution is ``sum_i grad fn(gamma(a_i)) * (gamma(alpha_{i+1}) - gamma(alpha_i))``
    over ``n_steps`` intervals, so it sums to ``fn(x) - fn(blurred x)`` up to the
    returned gap. ``method="midpoint"`` takes the gradient in the middle of each
    interval (more accurate); ``"right"`` at its end, as LAM's own code does.
    The blur uses ``radius = ceil(3 * sigma)`` taps and reflect borders.
    """
    x = _check_inputs(fn, x)
    n_steps = _check_positive_int(n_steps, "n_steps")
    if x.ndim != 4:
        raise ValueError(f"x must be (B, C, H, W); got {tuple(x.shape)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    if method not in ("midpoint", "right"):
        raise ValueError(f"method must be 'midpoint' or 'right'; got {method!r}")
    radius = max(1, math.ceil(3 * sigma))
    alphas = np.linspace(0.0, 1.0, n_steps + 1)
    edges = torch.stack([gaussian_blur(x, (1 - a) * sigma, radius) for a in alphas])  # (n+1, B, C, H, W)
    edges[-1] = x  # exactly the input at the end of the path
    steps = edges[1:] - edges[:-1]  # (n, B, C, H, W)
    if method == "right":
        points = edges[1:]
    else:
        points = torch.stack(
            [gaussian_blur(x, (1 - a) * sigma, radius) for a in (alphas[:-1] + alphas[1:]) / 2]
        )
    _, grads = _batched_grads(fn, points.flatten(0, 1), internal_batch_size or x.shape[0], progress)
    attr = (grads.reshape(steps.shape) * steps).sum(0)  # (B, C, H, W)
    if not return_delta:
        return attr
    gap = _no_grad_eval(fn, x) - _no_grad_eval(fn, edges[0])
    return attr, attr.flatten(1).sum(1) - gap
