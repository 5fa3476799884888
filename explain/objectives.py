"""What to explain: objectives ``fn(x) -> (B,)`` for the methods of :mod:`explain.attribution`.

MSSNet is residual: ``output = input + correction``. An objective on the output
alone mostly explains the skip connection (even random weights pass the input's
edges through), so the builders here explain the network's *contribution*:

* :func:`edge_gain_objective` - edge magnitude gained inside a window;
* :func:`correction_energy_objective` - energy of the correction inside a window.

:class:`Autocast` runs a model in bf16 with its output back in fp32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mssnet.runtime.tiling import pad_to_multiple

from .edges import edge_magnitude

__all__ = ["Autocast", "Objective", "Window", "check_window", "correction_energy_objective", "edge_gain_objective"]

Objective = Callable[[Tensor], Tensor]
Window = Sequence[int]


class Autocast(nn.Module):
    """``model`` run in bf16 autocast, its output back in fp32 (objectives and edge maps on it stay fp32)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.model(x).float()


def check_window(window: object) -> tuple[int, int, int, int]:
    """``window = (x0, y0, w, h)`` as four ints with x0, y0 >= 0 and w, h >= 1; TypeError / ValueError otherwise."""
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
    win = check_window(window)

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
    win = check_window(window)

    def fn(x: Tensor) -> Tensor:
        _check_objective_input(x)
        rows, cols = _window_slice(x, win)
        corr = _final_output(model, x).to(x.dtype) - x  # (B, 3, H, W)
        corr = corr[..., rows, cols]
        return (corr * corr).flatten(1).sum(1)

    return fn
