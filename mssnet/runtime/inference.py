"""Run MSSNet on images of any size: padding, tiling, precision and device.

Two entry points, each with a twin that also returns MSSNet's six stage outputs
(:func:`sharpen_tensor_stages`, :func:`sharpen_stages`):

* :func:`sharpen_tensor` works on the package's one internal convention,
  ``x: (B, 3, H, W)`` float in [0, 1]; package code (zoom pipeline, explain/,
  benchmarks) calls this one.
* :func:`sharpen` is the NumPy edge for the app and the CLI: it accepts uint8,
  uint16 or float images shaped ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or
  ``(H, W, 4)``, converts them to the convention above (gray repeated to RGB,
  alpha split off) and converts the result back to the caller's dtype and layout.

How a call runs (padding and tiles: :mod:`mssnet.runtime.tiling`):

1. reflect-pad the bottom and right edges to the next multiple of 16 (MSSNet's
   requirement); sides too short to reflect are reflected repeatedly, 1-px sides
   replicated;
2. run the model on the whole padded image, or, above :data:`~mssnet.runtime.tiling.WHOLE_IMAGE_PIXELS`
   (or when ``tile`` is given), on overlapping tiles whose results are averaged
   with weights that drop the pixels next to a shared tile edge and cross-fade
   (raised cosine) in the middle of the overlap; edges that are image borders keep
   full weight. Memory stays bounded and no seams show;
3. crop back and clamp to [0, 1].

Precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"``, see
:func:`resolve_precision`. Inputs always use the ``channels_last`` memory format and
the model's convolution weights are converted to it once (same values; faster in fp32,
bench/README.md). The model's residual additions
and everything here after the model stay in fp32.

Backend: ``"auto"``, ``"torch"`` or ``"openvino"`` (None: the current default), see
:mod:`mssnet.runtime.backend`. ``"auto"`` runs MSSNet on the CPU in OpenVINO when it is installed
(faster than PyTorch in fp32 and bf16 on the CPUs measured, bench/README.md) and in PyTorch
otherwise; a shape OpenVINO cannot compile runs in PyTorch (warned once).
These passes never carry gradients: code that differentiates through MSSNet calls the module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .backend import BACKENDS, resolve_backend
from .compiled import run_openvino
from .precision import PRECISIONS, resolve_precision
from .tiling import _check_tiling, _ramp, _tile_layout, _tiling, pad_to_multiple

__all__ = [
    "BACKENDS", "PRECISIONS", "resolve_precision", "sharpen", "sharpen_stages", "sharpen_tensor",
    "sharpen_tensor_stages",
]


#: Float images may overshoot [0, 1] by this much (bicubic ringing) and are clipped;
#: values further out are refused (most likely a 0-255 image stored as float).
FLOAT_SLACK = 0.5


Progress = Callable[[int, int], object]


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _model_device(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _weights_to_channels_last(model: nn.Module) -> None:
    """Convert 4-D weights to channels_last once; values, dtype and autograd use are unchanged."""
    if any(
        p.ndim == 4 and not p.is_contiguous(memory_format=torch.channels_last) for p in model.parameters()
    ):
        model.to(memory_format=torch.channels_last)


def _forward(model: nn.Module, x: Tensor, precision: str, stages: bool, backend: str = "torch") -> list[Tensor]:
    """x: (B, 3, h, w) on the model's device, h, w multiples of 16 -> [(B, 3, h, w)] float32.

    With ``stages`` the six stage outputs, the half-resolution first one upsampled
    (bicubic) to (h, w); otherwise a one-element list with the final output.
    ``backend``: resolved, ``"torch"`` or ``"openvino"`` (PyTorch where that shape fails).
    """
    outs = run_openvino(model, x, precision, stages) if backend == "openvino" else None
    if outs is None:
        with _autocast(precision, x.device):
            xc = x.contiguous(memory_format=torch.channels_last)
            outs = list(model.forward_stages(xc)) if stages else [model(xc)]
    if stages:
        outs[0] = F.interpolate(outs[0].float(), size=x.shape[-2:], mode="bicubic", align_corners=False)
    return [o.float() for o in outs]


def _forward_tiled(
    model: nn.Module,
    x: Tensor,
    device: torch.device,
    precision: str,
    stages: bool,
    tile: int,
    overlap: int,
    progress: Progress | None,
    backend: str = "torch",
) -> list[Tensor]:
    """x: (B, 3, Hp, Wp), multiples of 16 -> outputs as in :func:`_forward`, on x's device.

    Tiles go to ``device`` one at a time; the results are blended on x's device.
    """
    hp, wp = x.shape[-2:]
    th, tops = _tile_layout(hp, tile, overlap)
    tw, lefts = _tile_layout(wp, tile, overlap)
    total = len(tops) * len(lefts)
    if total == 1:
        outs = _forward(model, x.to(device), precision, stages, backend)
        if progress is not None:
            progress(1, 1)
        return [o.to(x.device) for o in outs]
    acc: list[Tensor] = []  # weighted sums, one per output: (B, 3, Hp, Wp)
    weight_sum = torch.zeros(1, 1, hp, wp, device=x.device)  # (1, 1, Hp, Wp)
    for i, (top, left) in enumerate((top, left) for top in tops for left in lefts):
        wy = _ramp(th, overlap, rise=top > 0, fall=top + th < hp)  # (th,)
        wx = _ramp(tw, overlap, rise=left > 0, fall=left + tw < wp)  # (tw,)
        w = (wy[:, None] * wx[None, :]).to(x.device)  # (th, tw)
        window = (..., slice(top, top + th), slice(left, left + tw))
        outs = _forward(model, x[window].to(device), precision, stages, backend)  # [(B, 3, th, tw)]
        acc = acc or [torch.zeros(o.shape[:2] + (hp, wp), device=x.device) for o in outs]
        for a, o in zip(acc, outs, strict=True):
            a[window] += w * o.to(x.device)
        weight_sum[window] += w
        if progress is not None:
            progress(i + 1, total)
    assert bool(weight_sum.min() > 0), "tile layout left pixels uncovered"
    return [a / weight_sum for a in acc]


def _check_batch(x: object) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor (B, 3, H, W); got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x must have shape (B, 3, H, W); got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor with values in [0, 1]; got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"x must not be empty; got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")


def _run(
    model: nn.Module,
    x: Tensor,
    precision: str,
    tile: int | None,
    progress: Progress | None,
    overlap: int | None,
    stages: bool,
    backend: str | None,
) -> list[Tensor]:
    """Checked, padded, tiled run -> [final] or the six stages, each (B, 3, H, W) in [0, 1]."""
    _check_batch(x)
    _check_tiling(tile, overlap)
    device = _model_device(model)
    precision = resolve_precision(precision, device)
    backend = resolve_backend(model, backend)
    h, w = x.shape[-2:]
    _weights_to_channels_last(model)  # outside inference_mode: the weights must stay usable for autograd
    with torch.inference_mode():
        padded = pad_to_multiple(x.float())  # (B, 3, Hp, Wp)
        tile, overlap = _tiling(*padded.shape[-2:], tile, overlap)
        outs = _forward_tiled(model, padded, device, precision, stages, tile, overlap, progress, backend)
    # cropped outside inference_mode: the results are ordinary tensors that autograd code (explain/) may use
    return [o[..., :h, :w].clamp(0.0, 1.0) for o in outs]  # (B, 3, H, W) each


def sharpen_tensor(
    model: nn.Module,
    x: Tensor,
    precision: str = "auto",
    tile: int | None = None,
    progress: Progress | None = None,
    overlap: int | None = None,
    backend: str | None = None,
) -> Tensor:
    """Sharpen a batch of RGB images with MSSNet.

    Args:
        model: an MSSNet (or anything with ``forward(x)`` and ``forward_stages(x)`` like it), in eval mode.
        x: (B, 3, H, W) float in [0, 1], any H, W >= 1, on any device; tiles are moved
            to the model's device and results come back to x's device.
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"`` (see :func:`resolve_precision`).
        tile: None picks automatically (whole image up to :data:`~mssnet.runtime.tiling.WHOLE_IMAGE_PIXELS`
            padded pixels, else tiles of :data:`~mssnet.runtime.tiling.DEFAULT_TILE` px); an int forces tiles
            of at most that side (multiple of 16, >= 64; sides are evened out so the
            tiles overlap no more than needed). A padded image that fits runs whole.
        progress: called as ``progress(done, total)`` after each tile (once, ``(1, 1)``,
            for a whole image).
        overlap: pixels shared by neighbouring tiles (multiple of 16, < tile); None
            means :data:`~mssnet.runtime.tiling.DEFAULT_OVERLAP`, at most half the tile.
        backend: ``"auto"``, ``"torch"`` or ``"openvino"``; None: the current default
            (:func:`mssnet.runtime.backend.default_backend`, normally ``"auto"``).

    Returns:
        (B, 3, H, W) float32 in [0, 1].
    """
    return _run(model, x, precision, tile, progress, overlap, stages=False, backend=backend)[0]


def sharpen_tensor_stages(model: nn.Module, x: Tensor, **options: Any) -> tuple[Tensor, list[Tensor]]:
    """:func:`sharpen_tensor` and MSSNet's six stage outputs -> ``(output, stages)``.

    ``options``: :func:`sharpen_tensor`'s keywords (precision, tile, progress, overlap, backend).
    Each stage (B, 3, H, W) float32 in [0, 1], the first (half resolution inside the
    model) upsampled with bicubic interpolation; ``output`` is the last stage.
    """
    outs = _run(model, x, **_options(**options), stages=True)
    return outs[-1], outs


def _options(precision: str = "auto", tile: int | None = None, progress: Progress | None = None,
             overlap: int | None = None, backend: str | None = None) -> dict[str, Any]:
    """:func:`sharpen_tensor`'s keywords with their defaults (a TypeError names an unknown one)."""
    return {"precision": precision, "tile": tile, "progress": progress, "overlap": overlap, "backend": backend}


