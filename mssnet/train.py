"""Train MSSNet to undo zoom blur, on a CPU.

    python -m mssnet.train --out runs/small-zoom [--data DIR ...] [--minutes 100]
    python -m mssnet.train --out runs/tiny --preset tiny --device cuda --precision bf16

Every option is a field of :class:`TrainConfig` (the command line is built from it).

Recipe (see assets/weights/README.md for what was measured):

* objective of the original paper: for each of the six outputs, L1 + 0.1 · L1 of
  the 2-D FFT; output 0 (half resolution) is compared with the target resized by
  1/2 (bilinear, as in the original);
* a batch of random crops (flips, 90° rotations; nearly flat crops are mostly
  rejected) is degraded by one continuous zoom factor s per batch
  (``mssnet.degrade``): antialiased bicubic shrink by s, bicubic enlarge back,
  8-bit quantisation;
* Adam with linear warm-up and cosine decay, gradient clipping and an
  exponential moving average (EMA) of the weights, which is what gets scored and
  exported; the schedule runs to ``--steps`` or ``--minutes``, whichever comes
  first, so a CPU run of known length still ends at a low learning rate;
* held-out images (never trained on) are scored every ``--eval-every`` steps:
  gain in Y-PSNR over bicubic at ×2, ×3 and ×4; everything goes into ``log.csv``;
* ``last.pt`` (model, EMA, optimiser, step, elapsed time) is written every
  ``--save-every`` steps and on Ctrl-C, and ``--resume`` continues from it; the
  final EMA weights are exported as fp16 safetensors, with the correction strength per
  zoom-step factor calibrated on training crops (:mod:`mssnet.calibrate`).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import signal
import sys
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb
from .degrade import DegradeConfig, enlarge, quantize8, random_degrade, shrink
from .inference import resolve_precision
from .metrics import psnr_y
from .model import PRESETS, MSSNet, MSSNetConfig
from .pyramid import pyramid_zoom_image


@dataclass
class TrainConfig:
    """Every training option; ``python -m mssnet.train --help`` is built from these fields."""

    out: str = field(default="", metadata={"help": "run folder (checkpoints, log.csv, export)", "required": True})
    data: list[str] = field(default_factory=list, metadata={"help": "extra image folders to train on"})
    no_package_images: bool = field(default=False, metadata={"help": "skip scikit-image/matplotlib photos"})
    holdout: list[str] = field(default_factory=lambda: list(HOLDOUT), metadata={"help": "file names never trained on"})
    preset: str = field(default="small", metadata={"help": "network width", "choices": sorted(PRESETS)})
    width: str = field(default="", metadata={"help": "custom widths WF,SCALE,VSCALE instead of the preset"})
    init: str = field(default="", metadata={"help": "start from these weights (e.g. the bundled model)"})
    resume: bool = field(default=False, metadata={"help": "continue from OUT/last.pt"})
    steps: int = field(default=100_000, metadata={"help": "schedule length in steps"})
    minutes: float = field(default=float("inf"), metadata={"help": "schedule length in minutes of step time"})
    batch: int = field(default=8, metadata={"help": "crops per step"})
    crop: int = field(default=96, metadata={"help": "crop side in pixels"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate (Adam)"})
    min_lr: float = field(default=1e-6, metadata={"help": "learning rate at the end of the cosine"})
    warmup: int = field(default=100, metadata={"help": "linear warm-up steps"})
    clip: float = field(default=0.5, metadata={"help": "gradient-norm clip"})
    ema: float = field(default=0.998, metadata={"help": "EMA decay (0 disables)"})
    scale_min: float = field(default=1.0, metadata={"help": "smallest zoom factor of the degradation"})
    scale_max: float = field(default=4.0, metadata={"help": "largest zoom factor of the degradation"})
    realistic: bool = field(default=False, metadata={"help": "add lens blur, shake, noise, JPEG"})
    max_side: int = field(default=2048, metadata={"help": "training images are area-downscaled to this longer side"})
    eval_every: int = field(default=200, metadata={"help": "score the held-out images every N steps"})
    save_every: int = field(default=50, metadata={"help": "write OUT/last.pt every N steps"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    calibrate_crops: int = field(default=24, metadata={"help": "training crops per factor for the export's "
                                                       "zoom-step strength (0: skip)"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: default)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda or cuda:N"})
    precision: str = field(default="fp32", metadata={"help": "fp32, or bf16 autocast (auto: bf16 where it is fast)",
                                                     "choices": ["fp32", "bf16", "auto"]})

    def network(self) -> MSSNetConfig:
        """The widths to train: ``width`` when given, else the preset's."""
        if not self.width:
            return MSSNetConfig.preset(self.preset)
        try:
            wf, scale, vscale = (int(v) for v in self.width.split(","))
        except ValueError:
            raise ValueError(f"width must be three integers WF,SCALE,VSCALE; got {self.width!r}") from None
        if min(wf, scale, vscale) < 1:
            raise ValueError(f"widths must be positive; got {self.width!r}")
        return MSSNetConfig(wf, scale, vscale)

    def export_name(self) -> str:
        name = self.network().name or "w{}-{}-{}".format(*self.width.split(","))
        return f"mssnet-{name}-zoom.safetensors"


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """Command line -> :class:`TrainConfig`; one option per field, defaults from the class."""
    p = argparse.ArgumentParser(prog="python -m mssnet.train", description=__doc__.split("\n\n")[0])
    for f in fields(TrainConfig):
        flag, meta = "--" + f.name.replace("_", "-"), dict(f.metadata)
        default = f.default_factory() if f.default is MISSING else f.default
        if f.type == "bool":
            p.add_argument(flag, action="store_true", help=meta["help"])
        elif f.type == "list[str]":
            p.add_argument(flag, nargs="*", default=default, help=meta["help"])
        else:
            kind = {"int": int, "float": float, "str": str}[f.type]
            p.add_argument(flag, type=kind, default=None if meta.get("required") else default, help=meta["help"],
                           required=meta.get("required", False), choices=meta.get("choices"))
    cfg = TrainConfig(**vars(p.parse_args(argv)))
    for name in ("batch", "crop", "eval_every", "save_every"):
        if getattr(cfg, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1; got {getattr(cfg, name)}")
    if cfg.calibrate_crops < 0 or cfg.steps < 0:
        p.error("--calibrate-crops and --steps must be 0 or more")
    if not 1.0 <= cfg.scale_min <= cfg.scale_max:
        p.error(f"need 1 <= --scale-min <= --scale-max; got {cfg.scale_min}, {cfg.scale_max}")
    try:
        cfg.network()
    except ValueError as exc:
        p.error(str(exc))
    return cfg


# --------------------------------------------------------------------------- data and loss


@dataclass
class Pool:
    """Training images and how often each is picked (∝ area, so crops are uniform)."""

    images: list[np.ndarray]
    weights: np.ndarray


def build_pool(paths: list[Path], crop: int, max_side: int = 2048) -> Pool:
    images = [read_rgb(p, max_side) for p in paths]
    images = [im for im in images if min(im.shape[:2]) >= crop]
    if not images:
        raise ValueError(f"no training image is at least {crop}×{crop} px")
    area = np.array([im.shape[0] * im.shape[1] for im in images], np.float64)
    return Pool(images, area / area.sum())


def sample_batch(pool: Pool, rng: np.random.Generator, batch: int, crop: int) -> Tensor:
    """Random augmented crops -> (B, 3, crop, crop) float32 in [0, 1].

    Crops whose mean gradient is tiny (sky, flat backgrounds) are redrawn with
    probability 0.8, so most steps teach edges and texture."""
    out = []
    while len(out) < batch:
        im = pool.images[rng.choice(len(pool.images), p=pool.weights)]
        y = rng.integers(0, im.shape[0] - crop + 1)
        x = rng.integers(0, im.shape[1] - crop + 1)
        patch = im[y : y + crop, x : x + crop].astype(np.float32) / 255
        g = np.abs(np.diff(patch.mean(2), axis=0)).mean() + np.abs(np.diff(patch.mean(2), axis=1)).mean()
        if g < 0.01 and rng.random() < 0.8:
            continue
        patch = np.rot90(patch, int(rng.integers(4)))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1))
    return torch.stack(out)


