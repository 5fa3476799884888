"""Training (mssnet.train.loop): loss, schedule, evaluation, short runs that learn, resume and export."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from mssnet import train
from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.model.weights import load_model


def test_loss_zero_for_perfect_outputs():
    target = torch.rand(2, 3, 32, 32)
    half = torch.nn.functional.interpolate(target, scale_factor=0.5, mode="bilinear", align_corners=False)
    assert train.mssnet_loss([half] + [target] * 5, target).item() < 1e-5
    assert train.mssnet_loss([half] + [target + 0.1] * 5, target).item() > 0.5


def test_lr_schedule():
    assert train.lr_at(0, 0.0, 1e-3, 10, 1e-6) == 1e-4
    assert abs(train.lr_at(50, 0.0, 1e-3, 10, 1e-6) - 1e-3) < 1e-12
    assert abs(train.lr_at(50, 1.0, 1e-3, 10, 1e-6) - 1e-6) < 1e-12


def test_learning_rate_scales_with_the_square_root_of_the_batch():
    assert train.TrainConfig(out="r", lr=2e-4, batch=128).peak_lr() == 2e-4  # lr_batch 0: as given
    assert abs(train.TrainConfig(out="r", lr=2e-4, batch=128, lr_batch=32).peak_lr() - 4e-4) < 1e-15


def test_psnr_y_known_value():
    a = torch.zeros(1, 3, 8, 8)
    b = a.clone()
    b[:, :, :, :] = 1.0  # Y spans 16..235 -> diff 219
    expected = 20 * np.log10(255 / 219)
    assert abs(train.psnr_y(a, b, 0) - expected) < 1e-6


def test_evaluate_identity_model_gains_nothing():
    class Identity(torch.nn.Module):
        def forward(self, x):
            return x

        def forward_stages(self, x):
            return [x] * 6

    rng = np.random.default_rng(0)
    im = (rng.random((100, 100, 3)) * 255).astype(np.uint8)
    gains = train.evaluate(Identity(), [im], scales=(2,), crop=96)
    assert set(gains) == {"gain_x2"} and abs(gains["gain_x2"]) < 1e-3  # OpenCV and torch bicubic agree


def test_two_step_run_resumes_and_exports(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(data / f"im{i}.png")
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(data / "held.png")
    out = tmp_path / "run"
    common = ["--out", str(out), "--data", str(data), "--no-package-images", "--holdout", "held.png",
              "--crop", "32", "--batch", "2", "--eval-every", "2", "--save-every", "1", "--warmup", "1",
              "--preset", "tiny", "--calibrate-crops", "2"]
    assert train.main(common + ["--steps", "2"]) == 0
    assert train.main(common + ["--steps", "3", "--resume"]) == 0
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [r["step"] for r in rows] == ["1", "2", "3"] and rows[1]["gain_x2"] != ""
    assert all(float(r["crops_per_s"]) > 0 for r in rows)
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 3
    model = load_model(out / "mssnet-tiny-zoom.safetensors")
    assert isinstance(model, MSSNet) and model.config == MSSNetConfig.preset("tiny")
    assert model.zoom_strength and model.level_strength  # the export carries its calibrated strengths
    assert "holdout\t" in (out / "data.txt").read_text()


def test_config_fields_become_options():
    cfg = train.parse_args(["--out", "runs/x", "--preset", "tiny", "--batch", "4", "--no-package-images",
                            "--data", "a", "b", "--device", "cpu", "--precision", "bf16"])
    assert isinstance(cfg, train.TrainConfig)
    assert (cfg.out, cfg.preset, cfg.batch, cfg.data, cfg.no_package_images) == ("runs/x", "tiny", 4, ["a", "b"], True)
    assert cfg.lr == train.TrainConfig().lr and cfg.holdout == list(train.HOLDOUT)
    assert cfg.network() == MSSNetConfig.preset("tiny") and cfg.export_name() == "mssnet-tiny-zoom.safetensors"
    custom = train.parse_args(["--out", "r", "--width", "6,12,12"])
    assert custom.network() == MSSNetConfig(6, 12, 12) and custom.export_name() == "mssnet-w6-12-12-zoom.safetensors"


@pytest.mark.parametrize("argv", [["--batch", "2"], ["--out", "r", "--width", "6,12"], ["--out", "r", "--batch", "0"],
                                  ["--out", "r", "--scale-min", "3", "--scale-max", "2"],
                                  ["--out", "r", "--preset", "huge"], ["--out", "r", "--precision", "fp8"]])
def test_bad_options_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as info:
        train.parse_args(argv)
    assert info.value.code == 2 and "usage" in capsys.readouterr().err


def test_custom_width_run_exports_its_widths(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)).save(data / "a.png")
    out = tmp_path / "run"
    assert train.main(["--out", str(out), "--data", str(data), "--no-package-images", "--crop", "32", "--batch", "1",
                       "--width", "4,4,4", "--steps", "1", "--calibrate-crops", "1", "--warmup", "1"]) == 0
    model = load_model(out / "mssnet-w4-4-4-zoom.safetensors")
    assert model.config == MSSNetConfig(4, 4, 4) and model.zoom_strength


def test_a_few_steps_on_the_cpu_lower_the_loss(tmp_path):
    """From random weights, 40 steps on one photo-like image: the mean loss of the last ten logged
    steps is clearly below that of the first ten."""
    rng = np.random.default_rng(2)
    y, x = np.mgrid[:96, :96]
    image = (127 + 60 * np.sin(x / 3.0)[..., None] * np.cos(y / 5.0)[..., None] + rng.normal(0, 8, (96, 96, 3)))
    cfg = train.TrainConfig(out=str(tmp_path / "run"), width="4,4,4", batch=4, crop=32, steps=40, lr=3e-3,
                            warmup=2, eval_every=10**6, save_every=10**6, calibrate_crops=0, seed=3)
    run = train.setup(cfg, [image.clip(0, 255).astype(np.uint8)], [])
    train.train_loop(run)
    losses = [float(r["loss"]) for r in csv.DictReader(open(tmp_path / "run" / "log.csv"))]
    assert len(losses) == 40 and np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])


def test_log_rows_every_n_steps_hold_the_mean_loss(tmp_path):
    rng = np.random.default_rng(5)
    image = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    cfg = train.TrainConfig(out=str(tmp_path / "run"), width="4,4,4", batch=2, crop=32, steps=7, log_every=3,
                            warmup=1, eval_every=10**6, calibrate_crops=0)
    train.train_loop(train.setup(cfg, [image], []))
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [r["step"] for r in rows] == ["3", "6", "7"]  # the last step is always logged
