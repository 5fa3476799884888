"""Train MSSNet to undo zoom blur, on a CPU or a GPU.

    python -m mssnet.train --out runs/small-zoom [--data DIR ...] [--minutes 100]
    python -m mssnet.train --out runs/tiny --preset tiny --device cuda --precision bf16 --batch 256

Every option is a field of :class:`~mssnet.train.config.TrainConfig` (the command line is built from it).
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

import csv
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..model.network import MSSNet
from ..runtime.inference import resolve_precision
from .batches import PhotoStore, degraded_batch
from .config import TrainConfig, parse_args
from .data import folder_image_paths, package_image_paths, read_rgb
from .degrade import DegradeConfig
from .score import evaluate

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