def mssnet_loss(outputs: list[Tensor], target: Tensor, fft_weight: float = 0.1) -> Tensor:
    """Σ over the six outputs of L1 + fft_weight · L1(FFT2); output 0 vs target/2."""
    half = F.interpolate(target, scale_factor=0.5, mode="bilinear", align_corners=False)
    total = target.new_zeros(())
    for i, out in enumerate(outputs):
        ref = half if i == 0 else target
        out = out.float()
        total = total + F.l1_loss(out, ref)
        fo, fr = torch.fft.rfft2(out), torch.fft.rfft2(ref)
        total = total + fft_weight * (F.l1_loss(fo.real, fr.real) + F.l1_loss(fo.imag, fr.imag))
    return total


@torch.inference_mode()
def evaluate(model: MSSNet, images: list[np.ndarray], scales=(2, 3, 4), crop: int = 256) -> dict[str, float]:
    """Mean Y-PSNR gain over bicubic on centre crops of held-out images, per scale, with the
    zoom done the way the app and the command line do it (the zoom pyramid, :mod:`mssnet.pyramid`)
    but with the network's output used as is (strength 1: the calibration comes at export)."""
    model.eval()
    result = {}
    for s in scales:
        gains = []
        for im in images:
            h, w = im.shape[:2]
            c = min(crop, h, w) // (s * 16) * (s * 16)
            y0, x0 = (h - c) // 2, (w - c) // 2
            hr = torch.from_numpy(im[y0 : y0 + c, x0 : x0 + c].astype(np.float32) / 255)
            hr = hr.permute(2, 0, 1)[None]  # (1, 3, c, c)
            small = quantize8(shrink(hr, s))
            bic = enlarge(small, (c, c))
            small = np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())
            out = pyramid_zoom_image(model, small, s, size=(c, c), precision="fp32", strength=1.0)
            out = torch.from_numpy(out).permute(2, 0, 1)[None]  # (1, 3, c, c)
            gains.append(psnr_y(out, hr, s) - psnr_y(bic, hr, s))
        result[f"gain_x{s}"] = float(np.mean(gains))
    return result