def _image_to_tensor(image: np.ndarray) -> tuple[Tensor, np.ndarray | None]:
    """Check ``image`` and split it: (H, W[, C]) -> RGB (1, 3, H, W) float32, alpha (H, W) or None."""
    if isinstance(image, Tensor):
        raise TypeError("image must be a NumPy array; use sharpen_tensor() for (B, 3, H, W) tensors")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a NumPy array; got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"image dtype must be uint8, uint16 or floating; got {image.dtype}")
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C); got {image.ndim} dims, shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must have 1, 3 or 4 channels; got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"image must not be empty; got shape {image.shape}")

    if image.dtype == np.uint8:
        rgb = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        rgb = image.astype(np.float32) / 65535.0
    else:
        if not np.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values")
        lo, hi = float(image.min()), float(image.max())
        if lo < -FLOAT_SLACK or hi > 1 + FLOAT_SLACK:
            raise ValueError(
                f"float images must have values in [0, 1]; got [{lo:g}, {hi:g}] (0-255 data should be uint8)"
            )
        rgb = np.clip(image, 0.0, 1.0).astype(np.float32)
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    alpha = image[:, :, 3] if rgb.shape[2] == 4 else None
    rgb = np.broadcast_to(rgb[:, :, :1], rgb.shape[:2] + (3,)) if rgb.shape[2] == 1 else rgb[:, :, :3]
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]  # (1, 3, H, W)
    return x, alpha


