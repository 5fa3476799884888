"""The prepared GPU run (mssnet.train.gpu), rehearsed on the CPU at toy size: both presets train from the
bundled weights, export calibrated files, log their throughput and are scored at every zoom."""

import csv

import numpy as np
from PIL import Image

from mssnet.model.weights import load_model
from mssnet.train import gpu, photos


def test_prepared_run_rehearses_end_to_end_on_the_cpu(tmp_path):
    rng = np.random.default_rng(0)
    for part, name, side in (("train", "a.png", 64), ("train", "b.png", 80), ("holdout", "c.png", 48)):
        (tmp_path / "f" / part).mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((side, side, 3)) * 255).astype(np.uint8)).save(tmp_path / "f" / part / name)
    pack = photos.pack(tmp_path / "f", tmp_path / "photos.npz")
    out = tmp_path / "out"
    assert gpu.main(["--photos", str(pack), "--out", str(out), "--work", str(tmp_path / "work"), "--device", "cpu",
                     "--minutes-small", "0.002", "--minutes-tiny", "0.002", "--batch", "2", "--crop", "32",
                     "--log-every", "1", "--calibrate-crops", "1", "--warmup", "1", "--score-bundled"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["log_small.csv", "log_tiny.csv", "mssnet-small-zoom.safetensors",
                                                     "mssnet-tiny-zoom.safetensors", "scores.md"]
    for preset in ("small", "tiny"):
        model = load_model(out / f"mssnet-{preset}-zoom.safetensors")
        assert model.config.name == preset and model.zoom_strength and model.level_strength
        rows = list(csv.DictReader(open(out / f"log_{preset}.csv")))
        assert rows and all(float(r["crops_per_s"]) > 0 for r in rows)
    scores = (out / "scores.md").read_text()
    assert "| ×1.25 | ×1.5 | ×2 | ×2.5 | ×3 | ×4 |" in scores
    assert all(f"| {label} |" in scores for label in ("small, new", "small, bundled", "tiny, new", "tiny, bundled"))
    assert "crops/s" in scores
