"""Training throughput: batches cut on the device against batches cut on the host, same model step.

    python bench/train_speed.py [--photos data/photos.npz] [--presets small,tiny] [--batch 16] [--crop 128]
                                [--steps 5] [--rounds 3] [--device cpu] [--precision auto]

Two ways to make a batch, each followed by the same optimiser step (``mssnet.train.loop.optimise``):

* *host* — how training made batches before :mod:`mssnet.train.batches`: a Python loop over NumPy
  crops of the photographs (flips, rotations, flat crops redrawn), stacked, moved to the device,
  then the zoom degradation there;
* *device* — the photographs held on the device as uint8 and every batch cut, augmented and
  degraded there (:func:`mssnet.train.batches.degraded_batch`).

Rounds alternate the two paths, so both see the same machine load; each cell is the median over
rounds of crops per second over ``--steps`` steps (after one warm-up step). A second table times
making a batch alone. The photographs: the training images of ``--photos`` (a pack from
``python -m mssnet.train.photos``), else the package photographs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import cpu_kind  # noqa: E402

from mssnet.train.batches import FLAT_DROP, FLAT_GRADIENT, degraded_batch  # noqa: E402
from mssnet.train.config import TrainConfig  # noqa: E402
from mssnet.train.data import HOLDOUT, package_image_paths, read_rgb  # noqa: E402
from mssnet.train.degrade import DegradeConfig, quantize8, random_degrade  # noqa: E402
from mssnet.train.loop import device_name, optimise, setup  # noqa: E402
from mssnet.train.photos import unpack  # noqa: E402


def host_batch(images: list[np.ndarray], weights: np.ndarray, rng: np.random.Generator, batch: int, crop: int
               ) -> torch.Tensor:
    """The host path: (B, 3, crop, crop) float32 crops cut one by one in NumPy."""
    out = []
    while len(out) < batch:
        im = images[rng.choice(len(images), p=weights)]
        y, x = rng.integers(0, im.shape[0] - crop + 1), rng.integers(0, im.shape[1] - crop + 1)
        patch = im[y : y + crop, x : x + crop].astype(np.float32) / 255
        luma = patch.mean(2)
        if np.abs(np.diff(luma, axis=0)).mean() + np.abs(np.diff(luma, axis=1)).mean() < FLAT_GRADIENT \
                and rng.random() < FLAT_DROP:
            continue
        patch = np.rot90(patch, int(rng.integers(4)))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1))
    return torch.stack(out)


def time_preset(preset: str, args: argparse.Namespace, images: list[np.ndarray], device: torch.device
                ) -> tuple[str, str]:
    """Paired rounds of the two paths for one preset -> (throughput row, batch-making row)."""
    area = np.array([im.shape[0] * im.shape[1] for im in images], np.float64)
    weights, degrade = area / area.sum(), DegradeConfig((1.9, 2.1))
    cfg = TrainConfig(out=str(Path("/tmp") / f"train-speed-{preset}"), preset=preset, batch=args.batch,
                      crop=args.crop, device=args.device, precision=args.precision, calibrate_crops=0)
    run = setup(cfg, images, [])
    rng, gen = np.random.default_rng(0), torch.Generator(device).manual_seed(0)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def host_pair() -> tuple[torch.Tensor, torch.Tensor]:
        sharp = host_batch(images, weights, rng, args.batch, args.crop).to(device)
        blurred, _ = random_degrade(sharp, rng, degrade)
        return sharp, quantize8(blurred).contiguous(memory_format=torch.channels_last)

    def device_pair() -> tuple[torch.Tensor, torch.Tensor]:
        sharp, blurred, _ = degraded_batch(run.store, args.batch, args.crop, gen, rng, degrade)
        return sharp, blurred

    paths = {"host": host_pair, "device": device_pair}
    rates: dict[str, list[float]] = {k: [] for k in paths}
    batch_ms: dict[str, list[float]] = {k: [] for k in paths}
    for make in paths.values():  # warm-up
        optimise(run, *make(), 1e-5)
    for _ in range(args.rounds):
        for name, make in paths.items():
            sync()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                optimise(run, *make(), 1e-5)
            sync()
            rates[name].append(args.steps * args.batch / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in range(args.steps):
                make()
            sync()
            batch_ms[name].append(1000 * (time.perf_counter() - t0) / args.steps)
    host, dev = statistics.median(rates["host"]), statistics.median(rates["device"])
    return (f"| {preset} | {run.precision} | {host:.2f} | {dev:.2f} | {dev / host:.2f} |",
            f"| {preset} | {statistics.median(batch_ms['host']):.1f} | {statistics.median(batch_ms['device']):.1f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", default="", help="a photo pack (default: the package photographs)")
    p.add_argument("--presets", default="small,tiny")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.photos:
        images = list(unpack(args.photos).train.values())
    else:
        images = [read_rgb(q) for q in package_image_paths() if q.name not in HOLDOUT]
    images = [im for im in images if min(im.shape[:2]) >= args.crop]
    device = torch.device(args.device)
    print(f"device: {device_name(device)}; CPU: {cpu_kind()}; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; {len(images)} photographs; batch {args.batch} × {args.crop}²; {args.steps} steps × "
          f"{args.rounds} rounds")

    rows, making = [], []
    for preset in args.presets.split(","):
        row, make_row = time_preset(preset, args, images, device)
        rows.append(row)
        making.append(make_row)
    print("\n| preset | precision | host batches, crops/s | device batches, crops/s | device / host |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n| preset | making a host batch, ms | making a device batch, ms |")
    print("|---|---|---|")
    print("\n".join(making))
    return 0


if __name__ == "__main__":
    sys.exit(main())
