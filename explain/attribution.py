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
* :func:`diffusion_index` - LAM's Diffusion Index: how spread out an attribution is.

Objectives (what to explain)
----------------------------
MSSNet is residual: ``output = input + correction``. An objective on the output
alone mostly explains the skip connection (even random weights pass the input's
edges through), so the builders here explain the network's *contribution*:

* :func:`edge_gain_objective` - edge magnitude gained inside a window;
* :func:`correction_energy_objective` - energy of the correction inside a window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mssnet.runtime.tiling import pad_to_multiple
from mssnet.train.degrade import gaussian_blur

from .edges import edge_magnitude

__all__ = [
    "IG_METHODS",
    "Autocast",
    "attribution_shares",
    "blur_path_attribution",
    "correction_energy_objective",
    "diffusion_index",
    "edge_gain_objective",
    "gaussian_blur",
    "gini",
    "integrated_gradients",
    "saliency",
    "smoothgrad",
]

Objective = Callable[[Tensor], Tensor]
Progress = Callable[[int, int], None] | None
Window = Sequence[int]

#: Quadrature rules for :func:`integrated_gradients` (captum's names).
IG_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


# --------------------------------------------------------------------------- checks

class Autocast(nn.Module):
    """``model`` run in bf16 autocast, its output back in fp32 (objectives and edge maps on it stay fp32)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.model(x).float()


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


# ---------------------------------------------------------------- diffusion index
def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal; -> 1: all in one)."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError("gini needs at least one value")
    if v[0] < 0:
        raise ValueError(f"gini needs non-negative values; got minimum {v[0]}")
    v = v + 1e-7  # as in LAM: an all-zero map counts as uniform
    i = np.arange(1, v.size + 1)
    return float(np.sum((2 * i - v.size - 1) * v) / (v.size * np.sum(v)))


def diffusion_index(attr: Tensor | np.ndarray) -> float | np.ndarray:
    """LAM's Diffusion Index ``(1 - Gini) * 100`` of an attribution map, in [0, 100].

    attr: (C, H, W) or (H, W) -> float; (B, C, H, W) -> (B,) array. As in LAM's
    code, the map is ``|attr summed over channels|`` normalised by its maximum.
    Near 0: the attribution sits on a few pixels; 100: spread evenly over the image
    (the network looked far from the window).
    """
    if isinstance(attr, Tensor):
        attr = attr.detach().double().cpu().numpy()
    if not isinstance(attr, np.ndarray):
        raise TypeError(f"attr must be a tensor or array; got {type(attr).__name__}")
    if attr.ndim == 4:
        return np.array([diffusion_index(a) for a in attr])
    if attr.ndim == 3:
        attr = attr.sum(0)
    if attr.ndim != 2:
        raise ValueError(f"attr must be (B, C, H, W), (C, H, W) or (H, W); got {attr.shape}")
    if not np.all(np.isfinite(attr)):
        raise ValueError("attr contains NaN or inf")
    mag = np.abs(attr)
    peak = mag.max()
    return (1.0 - gini(mag / peak if peak > 0 else mag)) * 100.0


def attribution_shares(attr: Tensor | np.ndarray, window: Window) -> tuple[float, float]:
    """Where the influence sits: shares (0..1) of ``|attr summed over channels|`` inside the
    ``window = (x0, y0, w, h)`` and inside the window grown by its size on every side.

    attr: (C, H, W) or (H, W). An all-zero map gives (0, 0)."""
    if isinstance(attr, Tensor):
        attr = attr.detach().double().cpu().numpy()
    attr = np.asarray(attr, dtype=np.float64)
    if attr.ndim == 3:
        attr = attr.sum(0)
    if attr.ndim != 2:
        raise ValueError(f"attr must be (C, H, W) or (H, W); got {attr.shape}")
    x0, y0, w, h = _check_window(window)
    mag = np.abs(attr)
    total = float(mag.sum())
    if total == 0:
        return 0.0, 0.0
    inside = float(mag[y0:y0 + h, x0:x0 + w].sum())
    near = float(mag[max(y0 - h, 0):y0 + 2 * h, max(x0 - w, 0):x0 + 2 * w].sum())
    return inside / total, near / total


# --------------------------------------------------------------------- objectives
def _check_window(window: object) -> tuple[int, int, int, int]:
    if not isinstance(window, (tuple, list)) or len(window) != 4:
        raise TypeError(f"window must be (x0, y0, w, h); got {window!r}")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in window):
        raise TypeError(f"window values must be ints; got {window!r}")
    x0, y0, w, h = (int(v) for v in window)
    if x0 < 0 or y0 < 0 or w < 1 or h < 1:
        raise ValueError(f"window needs x0, y0 >= 0 and w, h >= 1; got {(x0, y0, w, h)}")
    return x0, y0, w, h


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (MSSNet); got {type(model).__name__}")
    return model


def _final_output(model: nn.Module, x: Tensor) -> Tensor:
    """Run the model's final output on any size: padded like ``mssnet.sharpen`` (reflect,
    right/bottom, to a multiple of 16) and cropped back.

    x: (B, 3, H, W) -> (B, 3, H, W). The input goes in as ``channels_last`` (faster on CPU,
    as in ``mssnet.runtime.inference``). Differentiable: the attribution methods take gradients here.
    """
    h, w = x.shape[-2:]
    x = pad_to_multiple(x)  # (B, 3, Hp, Wp)
    try:
        p = next(model.parameters())
        x = x.to(device=p.device, dtype=p.dtype)
    except StopIteration:
        pass
    out = model(x.contiguous(memory_format=torch.channels_last))  # (B, 3, Hp, Wp)
    return out[..., :h, :w]


def _window_slice(x: Tensor, window: tuple[int, int, int, int]) -> tuple[slice, slice]:
    x0, y0, w, h = window
    H, W = x.shape[-2:]
    if x0 + w > W or y0 + h > H:
        raise ValueError(f"window (x0={x0}, y0={y0}, w={w}, h={h}) does not fit in an image of {W}x{H} (WxH)")
    return slice(y0, y0 + h), slice(x0, x0 + w)


def _check_objective_input(x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"objective input must be (B, 3, H, W); got {got}")


def edge_gain_objective(model: nn.Module, window: Window, positive: bool = False,
                        strength: float = 1.0) -> Objective:
    """``fn(x) = sum over window of edge_magnitude(out) - edge_magnitude(x)`` with
    ``out = x + strength · (model(x) - x)`` (the zoom pipeline's calibrated strength;
    1 = the model's output as is).

    x: (B, 3, H, W), any H, W (reflect-padded to multiples of 16 inside, cropped
    back) -> (B,). Uses the final output only. ``window = (x0, y0, w, h)`` in the
    pixels of ``x``. The plain difference (default) counts edges the network
    softened as negative; ``positive=True`` sums only the gains (ReLU per pixel).
    The edges of the input cancel the skip connection's pass-through, so this
    explains what the network *added*. The output is not clamped to [0, 1].
    """
    model = _check_model(model)
    win = _check_window(window)

    def fn(x: Tensor) -> Tensor:
        _check_objective_input(x)
        rows, cols = _window_slice(x, win)
        out = _final_output(model, x).to(x.dtype)
        if strength != 1.0:
            out = x + strength * (out - x)
        gain = edge_magnitude(out) - edge_magnitude(x)  # (B, 1, H, W)
        gain = gain[..., rows, cols]
        if positive:
            gain = F.relu(gain)
        return gain.flatten(1).sum(1)

    return fn


def correction_energy_objective(model: nn.Module, window: Window) -> Objective:
    """``fn(x) = sum over window and channels of (model(x) - x)^2``.

    x: (B, 3, H, W), any H, W (reflect-padded to multiples of 16 inside) -> (B,).
    Final output only; ``window = (x0, y0, w, h)``. Explains how much the network
    changed the window, whatever the direction of the change.
    """
    model = _check_model(model)
    win = _check_window(window)

    def fn(x: Tensor) -> Tensor:
        _check_objective_input(x)
        rows, cols = _window_slice(x, win)
        corr = _final_output(model, x).to(x.dtype) - x  # (B, 3, H, W)
        corr = corr[..., rows, cols]
        return (corr * corr).flatten(1).sum(1)

    return fn
