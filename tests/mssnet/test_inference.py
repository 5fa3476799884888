"""Tests for mssnet.runtime.inference: conversion, padding, tiling, precision, stages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from fakes import Identity

from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.runtime import inference, precision, tiling
from mssnet.runtime.inference import resolve_precision, sharpen, sharpen_stages, sharpen_tensor, sharpen_tensor_stages
from mssnet.runtime.tiling import tile_count


@pytest.fixture(scope="module")
def model() -> MSSNet:
    """Random-init MSSNet-small with output heads scaled to a trained model's correction size.

    With PyTorch's default init every stage adds a correction of about 0.8 to its
    input, where trained deblurring weights add a few hundredths; tile-edge effects
    scale with that correction, so the heads (the last, linear convolutions) are
    scaled by 0.1 to judge them at a realistic size.
    """
    torch.manual_seed(0)
    net = MSSNet(MSSNetConfig.preset("small")).eval()
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.startswith("tail"):
                param.mul_(0.1)
    return net


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w, 3) float32 in [0.1, 0.9]: a few smooth colour waves, like an out-of-focus photo."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / 128.0
    channels = []
    for _ in range(3):
        fy, fx, phase = rng.uniform(0.5, 3.0, 3)
        channels.append(
            0.5 + 0.2 * np.sin(fy * yy + phase) * np.cos(fx * xx) + 0.2 * np.sin(fx * yy - fy * xx)
        )
    return np.stack(channels, axis=-1).astype(np.float32)


def as_dtype(image: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.rint(image * 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(image * 65535).astype(np.uint16)
    return image.astype(dtype)


# --------------------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_shape_and_dtype_kept(model, dtype):
    image = as_dtype(smooth_image(32, 48), dtype)
    out = sharpen(model, image, precision="fp32")
    assert out.shape == (32, 48, 3)
    assert out.dtype == dtype
    if np.issubdtype(dtype, np.floating):
        assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("shape", [(32, 48), (32, 48, 1)])
def test_gray_stays_gray(model, shape):
    image = as_dtype(smooth_image(32, 48)[:, :, 0].reshape(shape), np.uint8)
    assert sharpen(model, image, precision="fp32").shape == shape


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_alpha_copied_exactly(model, dtype):
    rgb = smooth_image(32, 48)
    alpha = np.linspace(0, 1, 32 * 48, dtype=np.float32).reshape(32, 48, 1)
    image = as_dtype(np.concatenate([rgb, alpha], axis=2), dtype)
    before = image.copy()
    out = sharpen(model, image, precision="fp32")
    assert out.shape == (32, 48, 4) and out.dtype == dtype
    np.testing.assert_array_equal(out[:, :, 3], image[:, :, 3])
    np.testing.assert_array_equal(image, before)  # the caller's array is not modified


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 3), (1, 40, 3), (17, 1)])
def test_tiny_images(model, shape):
    image = as_dtype(np.random.default_rng(1).uniform(0.2, 0.8, shape), np.uint8)
    out = sharpen(model, image, precision="fp32")
    assert out.shape == shape and out.dtype == np.uint8


def test_float_overshoot_is_clipped():
    image = smooth_image(16, 16)
    image[0, 0] = [1.2, -0.1, 0.5]  # bicubic ringing
    out = sharpen(Identity(), image)
    np.testing.assert_array_equal(out[0, 0], [1.0, 0.0, 0.5])


# --------------------------------------------------------------------------- identity model, padding


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 3), (20, 37, 3), (20, 37), (20, 37, 1), (20, 37, 4)])
def test_identity_model_returns_input(shape, dtype):
    image = as_dtype(np.random.default_rng(2).uniform(0, 1, shape), dtype)
    out = sharpen(Identity(), image)
    assert out.dtype == image.dtype
    np.testing.assert_allclose(out, image, atol=1e-6 if dtype == np.float32 else 0)


def test_identity_model_float64_within_float32_precision():
    image = np.random.default_rng(3).uniform(0, 1, (9, 11, 3))
    out = sharpen(Identity(), image)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, image, atol=1e-7)


def test_padding_is_reflect_at_bottom_and_right():
    image = np.random.default_rng(4).uniform(0, 1, (20, 37, 3)).astype(np.float32)
    identity = Identity()
    sharpen(identity, image)
    (seen,) = identity.seen
    assert seen.shape == (1, 3, 32, 48)
    expected = np.pad(image, ((0, 12), (0, 11), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(seen[0].permute(1, 2, 0).numpy(), expected)


@pytest.mark.parametrize("size", [1, 2, 5, 7, 15, 16, 17])
def test_pad_to_multiple_tiny(size):
    x = torch.arange(size * 3, dtype=torch.float32).reshape(1, 1, size, 3)
    padded = tiling.pad_to_multiple(x)
    assert padded.shape[-2:] == (-(-size // 16) * 16, 16)
    torch.testing.assert_close(padded[..., :size, :3], x)
    assert set(padded.unique().tolist()) <= set(x.unique().tolist())  # only pixels of the image
    if size % 16 and size > 1:  # reflected: the row after the last is the one before it
        torch.testing.assert_close(padded[..., size, :3], x[..., size - 2, :])


# --------------------------------------------------------------------------- tiling


@pytest.mark.parametrize(
    ("length", "tile", "overlap"),
    [(32, 64, 32), (512, 256, 128), (1040, 1024, 192), (4096, 1024, 192), (416, 320, 192), (96, 64, 48)],
)
def test_tile_layout_covers_with_overlap(length, tile, overlap):
    side, starts = tiling._tile_layout(length, tile, overlap)
    assert side == length if length <= tile else side <= tile
    assert side % 16 == 0
    assert starts[0] == 0 and starts[-1] + side == length
    assert all(s % 16 == 0 for s in starts)
    assert all(b - a <= side - overlap for a, b in itertools.pairwise(starts))  # overlap at least `overlap`


def test_ramp_weights_sum_to_one_and_image_borders_are_not_feathered():
    first = tiling._ramp(256, 96, rise=False, fall=True)
    second = tiling._ramp(256, 96, rise=True, fall=False)
    assert first[0] == 1 and second[-1] == 1  # image borders keep full weight
    torch.testing.assert_close(first[-96:] + second[:96], torch.ones(96))
    assert second[:40].max() == 0  # pixels next to a shared edge are dropped
    assert torch.all(torch.diff(second[:96]) >= 0)


def test_tiled_equals_whole(model):
    image = smooth_image(384, 512)
    whole = sharpen(model, image, precision="fp32")
    calls = []
    tiled = sharpen(model, image, precision="fp32", tile=256, progress=lambda *a: calls.append(a))
    assert calls == [(i, 6) for i in range(1, 7)]  # 2 x 3 tiles: both kinds of seam and 4-tile corners
    assert np.abs(tiled - whole).max() <= 1 / 255
    assert np.abs(whole - image).mean() > 0.01  # the model does change the image


def test_identity_tiled_with_default_overlap_is_exact():
    image = np.random.default_rng(5).uniform(0, 1, (150, 200, 3)).astype(np.float32)
    np.testing.assert_allclose(sharpen(Identity(), image, tile=64), image, atol=1e-6)


def test_progress_counts_tiles():
    calls = []
    sharpen(
        Identity(), np.zeros((100, 150, 3), np.uint8), tile=64, progress=lambda d, t: calls.append((d, t))
    )
    total = calls[-1][1]
    assert total > 1 and calls == [(i, total) for i in range(1, total + 1)]
    calls.clear()
    sharpen(Identity(), np.zeros((100, 150, 3), np.uint8), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 1)]


def test_tile_count_matches_progress():
    for h, w, tile in [(1, 1, None), (100, 100, None), (800, 900, None), (300, 500, 128), (64, 1000, 256)]:
        totals: list[int] = []
        sharpen_tensor(Identity(), torch.zeros(1, 3, h, w), tile=tile, progress=lambda _d, t, out=totals: out.append(t))
        assert totals[-1] == tile_count(h, w, tile)


# --------------------------------------------------------------------------- stages


def test_stages(model):
    image = as_dtype(smooth_image(40, 56)[:, :, 0], np.uint8)  # gray
    out, stages = sharpen_stages(model, image, precision="fp32")
    assert out.shape == (40, 56) and out.dtype == np.uint8
    assert len(stages) == 6
    for stage in stages:
        assert stage.shape == (40, 56, 3) and stage.dtype == np.float32
        assert stage.min() >= 0 and stage.max() <= 1
    np.testing.assert_allclose(sharpen(model, image, precision="fp32"), out, atol=1)


def test_stages_tiled_identity():
    image = np.random.default_rng(6).uniform(0.2, 0.8, (80, 100, 3)).astype(np.float32)
    out, stages = sharpen_stages(Identity(), image, tile=64)
    np.testing.assert_allclose(out, image, atol=1e-6)
    np.testing.assert_allclose(stages[-1], image, atol=1e-6)
    assert stages[0].shape == image.shape  # half resolution upsampled back


# --------------------------------------------------------------------------- tensor level


def test_sharpen_tensor(model):
    x = torch.rand(2, 3, 20, 30)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    y = sharpen_tensor(model, x, precision="fp32")
    assert y.shape == x.shape and y.dtype == torch.float32
    assert not y.is_inference()
    # the model keeps its values and still works with autograd (explain/ needs gradients)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    inp = torch.rand(1, 3, 16, 16, requires_grad=True)
    model(inp).sum().backward()
    assert inp.grad is not None


def test_sharpen_tensor_batch_matches_single(model):
    x = torch.rand(2, 3, 16, 32)
    both = sharpen_tensor(model, x, precision="fp32")
    torch.testing.assert_close(both[1:], sharpen_tensor(model, x[1:], precision="fp32"), atol=1e-5, rtol=0)


def test_bf16_runs(model):
    image = smooth_image(16, 32)
    out = sharpen(model, image, precision="bf16")
    assert out.shape == image.shape and out.dtype == np.float32 and np.isfinite(out).all()


# --------------------------------------------------------------------------- precision


def test_resolve_precision(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", torch.device("meta")) == "fp32"
    monkeypatch.setattr(precision, "_cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(precision, "_cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", "cpu")


@pytest.mark.parametrize(("cap", "expected"), [("avx2", "fp32"), ("AVX512_CORE", "fp32"),
                                              ("AVX512_CORE_BF16", "bf16"), ("ALL", "bf16"), ("", "bf16")])
def test_isa_cap_below_bf16_means_fp32(monkeypatch, cap, expected):
    """Kernels held to AVX2 (``ONEDNN_MAX_CPU_ISA``) emulate bf16, so auto picks fp32 there."""
    monkeypatch.setattr(precision, "_cpu_has_fast_bf16", lambda: True)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert resolve_precision("auto", "cpu") == expected
    assert precision.isa_cap() == (cap.upper() or None)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [("fpu sse avx2 fma", False), ("fpu avx512f avx512_bf16", True), ("fpu amx_bf16 amx_tile", True)],
)
def test_cpu_flags(tmp_path, flags, expected):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n")
    assert precision._cpu_has_fast_bf16(str(path)) is expected


def test_cpu_flags_unreadable_means_fp32(tmp_path):
    assert precision._cpu_has_fast_bf16(str(tmp_path / "missing")) is False


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        ([[0.5]], TypeError, "NumPy array; got list"),
        (torch.rand(1, 3, 16, 16), TypeError, "sharpen_tensor"),
        (np.zeros((8, 8, 3), bool), TypeError, "got bool"),
        (np.zeros((8, 8, 3), np.complex64), TypeError, "got complex64"),
        (np.zeros((8, 8, 3), object), TypeError, "got object"),
        (np.zeros((8, 8, 3), np.int32), TypeError, "uint8, uint16 or floating; got int32"),
        (np.zeros(8, np.uint8), ValueError, "got 1 dims"),
        (np.zeros((1, 8, 8, 3), np.uint8), ValueError, "got 4 dims"),
        (np.zeros((8, 8, 2), np.uint8), ValueError, "1, 3 or 4 channels; got shape"),
        (np.zeros((0, 8, 3), np.uint8), ValueError, "empty"),
        (np.full((8, 8, 3), np.nan, np.float32), ValueError, "NaN"),
        (np.full((8, 8, 3), np.inf), ValueError, "infinite"),
        (np.full((8, 8, 3), 255.0, np.float32), ValueError, r"values in \[0, 1\]; got \[255, 255\]"),
    ],
)
def test_bad_images(image, error, message):
    with pytest.raises(error, match=message):
        sharpen(Identity(), image)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"precision": "fp16"}, ValueError, "'fp16'"),
        ({"tile": 100}, ValueError, "multiple of 16 and >= 64; got 100"),
        ({"tile": 48}, ValueError, "got 48"),
        ({"tile": 64.0}, TypeError, "got float"),
        ({"tile": True}, TypeError, "got bool"),
        ({"tile": 64, "overlap": 64}, ValueError, "overlap must be a multiple of 16 between 0 and 48; got 64"),
        ({"overlap": 20}, ValueError, "multiple of 16"),
    ],
)
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        sharpen(Identity(), np.zeros((8, 8, 3), np.uint8), **kwargs)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((1, 3, 8, 8), np.float32), TypeError, "torch.Tensor"),
        (torch.rand(3, 8, 8), ValueError, r"\(B, 3, H, W\); got \(3, 8, 8\)"),
        (torch.rand(1, 4, 8, 8), ValueError, r"got \(1, 4, 8, 8\)"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError, "got torch.uint8"),
        (torch.zeros(1, 3, 0, 8), ValueError, "empty"),
        (torch.full((1, 3, 8, 8), float("nan")), ValueError, "NaN"),
    ],
)
def test_bad_tensors(x, error, message):
    with pytest.raises(error, match=message):
        sharpen_tensor(Identity(), x)


def test_sharpen_tensor_stages_ends_with_the_output(model):
    x = torch.rand(1, 3, 24, 40)
    out, stages = sharpen_tensor_stages(model, x, precision="fp32")
    assert len(stages) == 6 and all(s.shape == x.shape for s in stages) and stages[-1] is out
    torch.testing.assert_close(out, sharpen_tensor(model, x, precision="fp32"), atol=1e-5, rtol=0)


def test_backend_reaches_the_numpy_edge(monkeypatch):
    """sharpen/sharpen_stages hand ``backend`` on; an unknown one is refused before any work."""
    image = as_dtype(smooth_image(20, 24), np.uint8)
    for fn in (sharpen, sharpen_stages):
        with pytest.raises(ValueError, match="backend"):
            fn(Identity(), image, backend="onnxruntime")
    seen = []
    real = inference.resolve_backend
    monkeypatch.setattr(inference, "resolve_backend", lambda m, b: seen.append(b) or real(m, b))
    out = sharpen(Identity(), image, backend="torch")
    np.testing.assert_array_equal(out, image)  # an Identity in PyTorch
    sharpen_stages(Identity(), image, backend="openvino")  # not an MSSNet: PyTorch, with a warning
    assert seen == ["torch", "openvino"]
