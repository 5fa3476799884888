"""Tests for mssnet.model.strength and mssnet.train.calibrate: the calibrated correction strength per zoom-step factor,
its storage in the weights file, and its use by the zoom pyramid and the CLI."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mssnet
from mssnet.model.keys import weights_key
from mssnet.model.strength import (
    LEVEL_KEY,
    LIMITS,
    METADATA_KEY,
    decode_levels,
    decode_table,
    encode_table,
    format_levels,
    format_table,
    level_strengths,
    model_strength,
    optimal_strength,
    strength_at,
)
from mssnet.pyramid.levels import pyramid_zoom_image
from mssnet.pyramid.pyramid import ZoomPyramid
from mssnet.pyramid.resampling import enlarge_2x
from mssnet.train.calibrate import _training_crops, calibrate, calibrate_levels
from mssnet.train.degrade import quantize8, shrink


class Unsharp(nn.Module):
    """Stands in for MSSNet: x + amount · (x − size×size box blur of x), every stage the same."""

    def __init__(self, amount: float, size: int = 3) -> None:
        super().__init__()
        self.amount, self.size = amount, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.size // 2
        blur = F.avg_pool2d(F.pad(x, (r, r, r, r), mode="replicate"), self.size, stride=1)
        out = x + self.amount * (x - blur)
        return out

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = self(x)
        return [F.avg_pool2d(out, 2)] + [out] * 5


class Brighten(nn.Module):
    """Stands in for MSSNet: adds 0.2 everywhere (a correction that is easy to measure)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + 0.2
        return out

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = self(x)
        return [F.avg_pool2d(out, 2)] + [out] * 5


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Two (H, W, 3) uint8 photographs with texture and edges."""
    import skimage.data

    return [skimage.data.astronaut()[:256, :256], skimage.data.chelsea()[:256, :256]]


def test_strength_at_interpolates_in_log_factor_and_clamps():
    table = {1.0: 0.0, 2.0: 1.0, 4.0: 1.5}
    assert strength_at(table, 2 ** 0.5) == pytest.approx(0.5)
    assert strength_at(table, 2 ** 1.5) == pytest.approx(1.25)
    assert strength_at(table, 2.0) == pytest.approx(1.0)
    assert strength_at(table, 0.5) == 0.0  # below the grid: the first entry
    assert strength_at(table, 8.0) == 1.5  # above: the last
    assert strength_at(None, 3.0) == strength_at({}, 3.0) == 1.0


def test_table_round_trip_and_malformed_metadata():
    table = {1.0: 0.0, 1.5: 0.61234, 2.0: 1.43}
    back = decode_table(encode_table(table))
    assert back == pytest.approx({1.0: 0.0, 1.5: 0.6123, 2.0: 1.43})
    assert decode_table(None) is None and decode_table("") is None
    for bad in ("not json", "[1, 2]", "{}", '{"x": 1}', '{"-1": 1}', '{"2": NaN}', '{"2": -0.5}', '{"2": 50}'):
        with pytest.warns(UserWarning, match="malformed"):
            assert decode_table(bad) is None


def test_optimal_strength_is_least_squares_and_clipped():
    rng = np.random.default_rng(0)
    d = rng.normal(size=1000)
    r = 0.7 * d + 0.01 * rng.normal(size=1000)  # the ideal correction is 0.7 × d
    assert optimal_strength(float(d @ r), float(d @ d)) == pytest.approx(0.7, abs=0.01)
    assert optimal_strength(5.0, 1.0) == LIMITS[1]
    assert optimal_strength(-1.0, 1.0) == 0.0
    assert optimal_strength(1.0, 0.0) == 1.0  # a model that changes nothing


def test_calibration_undoes_the_models_own_amount(photos):
    """α·amount is what matters: a model that sharpens twice as hard gets half the strength;
    at ×1 (no zoom blur) there is nothing to undo, so α is 0."""
    factors = (1.0, 1.5, 2.0)
    mild = calibrate(Unsharp(0.5), photos, factors, crops=6, crop=96, progress=False)
    hard = calibrate(Unsharp(1.0), photos, factors, crops=6, crop=96, progress=False)
    assert mild[1.0] == hard[1.0] == 0.0
    assert mild[2.0] > 0.1
    for s in (1.5, 2.0):
        assert mild[s] == pytest.approx(2 * hard[s], rel=0.02)  # not exact: outputs are clipped to [0, 1]
    assert mild[2.0] > mild[1.5]  # more blur, more of the correction


def test_calibration_lowers_the_error(photos):
    """Applying the calibrated α is closer to the sharp crops than the model as is."""
    from mssnet.train.degrade import enlarge, shrink

    net = Unsharp(3.0)  # over-sharpens a 1.5× zoom
    alpha = calibrate(net, photos, (1.5,), crops=4, crop=128, progress=False)[1.5]
    assert 0 < alpha < 1
    y = torch.from_numpy(photos[1][64:192, 64:192].astype(np.float32) / 255).permute(2, 0, 1)[None]
    x = enlarge(torch.round(shrink(y, 1.5) * 255) / 255, (128, 128)).clamp(0, 1)
    d = net(x) - x
    assert F.mse_loss(x + alpha * d, y) < F.mse_loss(x + d, y)


def test_calibration_needs_images():
    with pytest.raises(ValueError, match="at least one image"):
        calibrate(Unsharp(1.0), [], progress=False)
    with pytest.raises(ValueError, match="crops"):
        calibrate(Unsharp(1.0), [np.zeros((32, 32, 3), np.uint8)], crops=0, progress=False)
    with pytest.raises(ValueError, match="16×16"):
        calibrate(Unsharp(1.0), [np.zeros((8, 40, 3), np.uint8)], progress=False)


def test_weights_file_carries_the_table(tmp_path, tiny_weights):
    model = mssnet.load_model(tiny_weights)
    assert model.zoom_strength is None and model_strength(model, 1.5) == 1.0
    model.zoom_strength = {1.0: 0.0, 2.0: 1.2}
    path = mssnet.save_safetensors(model, tmp_path / "cal.safetensors", metadata={"steps": "3"})
    again = mssnet.load_model(path)
    assert again.zoom_strength == {1.0: 0.0, 2.0: 1.2}
    assert model_strength(again, 2 ** 0.5) == pytest.approx(0.6)
    _, meta = mssnet.model.weights.read_state_dict(path)
    assert meta["steps"] == "3" and METADATA_KEY in meta
    # an explicit metadata entry wins over the model's table
    path2 = mssnet.save_safetensors(model, tmp_path / "b.safetensors", metadata={METADATA_KEY: encode_table({1: 1})})
    assert mssnet.load_model(path2).zoom_strength == {1.0: 1.0}


def test_bundled_weights_are_calibrated():
    """The bundled weights carry a table: no correction at ×1, the full range in between."""
    model = mssnet.load_model()
    table = model.zoom_strength
    assert table is not None and min(table) == 1.0 and max(table) >= 2.0
    assert table[1.0] < 0.2
    assert all(0 <= v <= 2 for v in table.values())
    assert model_strength(model, 2.0) > model_strength(model, 1.25)


def test_cli_strength(tmp_path, tiny_weights):
    rng = np.random.default_rng(1)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), (rng.random((24, 32, 3)) * 255).astype(np.uint8))
    base = [sys.executable, "-m", "mssnet", "zoom", str(src), "--zoom", "2", "--weights", str(tiny_weights)]
    run = subprocess.run(base + ["-o", str(tmp_path / "zero.png"), "--strength", "0"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    bic = subprocess.run(base + ["-o", str(tmp_path / "bic.png"), "--method", "bicubic"], capture_output=True)
    assert bic.returncode == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "zero.png")), cv2.imread(str(tmp_path / "bic.png")))
    for value in ("-1", "nan", "5"):
        bad = subprocess.run(base + ["-o", str(tmp_path / "x.png"), "--strength", value],
                             capture_output=True, text=True)
        assert bad.returncode == 2 and "--strength" in bad.stderr


def test_calibration_command_writes_calibrated_weights(tmp_path, tiny_weights, capsys):
    from PIL import Image

    from mssnet.model.strength import GRID
    from mssnet.train.calibrate import main

    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(2)
    for name in ("a.png", "b.png", "astronaut.png"):  # astronaut.png is held out: never used
        Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).save(data / name)
    out = tmp_path / "cal.safetensors"
    assert main([str(tiny_weights), "--no-package-images", "--data", str(data), "--crops", "2", "--crop", "32",
                 "--out", str(out)]) == 0
    calibrated = mssnet.load_model(out)
    table = calibrated.zoom_strength
    assert sorted(table) == list(GRID) and all(LIMITS[0] <= v <= LIMITS[1] for v in table.values())
    assert sorted(calibrated.level_strength) == [1, 2, 3]
    printed = capsys.readouterr().out
    assert "step factor" in printed and "pyramid levels: level 1" in printed
    with pytest.raises(SystemExit):
        main([str(tiny_weights), "--crop", "8"])


def test_format_table_sorts_and_rounds():
    assert format_table({2.0: 1.094, 1.0: 0.0, 1.5: 0.371}) == "×1 0.00, ×1.5 0.37, ×2 1.09"
    assert format_table(None) == format_table({}) == "none (α = 1)"


def test_level_strengths_fall_back_to_the_2x_strength_and_extend_the_last_level():
    net = Brighten()
    assert level_strengths(net, 3) == (1.0, 1.0, 1.0)  # no table at all: MSSNet as is
    net.zoom_strength = {1.0: 0.0, 2.0: 1.2, 4.0: 2.0}
    assert level_strengths(net, 3) == pytest.approx((1.2, 1.2, 1.2))  # α(2) at every level
    net.level_strength = {1: 1.1, 2: 0.7}
    assert level_strengths(net, 3) == pytest.approx((1.1, 0.7, 0.7))
    net.level_strength = {2: 0.7}  # a level below the first entry takes the first entry
    assert level_strengths(net, 2) == pytest.approx((0.7, 0.7))
    assert format_levels({2: 0.734, 1: 1.05}) == "level 1 1.05, level 2 0.73"
    assert format_levels(None) == "none (α(2) at every level)"


def test_level_table_codec_refuses_malformed_metadata():
    assert decode_levels(encode_table({1: 1.05, 2: 0.73})) == {1: 1.05, 2: 0.73}
    assert decode_levels(None) is None
    for bad in ('{"1.5": 1.0}', '{"0": 1.0}', '{"1": 9}', "[1, 2]", "not json"):
        with pytest.warns(UserWarning, match=LEVEL_KEY):
            assert decode_levels(bad) is None


def test_pyramid_applies_each_levels_strength():
    image = np.full((40, 60, 3), 0.3, np.float32)
    net = Brighten()  # MSSNet(x) − x = 0.2 everywhere
    net.zoom_strength = {1.0: 0.0, 2.0: 1.0}
    net.level_strength = {1: 0.5, 2: 0.25}
    out = pyramid_zoom_image(net, image, 4.0)
    assert np.allclose(out, 0.3 + 0.5 * 0.2 + 0.25 * 0.2, atol=1e-5)
    assert np.allclose(pyramid_zoom_image(net, image, 2.0), 0.4, atol=1e-5)
    assert np.allclose(pyramid_zoom_image(net, image, 4.0, strength=1.0), 0.7, atol=1e-5)  # every level
    view = ZoomPyramid(image, net, tile=64, margin=16).view(8.0, None, (32, 32))
    assert view.strengths == pytest.approx((0.5, 0.25, 0.25))
    assert np.allclose(view.sharpened, 0.3 + 0.2 * (0.5 + 0.25 + 0.25), atol=1e-5)
    before = weights_key(net)
    net.level_strength = {1: 0.5, 2: 0.3}
    assert weights_key(net) != before  # cached tiles of other strengths are not reused


def test_level_calibration_is_least_squares_on_the_pyramid(photos):
    """Each level's α minimises the squared error of that level over the calibration crops, with
    the levels below at theirs; level 1 is the 2× entry of the factor table."""
    net = Unsharp(0.2, size=9)  # a stand-in whose level-2 optimum lies inside the limits
    levels = calibrate_levels(net, photos, levels=2, crops=3, crop=64, seed=5, progress=False)
    assert LIMITS[0] < levels[2] < levels[1] < LIMITS[1]
    factors = calibrate(net, photos, factors=(2.0,), crops=3, crop=64, seed=5, progress=False)
    assert levels[1] == pytest.approx(factors[2.0], abs=0.05)  # OpenCV's vs torch's bicubic at the borders


    sharp = _training_crops(photos, 3, 64, 5, multiple=4)

    def error(a2: float) -> float:
        total = 0.0
        for i in range(3):
            y = sharp[i : i + 1]
            level = quantize8(shrink(y, 4.0))[0].permute(1, 2, 0).numpy()
            for k, a in ((1, levels[1]), (2, a2)):
                x = enlarge_2x(level)
                d = net(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy() - x
                level = np.clip(x + a * d, 0, 1) if k == 1 else x + a * d  # the last level as the closed form has it
            total += float(((level - y[0].permute(1, 2, 0).numpy()) ** 2).sum())
        return total

    best = error(levels[2])
    assert best < error(levels[2] - 0.05) and best < error(levels[2] + 0.05)
    with pytest.raises(ValueError, match="levels"):
        calibrate_levels(net, photos, levels=4)


def test_weights_file_carries_the_level_table(tmp_path, tiny_weights):
    model = mssnet.load_model(tiny_weights)
    assert model.level_strength is None
    model.level_strength = {1: 1.05, 2: 0.75}
    again = mssnet.load_model(mssnet.save_safetensors(model, tmp_path / "lv.safetensors"))
    assert again.level_strength == {1: 1.05, 2: 0.75}


def test_bundled_weights_have_weaker_corrections_on_sharpened_levels():
    """Levels 2 and 3 enlarge an already sharpened level: less blur is left to undo there."""
    for preset in ("small", "tiny"):
        model = mssnet.load_model(preset=preset)
        a1, a2, a3 = level_strengths(model, 3)
        assert a1 == pytest.approx(model_strength(model, 2.0), abs=0.03)
        assert 0.3 < a3 < a2 < a1 < 1.5
