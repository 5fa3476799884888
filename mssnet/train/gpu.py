"""The prepared training run for a GPU machine: both presets, calibrated, scored, in one call.

    python -m mssnet.train.gpu --photos data/photos.npz --out OUT/ [--minutes-small 4.25 --minutes-tiny 2.5]

Builds on :mod:`mssnet.train.loop`: for small, then tiny, it continues the bundled weights on the
training photographs of the pack (:mod:`mssnet.train.photos`) for a budget of minutes of step
time, with batches cut and degraded on the device, bf16 autocast, channels_last, fused Adam and
the learning rate given for a batch of 32 scaled to the batch (√ rule); exports the EMA weights
with calibrated strengths; then scores every new file (and, with ``--score-bundled``, the
bundled ones) on the pack's held-out images at every zoom of :data:`mssnet.train.score.SCALES`.

Before the timed runs a preflight makes two steps of each preset, exports one without
calibration and scores one held-out image, so that a broken machine fails in seconds, not
minutes; a batch that does not fit the device's memory is halved until it does.

OUT receives, as soon as each is ready: ``mssnet-small-zoom.safetensors``,
``mssnet-tiny-zoom.safetensors``, ``log_small.csv``, ``log_tiny.csv`` and ``scores.md``
(everything else — checkpoints — stays in ``--work``). ``--device cpu --minutes-small 0.5
--minutes-tiny 0.5`` rehearses the whole run on a CPU.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..model.weights import WEIGHTS_DIR, load_model
from .config import TrainConfig
from .loop import device_name, export, setup, train_loop
from .photos import unpack
from .score import SCALES, gain_table, holdout_gains

__all__ = ["RECIPES", "main"]

#: Per preset: the learning rate for a batch of 32 (scaled to the batch) and the seed.
RECIPES = {"small": {"lr": 1.5e-4, "seed": 61}, "tiny": {"lr": 3e-4, "seed": 62}}


def base_config(args: argparse.Namespace, preset: str, work: Path) -> TrainConfig:
    """The training options of one preset's run."""
    recipe = RECIPES[preset]
    return TrainConfig(
        out=str(work / preset), no_package_images=True, preset=preset,
        init=str(Path(args.init_dir) / f"mssnet-{preset}-zoom.safetensors"),
        minutes=getattr(args, f"minutes_{preset}"), batch=args.batch, crop=args.crop, lr=recipe["lr"], lr_batch=32,
        warmup=args.warmup, scale_min=1.9, scale_max=2.1, eval_every=10**9, save_every=500,
        log_every=args.log_every, seed=recipe["seed"], calibrate_crops=args.calibrate_crops, device=args.device,
        precision="bf16", compile=args.compile, threads=args.threads,
    )


