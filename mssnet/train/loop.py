"""Train MSSNet to undo zoom blur, on a CPU or a GPU.

    python -m mssnet.train --out runs/small-zoom [--data DIR ...] [--minutes 100]
    python -m mssnet.train --out runs/tiny --preset tiny --device cuda --precision bf16 --batch 256

Every option is a field of :class:`TrainConfig` (the command line is built from it).
``python -m mssnet.train.gpu`` is the prepared run for a GPU machine (both presets, calibrated,
scored on the held-out set).

Recipe (see assets/weights/README.md for what was measured):

* objective of the original paper: for each of the six outputs, L1 + 0.1 · L1 of
  the 2-D FFT; output 0 (half resolution) is compared with the target resized by
  1/2 (bilinear, as in the original);
* the training photographs are decoded once and held on the training device as uint8
  (:mod:`mssnet.train.batches`); a batch of random crops (flips, 90° rotations; nearly flat
  crops are mostly redrawn) is cut and degraded there by one continuous zoom factor s per
  batch (``mssnet.train.degrade``): antialiased bicubic shrink by s, bicubic enlarge back,
  8-bit quantisation;
* Adam (fused on a GPU) with linear warm-up and cosine decay, gradient clipping and an
  exponential moving average (EMA) of the weights, which is what gets scored and
  exported; the schedule runs to ``--steps`` or ``--minutes``, whichever comes
  first, so a run of known length still ends at a low learning rate; with
  ``--lr-batch N`` the rate given is the one for a batch of N and is scaled by
  √(batch / N) (Adam's square-root rule);
* held-out images (never trained on) are scored every ``--eval-every`` steps:
  gain in Y-PSNR over bicubic at ×2, ×3 and ×4; every ``--log-every`` steps a row goes
  into ``log.csv`` (mean loss, crops per second of step time);
* ``last.pt`` (model, EMA, optimiser, step, elapsed time) is written every
  ``--save-every`` steps and on Ctrl-C, and ``--resume`` continues from it; the
  final EMA weights are exported as fp16 safetensors, with the correction strength per
  zoom-step factor calibrated on training crops (:mod:`mssnet.train.calibrate`).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..image.metrics import psnr_y
from ..model.network import PRESETS, MSSNet, MSSNetConfig
from ..pyramid.pyramid import pyramid_zoom_image
from ..runtime.inference import resolve_precision
from .batches import PhotoStore, degraded_batch
from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb
from .degrade import DegradeConfig, enlarge, quantize8, shrink


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
    lr_batch: int = field(default=0, metadata={"help": "the batch --lr is meant for: the rate is scaled by "
                                                "sqrt(batch / LR_BATCH) (0: used as given)"})
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
    log_every: int = field(default=1, metadata={"help": "a log.csv row (mean loss, crops/s) every N steps"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    calibrate_crops: int = field(default=24, metadata={"help": "training crops per factor for the export's "
                                                       "zoom-step strength (0: skip)"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: default)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda or cuda:N"})
    precision: str = field(default="fp32", metadata={"help": "fp32, or bf16 autocast (auto: bf16 where it is fast)",
                                                     "choices": ["fp32", "bf16", "auto"]})
    compile: bool = field(default=False, metadata={"help": "torch.compile the training forward pass"})

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

    def peak_lr(self) -> float:
        """``lr``, scaled by √(batch / lr_batch) when ``lr_batch`` is set."""
        return self.lr * math.sqrt(self.batch / self.lr_batch) if self.lr_batch else self.lr

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
    for name in ("batch", "crop", "eval_every", "save_every", "log_every"):
        if getattr(cfg, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1; got {getattr(cfg, name)}")
    if cfg.calibrate_crops < 0 or cfg.steps < 0 or cfg.lr_batch < 0:
        p.error("--calibrate-crops, --steps and --lr-batch must be 0 or more")
    if not 1.0 <= cfg.scale_min <= cfg.scale_max:
        p.error(f"need 1 <= --scale-min <= --scale-max; got {cfg.scale_min}, {cfg.scale_max}")
    try:
        cfg.network()
    except ValueError as exc:
        p.error(str(exc))
    return cfg


# --------------------------------------------------------------------------- data and loss


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
    zoom done the way the app and the command line do it (the zoom pyramid, :mod:`mssnet.pyramid.pyramid`)
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
    """Everything a training run holds between steps.

    images: the training photographs, uint8 (H, W, 3) on the host (calibration reads them);
    store: the same photographs on the training device, where batches are cut.
    """

    cfg: TrainConfig
    out: Path
    images: list[np.ndarray]
    store: PhotoStore
    eval_images: list[np.ndarray]
    model: MSSNet
    ema: MSSNet
    opt: torch.optim.Optimizer
    device: torch.device
    precision: str
    forward: Callable[[Tensor], list[Tensor]]
    step: int = 0
    elapsed: float = 0.0

    def save(self) -> None:
        """Write OUT/last.pt atomically (model, EMA, optimiser, step, step time)."""
        state = {"model": self.model.state_dict(), "ema": self.ema.state_dict(), "optimizer": self.opt.state_dict(),
                 "step": self.step, "elapsed": self.elapsed, "config": asdict(self.cfg)}
        path = self.out / "last.pt"
        torch.save(state, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)


def training_paths(cfg: TrainConfig) -> tuple[list[Path], list[Path]]:
    """(training photographs, held-out photographs) named by ``cfg``'s data options."""
    paths = [] if cfg.no_package_images else package_image_paths()
    for folder in cfg.data:
        paths += folder_image_paths(folder)
    holdout = set(cfg.holdout)
    return [p for p in paths if p.name not in holdout], [p for p in paths if p.name in holdout]