def lr_at(step: int, frac: float, base_lr: float, warmup: int, min_lr: float) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine from base_lr to min_lr over ``frac`` ∈ [0, 1]."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * min(frac, 1.0)))


# --------------------------------------------------------------------------- a run


@dataclass
class Run:
    """Everything a training run holds between steps."""

    cfg: TrainConfig
    out: Path
    pool: Pool
    eval_images: list[np.ndarray]
    model: MSSNet
    ema: MSSNet
    opt: torch.optim.Optimizer
    device: torch.device
    precision: str
    step: int = 0
    elapsed: float = 0.0

    def save(self) -> None:
        """Write OUT/last.pt atomically (model, EMA, optimiser, step, step time)."""
        state = {"model": self.model.state_dict(), "ema": self.ema.state_dict(), "optimizer": self.opt.state_dict(),
                 "step": self.step, "elapsed": self.elapsed, "config": asdict(self.cfg)}
        path = self.out / "last.pt"
        torch.save(state, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)


def setup(cfg: TrainConfig) -> Run:
    """Read the photographs, build (or resume) the network, EMA and optimiser."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [] if cfg.no_package_images else package_image_paths()
    for folder in cfg.data:
        paths += folder_image_paths(folder)
    holdout = set(cfg.holdout)
    train_paths = [p for p in paths if p.name not in holdout]
    eval_paths = [p for p in paths if p.name in holdout]
    print(f"training on {len(train_paths)} images, holding out {len(eval_paths)}", file=sys.stderr)
    with open(out / "data.txt", "w") as fh:
        fh.writelines(f"train\t{p}\n" for p in train_paths)
        fh.writelines(f"holdout\t{p}\n" for p in eval_paths)
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = MSSNet(cfg.network())
    if cfg.init:
        from .weights import load_model

        model.load_state_dict(load_model(cfg.init).state_dict())
    model = model.to(device, memory_format=torch.channels_last)
    ema = MSSNet(model.config).to(device, memory_format=torch.channels_last)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    run = Run(cfg, out, build_pool(train_paths, cfg.crop, cfg.max_side), [read_rgb(p) for p in eval_paths],
              model, ema, torch.optim.Adam(model.parameters(), lr=cfg.lr), device,
              resolve_precision(cfg.precision, device))
    ckpt = out / "last.pt"
    if cfg.resume and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        run.opt.load_state_dict(state["optimizer"])
        run.step, run.elapsed = int(state["step"]), float(state["elapsed"])
        print(f"resumed at step {run.step} ({run.elapsed / 60:.1f} min)", file=sys.stderr)
    return run


def train_step(run: Run, rng: np.random.Generator, degrade: DegradeConfig, lr: float) -> tuple[float, float]:
    """One optimiser step on a fresh batch; returns (loss, zoom factor of the batch)."""
    cfg = run.cfg
    for group in run.opt.param_groups:
        group["lr"] = lr
    sharp = sample_batch(run.pool, rng, cfg.batch, cfg.crop).to(run.device)  # (B, 3, crop, crop)
    blurred, scale = random_degrade(sharp, rng, degrade)
    blurred = quantize8(blurred).contiguous(memory_format=torch.channels_last)
    run.model.train()
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.precision == "bf16"):
        outs = run.model.forward_stages(blurred)
    loss = mssnet_loss(outs, sharp)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
    run.opt.step()
    run.step += 1
    if cfg.ema:
        decay = min(cfg.ema, (1 + run.step) / (10 + run.step))
        with torch.no_grad():
            for pe, pm in zip(run.ema.parameters(), run.model.parameters(), strict=True):
                pe.lerp_(pm, 1 - decay)
    return loss.item(), scale


def train_loop(run: Run) -> None:
    """Steps until ``steps`` or ``minutes`` of step time; logs, scores and checkpoints on the way."""
    from tqdm import tqdm

    cfg = run.cfg
    rng = np.random.default_rng([cfg.seed, run.step])
    degrade = (DegradeConfig.realistic if cfg.realistic else DegradeConfig)((cfg.scale_min, cfg.scale_max))
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    log_path = run.out / "log.csv"
    log_new = not log_path.exists()
    budget = cfg.minutes * 60
    with open(log_path, "a", newline="") as log, tqdm(total=cfg.steps, initial=run.step, desc="train",
                                                          dynamic_ncols=True) as bar:
        writer = csv.writer(log)
        if log_new:
            writer.writerow(["step", "minutes", "lr", "loss", "scale", "gain_x2", "gain_x3", "gain_x4"])
        try:
            while run.step < cfg.steps and run.elapsed < budget and not stop["now"]:
                t0 = time.perf_counter()
                frac = max(run.step / max(cfg.steps, 1), run.elapsed / budget if math.isfinite(budget) else 0.0)
                lr = lr_at(run.step, frac, cfg.lr, cfg.warmup, cfg.min_lr)
                loss, scale = train_step(run, rng, degrade, lr)
                run.elapsed += time.perf_counter() - t0
                row = [run.step, f"{run.elapsed / 60:.2f}", f"{lr:.3g}", f"{loss:.4f}", f"{scale:.2f}", "", "", ""]
                if run.step % cfg.eval_every == 0 and run.eval_images:
                    gains = evaluate(run.ema if cfg.ema else run.model, run.eval_images)
                    row[5:] = [f"{gains[k]:.3f}" for k in ("gain_x2", "gain_x3", "gain_x4")]
                    tqdm.write(f"step {run.step}: " + " ".join(f"{k}={v:+.3f} dB" for k, v in gains.items()))
                writer.writerow(row)
                log.flush()
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2g}", s=f"{scale:.1f}")
                if run.step % cfg.save_every == 0:
                    run.save()
        except KeyboardInterrupt:
            pass
        finally:
            run.save()


def export(run: Run) -> Path:
    """Calibrate the zoom-step and pyramid-level strengths of the final (EMA) weights and write fp16
    safetensors."""
    from .calibrate import calibrate, calibrate_levels
    from .strength import format_levels, format_table
    from .weights import save_safetensors

    final = run.ema if run.cfg.ema else run.model
    final.eval()
    if run.cfg.calibrate_crops:
        final.zoom_strength = calibrate(final, run.pool.images, crops=run.cfg.calibrate_crops)
        print(f"calibrated strength per step factor: {format_table(final.zoom_strength)}", file=sys.stderr)
        final.level_strength = calibrate_levels(final, run.pool.images, crops=run.cfg.calibrate_crops)
        print(f"calibrated strength per pyramid level: {format_levels(final.level_strength)}", file=sys.stderr)
    path = run.out / run.cfg.export_name()
    save_safetensors(final, path, metadata={"steps": str(run.step), "minutes": f"{run.elapsed / 60:.1f}",
                                            "recipe": "mssnet.train zoom blur"})
    print(f"exported {path} after {run.step} steps ({run.elapsed / 60:.1f} min)", file=sys.stderr)
    return path


def main(argv: list[str] | None = None) -> int:
    run = setup(parse_args(argv))
    train_loop(run)
    export(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