def _tensor_to_image(y: Tensor, like: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """y: (1, 3, H, W) float in [0, 1] -> array with ``like``'s dtype and channel layout."""
    rgb = y[0].permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
    if like.ndim == 2 or like.shape[2] == 1:
        rgb = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601 luma, as OpenCV: (H, W)
        rgb = np.clip(rgb, 0.0, 1.0)
        rgb = rgb if like.ndim == 2 else rgb[:, :, None]
    if like.dtype == np.uint8:
        out = np.rint(rgb * 255.0).astype(np.uint8)
    elif like.dtype == np.uint16:
        out = np.rint(rgb * 65535.0).astype(np.uint16)
    else:
        out = rgb.astype(like.dtype)
    if alpha is not None:
        out = np.concatenate([out, alpha[:, :, None]], axis=2)  # (H, W, 4), alpha unchanged
    return out


def sharpen(
    model: nn.Module,
    image: np.ndarray,
    precision: str = "auto",
    tile: int | None = None,
    progress: Progress | None = None,
    overlap: int | None = None,
    backend: str | None = None,
) -> np.ndarray:
    """Sharpen one image with MSSNet; the result has the input's dtype and layout.

    Args:
        model: an MSSNet in eval mode; the image goes to the model's device.
        image: (H, W) gray, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; uint8,
            uint16 or float with values in [0, 1] (small bicubic overshoot is
            clipped); any H, W >= 1.
        precision, tile, progress, overlap, backend: as in :func:`sharpen_tensor`.

    Returns:
        The sharpened image, same shape and dtype as ``image`` (gray in, gray out
        via BT.601 luma; alpha copied unchanged; integers rounded; float16/32/64
        kept).
    """
    x, alpha = _image_to_tensor(image)
    y = sharpen_tensor(model, x, precision, tile, progress, overlap, backend)
    return _tensor_to_image(y, image, alpha)


def sharpen_stages(model: nn.Module, image: np.ndarray, **options: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`sharpen` and MSSNet's six stage outputs -> ``(image, stages)``.

    ``options``: :func:`sharpen_tensor`'s keywords. ``image`` as :func:`sharpen` returns it;
    ``stages``: six (H, W, 3) float32 arrays in [0, 1], the first (half resolution inside the
    model) upsampled to (H, W) with bicubic interpolation.
    """
    x, alpha = _image_to_tensor(image)
    y, stage_tensors = sharpen_tensor_stages(model, x, **options)
    stage_images = [s[0].permute(1, 2, 0).cpu().numpy() for s in stage_tensors]  # six (H, W, 3)
    return _tensor_to_image(y, image, alpha), stage_images