def preflight(cfg: TrainConfig, images: list[np.ndarray], holdout: list[np.ndarray]) -> TrainConfig:
    """Two steps, an export and one score on a scratch folder; returns ``cfg`` with a batch that fits."""
    while True:
        scratch = Path(cfg.out + "-preflight")
        shutil.rmtree(scratch, ignore_errors=True)
        trial = replace(cfg, out=str(scratch), steps=2, minutes=float("inf"), calibrate_crops=0, log_every=1)
        try:
            run = setup(trial, images, [])
            train_loop(run)
            path = export(run)
        except torch.cuda.OutOfMemoryError:
            if cfg.batch <= 8:
                raise
            print(f"batch {cfg.batch} does not fit; trying {cfg.batch // 2}", file=sys.stderr)
            cfg = replace(cfg, batch=cfg.batch // 2)
            run = None
            torch.cuda.empty_cache()
            continue
        model = load_model(path, device=cfg.device)
        benchmark, torch.backends.cudnn.benchmark = torch.backends.cudnn.benchmark, False
        holdout_gains({"preflight": model}, holdout[:1], scales=(2.0,), precision="fp32")
        torch.backends.cudnn.benchmark = benchmark
        shutil.rmtree(scratch, ignore_errors=True)
        return cfg


def throughput(log: Path) -> float:
    """Median crops per second of step time over a run's log rows (the first row, with warm-up, left out)."""
    import csv

    with open(log, newline="") as fh:
        rates = [float(r["crops_per_s"]) for r in csv.DictReader(fh)]
    return float(np.median(rates[1:] if len(rates) > 1 else rates))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mssnet.train.gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", required=True, help="a pack written by python -m mssnet.train.photos pack")
    p.add_argument("--out", required=True, help="folder for the weights, logs and score table")
    p.add_argument("--work", default="", help="folder for checkpoints (default: a temporary one)")
    p.add_argument("--init-dir", default=str(WEIGHTS_DIR), help="where the weights to continue are")
    p.add_argument("--presets", nargs="+", default=["small", "tiny"], choices=sorted(RECIPES))
    p.add_argument("--minutes-small", type=float, default=4.25, help="step time for small")
    p.add_argument("--minutes-tiny", type=float, default=2.5, help="step time for tiny")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--calibrate-crops", type=int, default=48)
    p.add_argument("--device", default="cuda")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="torch.compile the training forward pass")
    p.add_argument("--score-bundled", action="store_true", help="also score the weights the runs started from")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="mssnet-gpu-"))
    t_start = time.perf_counter()

    photos = unpack(args.photos)
    images, holdout = list(photos.train.values()), list(photos.holdout.values())
    if not holdout:
        raise SystemExit(f"{args.photos} has no held-out images to score on")
    device = torch.device(args.device)
    print(f"{len(images)} training and {len(holdout)} held-out images; device {device_name(device)}; "
          f"torch {torch.__version__}", file=sys.stderr)

    configs = {preset: preflight(base_config(args, preset, work), images, holdout) for preset in args.presets}
    print(f"preflight passed after {time.perf_counter() - t_start:.0f} s", file=sys.stderr)

    trained, summary = {}, []
    for preset, cfg in configs.items():
        run = setup(cfg, images, [])
        train_loop(run)
        path = export(run)
        shutil.copy(path, out / path.name)
        shutil.copy(Path(cfg.out) / "log.csv", out / f"log_{preset}.csv")
        trained[preset] = path
        summary.append(f"| {preset} | {device_name(device)} | {cfg.batch} × {cfg.crop}² | {cfg.peak_lr():.2e} | "
                       f"{run.step} | {run.step * cfg.batch:,} | {run.elapsed / 60:.2f} | "
                       f"{throughput(Path(cfg.out) / 'log.csv'):.0f} |")
        del run
        if device.type == "cuda":
            torch.cuda.empty_cache()
        print(f"{preset} done after {time.perf_counter() - t_start:.0f} s", file=sys.stderr)

    report = ["| preset | device | batch | peak lr | steps | crops seen | minutes of steps | crops/s (median) |",
              "|---|---|---|---|---|---|---|---|", *summary, "",
              f"Held-out gain over bicubic (dB, {len(holdout)} images, zoom pyramid, fp32 on {device_name(device)}):",
              ""]
    (out / "scores.md").write_text("\n".join(report) + "\n")
    # the pyramid's tiles come in many shapes: autotuning each one costs more than it saves
    torch.backends.cudnn.benchmark = False
    gains: dict[str, dict[float, float]] = {}
    for preset, path in trained.items():
        sources = {f"{preset}, bundled": Path(args.init_dir) / path.name} if args.score_bundled else {}
        for label, weights in {**sources, f"{preset}, new": path}.items():
            gains.update(holdout_gains({label: load_model(weights, device=args.device)}, holdout, SCALES, "fp32"))
            (out / "scores.md").write_text("\n".join(report + [gain_table(gains), ""]))
    print("\n".join(report + [gain_table(gains)]))
    print(f"total {time.perf_counter() - t_start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