def setup(cfg: TrainConfig, images: list[np.ndarray] | None = None, eval_images: list[np.ndarray] | None = None
          ) -> Run:
    """Read the photographs (onto the device), build (or resume) the network, EMA and optimiser.

    ``images`` / ``eval_images`` (uint8 (H, W, 3)), when given, are trained on / scored instead of
    the files that ``cfg``'s data options name."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if images is None:
        train_paths, eval_paths = training_paths(cfg)
        with open(out / "data.txt", "w") as fh:
            fh.writelines(f"train\t{p}\n" for p in train_paths)
            fh.writelines(f"holdout\t{p}\n" for p in eval_paths)
        images = [read_rgb(p, cfg.max_side) for p in train_paths]
        eval_images = [read_rgb(p) for p in eval_paths] if eval_images is None else eval_images
    eval_images = [] if eval_images is None else eval_images
    store = PhotoStore.from_images(images, cfg.crop, cfg.device)  # leaves out photos under crop × crop
    print(f"training on {len(store)} images, holding out {len(eval_images)}", file=sys.stderr)
    device = torch.device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.seed)
    model = MSSNet(cfg.network())
    if cfg.init:
        from ..model.weights import load_model

        model.load_state_dict(load_model(cfg.init).state_dict())
    model = model.to(device, memory_format=torch.channels_last)
    ema = MSSNet(model.config).to(device, memory_format=torch.channels_last)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.peak_lr(), fused=device.type == "cuda")
    forward = torch.compile(model.forward_stages) if cfg.compile else model.forward_stages
    run = Run(cfg, out, images, store, eval_images,
              model, ema, opt, device, resolve_precision(cfg.precision, device), forward)
    ckpt = out / "last.pt"
    if cfg.resume and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        run.opt.load_state_dict(state["optimizer"])
        run.step, run.elapsed = int(state["step"]), float(state["elapsed"])
        print(f"resumed at step {run.step} ({run.elapsed / 60:.1f} min)", file=sys.stderr)
    return run


def train_step(run: Run, generator: torch.Generator, rng: np.random.Generator, degrade: DegradeConfig,
               lr: float) -> tuple[Tensor, float]:
    """One optimiser step on a fresh batch cut on the device.

    Returns (loss as a 0-d tensor on the device, so that the step does not wait for the device;
    zoom factor of the batch)."""
    sharp, blurred, scale = degraded_batch(run.store, run.cfg.batch, run.cfg.crop, generator, rng, degrade)
    return optimise(run, sharp, blurred, lr), scale


def optimise(run: Run, sharp: Tensor, blurred: Tensor, lr: float) -> Tensor:
    """One optimiser step (and EMA update) on a given pair.

    sharp, blurred: (B, 3, H, W) float32 in [0, 1] on the run's device, H and W multiples of 16.
    Returns the loss as a 0-d tensor on the device."""
    cfg = run.cfg
    for group in run.opt.param_groups:
        group["lr"] = lr
    run.model.train()
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.precision == "bf16"):
        outs = run.forward(blurred)
    loss = mssnet_loss(outs, sharp)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
    run.opt.step()
    run.step += 1
    if cfg.ema:
        decay = min(cfg.ema, (1 + run.step) / (10 + run.step))
        with torch.no_grad():
            torch._foreach_lerp_(list(run.ema.parameters()), list(run.model.parameters()), 1 - decay)
    return loss.detach()


def device_name(device: torch.device) -> str:
    """What trained: the GPU's name, or the CPU's model name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "CPU")
    except OSError:
        return "CPU"


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_loop(run: Run) -> None:
    """Steps until ``steps`` or ``minutes`` of step time; logs, scores and checkpoints on the way.

    Step time is wall time spent in steps (the device is synchronised at every log row, so the
    crops/s column is what the device really did); scoring and checkpoints are not counted."""
    from tqdm import tqdm

    cfg = run.cfg
    rng = np.random.default_rng([cfg.seed, run.step])
    generator = torch.Generator(run.device).manual_seed(cfg.seed * 1_000_003 + run.step)
    degrade = (DegradeConfig.realistic if cfg.realistic else DegradeConfig)((cfg.scale_min, cfg.scale_max))
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    log_path = run.out / "log.csv"
    log_new = not log_path.exists()
    budget = cfg.minutes * 60
    peak = cfg.peak_lr()
    losses: list[Tensor] = []
    scales: list[float] = []
    with open(log_path, "a", newline="") as log, tqdm(total=cfg.steps, initial=run.step, desc="train",
                                                          dynamic_ncols=True) as bar:
        writer = csv.writer(log)
        if log_new:
            writer.writerow(["step", "minutes", "lr", "loss", "scale", "crops_per_s", "gain_x2", "gain_x3", "gain_x4"])
        try:
            t0, since = time.perf_counter(), run.elapsed
            while run.step < cfg.steps and run.elapsed < budget and not stop["now"]:
                frac = max(run.step / max(cfg.steps, 1), run.elapsed / budget if math.isfinite(budget) else 0.0)
                lr = lr_at(run.step, frac, peak, cfg.warmup, cfg.min_lr)
                loss, scale = train_step(run, generator, rng, degrade, lr)
                losses.append(loss)
                scales.append(scale)
                run.elapsed = since + time.perf_counter() - t0
                due_eval = run.step % cfg.eval_every == 0 and run.eval_images
                last = run.step >= cfg.steps or run.elapsed >= budget or stop["now"]
                if run.step % cfg.log_every and not due_eval and not last:
                    continue
                _synchronize(run.device)
                run.elapsed = since + time.perf_counter() - t0
                mean_loss = float(torch.stack(losses).float().mean())
                rate = len(losses) * cfg.batch / max(run.elapsed - since, 1e-9)
                row = [run.step, f"{run.elapsed / 60:.2f}", f"{lr:.3g}", f"{mean_loss:.4f}",
                       f"{float(np.mean(scales)):.2f}", f"{rate:.1f}", "", "", ""]
                if due_eval:
                    gains = evaluate(run.ema if cfg.ema else run.model, run.eval_images)
                    row[6:] = [f"{gains[k]:.3f}" for k in ("gain_x2", "gain_x3", "gain_x4")]
                    tqdm.write(f"step {run.step}: " + " ".join(f"{k}={v:+.3f} dB" for k, v in gains.items()))
                writer.writerow(row)
                log.flush()
                bar.update(len(losses))
                bar.set_postfix(loss=f"{mean_loss:.3f}", lr=f"{lr:.2g}", crops_s=f"{rate:.0f}")
                losses, scales = [], []
                if run.step % cfg.save_every < cfg.log_every:
                    run.save()
                t0, since = time.perf_counter(), run.elapsed  # scoring and saving are not step time
        except KeyboardInterrupt:
            pass
        finally:
            run.save()


def export(run: Run) -> Path:
    """Calibrate the zoom-step and pyramid-level strengths of the final (EMA) weights and write fp16
    safetensors."""
    from ..model.strength import format_levels, format_table
    from ..model.weights import save_safetensors
    from .calibrate import calibrate, calibrate_levels

    final = run.ema if run.cfg.ema else run.model
    final.eval()
    if run.cfg.calibrate_crops:
        final.zoom_strength = calibrate(final, run.images, crops=run.cfg.calibrate_crops)
        print(f"calibrated strength per step factor: {format_table(final.zoom_strength)}", file=sys.stderr)
        final.level_strength = calibrate_levels(final, run.images, crops=run.cfg.calibrate_crops)
        print(f"calibrated strength per pyramid level: {format_levels(final.level_strength)}", file=sys.stderr)
    path = run.out / run.cfg.export_name()
    save_safetensors(final, path, metadata={"steps": str(run.step), "minutes": f"{run.elapsed / 60:.1f}",
                                            "crops": str(run.step * run.cfg.batch), "device": device_name(run.device),
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
