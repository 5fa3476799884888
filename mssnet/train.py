"""Train MSSNet to undo zoom blur, on a CPU.

    python -m mssnet.train --out runs/small-zoom [--data DIR ...] [--minutes 100]

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
  zoom-step factor calibrated on training crops (:mod:`mssnet.strength`).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from .degrade import DegradeConfig, enlarge, quantize8, random_degrade, shrink
from .model import MSSNet, MSSNetConfig
from .pipeline import zoom_sharpen_image

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# Photographs shipped by installed packages (scikit-image, matplotlib); text,
# binary masks, gray-only scientific images and logos are left out.
SKIMAGE_PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "grass.png",
    "gravel.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png", "motorcycle_right.png",
    "retina.jpg", "rocket.jpg", "moon.png", "coins.png", "page.png", "text.png", "cell.png",
)
MPL_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")

#: File names that are never trained on; they are the held-out evaluation set.
HOLDOUT = (
    "astronaut.png", "chelsea.png", "coffee.png", "grace_hopper.jpg",
    "plasma-ColorfulCups.jpg", "plasma-EveningGlow.jpg",
)


def package_image_paths() -> list[Path]:
    """Photographs that scikit-image and matplotlib install (those that are present)."""
    paths: list[Path] = []
    try:
        import skimage

        root = Path(skimage.__file__).parent / "data"
        paths += [root / n for n in SKIMAGE_PHOTOS if (root / n).exists()]
    except ImportError:
        pass
    import matplotlib

    root = Path(matplotlib.get_data_path()) / "sample_data"
    paths += [root / n for n in MPL_PHOTOS if (root / n).exists()]
    return paths


def folder_image_paths(folder: str | os.PathLike) -> list[Path]:
    """Every image file directly in ``folder`` (sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"training folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def read_rgb(path: Path, max_side: int = 2048) -> np.ndarray:
    """Read an image as uint8 (H, W, 3), EXIF-rotated; larger ones are area-downscaled
    so their longer side is at most ``max_side`` (which also makes them crisper)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I"):
            im = im.point(lambda v: v / 256).convert("L")
        im = im.convert("RGB")
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BOX)
        return np.asarray(im, dtype=np.uint8).copy()


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


def y_channel(x: Tensor) -> Tensor:
    """BT.601 luma on the [16, 235] scale used by super-resolution papers: (B,3,H,W)->(B,H,W)."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255


def psnr_y(a: Tensor, b: Tensor, shave: int) -> float:
    ya, yb = y_channel(a.clamp(0, 1)), y_channel(b.clamp(0, 1))
    if shave:
        ya, yb = ya[..., shave:-shave, shave:-shave], yb[..., shave:-shave, shave:-shave]
    mse = torch.mean((ya * 255 - yb * 255) ** 2).item()
    return 10 * math.log10(255**2 / max(mse, 1e-12))


@torch.inference_mode()
def evaluate(model: MSSNet, images: list[np.ndarray], scales=(2, 3, 4), crop: int = 256) -> dict[str, float]:
    """Mean Y-PSNR gain over bicubic on centre crops of held-out images, per scale, with the
    zoom done in steps of at most 2× like the app and the command line (:mod:`mssnet.pipeline`)
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
            out = zoom_sharpen_image(model, small, s, size=(c, c), precision="fp32", strength=1.0)
            out = torch.from_numpy(out)
            out = out.permute(2, 0, 1)[None]
            gains.append(psnr_y(out, hr, s) - psnr_y(bic, hr, s))
        result[f"gain_x{s}"] = float(np.mean(gains))
    return result


def lr_at(step: int, frac: float, base_lr: float, warmup: int, min_lr: float) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine from base_lr to min_lr over ``frac`` ∈ [0, 1]."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * min(frac, 1.0)))


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m mssnet.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="run folder (checkpoints, log.csv, export)")
    p.add_argument("--data", nargs="*", default=[], help="extra image folders to train on")
    p.add_argument("--no-package-images", action="store_true", help="skip scikit-image/matplotlib photos")
    p.add_argument("--holdout", nargs="*", default=list(HOLDOUT), help="file names never trained on")
    p.add_argument("--preset", default="small", choices=["small", "base", "large"])
    p.add_argument("--init", help="start from these weights (e.g. the bundled model)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--steps", type=int, default=100_000, help="schedule length in steps")
    p.add_argument("--minutes", type=float, default=float("inf"), help="schedule length in wall minutes")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-6)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--clip", type=float, default=0.5, help="gradient-norm clip")
    p.add_argument("--ema", type=float, default=0.998, help="EMA decay (0 disables)")
    p.add_argument("--scale-min", type=float, default=1.0)
    p.add_argument("--scale-max", type=float, default=4.0)
    p.add_argument("--realistic", action="store_true", help="add lens blur, shake, noise, JPEG")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibrate-crops", type=_non_negative, default=24,
                   help="training crops used to calibrate the zoom-step strength of the export (0: skip)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [] if args.no_package_images else package_image_paths()
    for folder in args.data:
        paths += folder_image_paths(folder)
    holdout = set(args.holdout)
    train_paths = [p for p in paths if p.name not in holdout]
    eval_paths = [p for p in paths if p.name in holdout]
    print(f"training on {len(train_paths)} images, holding out {len(eval_paths)}", file=sys.stderr)
    with open(out / "data.txt", "w") as fh:
        fh.writelines(f"train\t{p}\n" for p in train_paths)
        fh.writelines(f"holdout\t{p}\n" for p in eval_paths)
    pool = build_pool(train_paths, args.crop)
    eval_images = [read_rgb(p) for p in eval_paths]

    torch.manual_seed(args.seed)
    model = MSSNet(MSSNetConfig.preset(args.preset)).to(memory_format=torch.channels_last)
    if args.init:
        from .weights import load_model

        model.load_state_dict(load_model(args.init).state_dict())
    ema = MSSNet(model.config).to(memory_format=torch.channels_last)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, elapsed = 0, 0.0
    ckpt_path = out / "last.pt"
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["optimizer"])
        step, elapsed = int(ck["step"]), float(ck["elapsed"])
        print(f"resumed at step {step} ({elapsed / 60:.1f} min)", file=sys.stderr)
    rng = np.random.default_rng([args.seed, step])
    degrade = DegradeConfig.realistic((args.scale_min, args.scale_max)) if args.realistic else DegradeConfig(
        (args.scale_min, args.scale_max)
    )

    def save() -> None:
        state = {"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": opt.state_dict(),
                 "step": step, "elapsed": elapsed, "preset": args.preset}
        torch.save(state, ckpt_path.with_suffix(".tmp"))
        os.replace(ckpt_path.with_suffix(".tmp"), ckpt_path)

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    log_new = not (out / "log.csv").exists()
    log = open(out / "log.csv", "a", newline="")
    writer = csv.writer(log)
    if log_new:
        writer.writerow(["step", "minutes", "lr", "loss", "scale", "gain_x2", "gain_x3", "gain_x4"])
    budget = args.minutes * 60
    bar = tqdm(total=args.steps, initial=step, desc="train", dynamic_ncols=True)
    try:
        while step < args.steps and elapsed < budget and not stop["now"]:
            t0 = time.perf_counter()
            frac = max(step / args.steps, elapsed / budget if math.isfinite(budget) else 0.0)
            lr = lr_at(step, frac, args.lr, args.warmup, args.min_lr)
            for group in opt.param_groups:
                group["lr"] = lr
            sharp = sample_batch(pool, rng, args.batch, args.crop)
            blurred, scale = random_degrade(sharp, rng, degrade)
            blurred = quantize8(blurred)
            model.train()
            outs = model(blurred.contiguous(memory_format=torch.channels_last))
            loss = mssnet_loss(outs, sharp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            step += 1
            if args.ema:
                d = min(args.ema, (1 + step) / (10 + step))
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                        pe.lerp_(pm, 1 - d)
            elapsed += time.perf_counter() - t0
            row = [step, f"{elapsed / 60:.2f}", f"{lr:.3g}", f"{loss.item():.4f}", f"{scale:.2f}", "", "", ""]
            if step % args.eval_every == 0:
                gains = evaluate(ema if args.ema else model, eval_images)
                row[5:] = [f"{gains[k]:.3f}" for k in ("gain_x2", "gain_x3", "gain_x4")]
                tqdm.write(f"step {step}: " + " ".join(f"{k}={v:+.3f} dB" for k, v in gains.items()))
            writer.writerow(row)
            log.flush()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2g}", s=f"{scale:.1f}")
            if step % args.save_every == 0:
                save()
    except KeyboardInterrupt:
        pass
    finally:
        save()
        bar.close()
        log.close()
    from .strength import calibrate, format_table
    from .weights import save_safetensors

    final = ema if args.ema else model
    if args.calibrate_crops:
        final.eval()
        final.zoom_strength = calibrate(final, pool.images, crops=args.calibrate_crops)
        print(f"calibrated strength per step factor: {format_table(final.zoom_strength)}", file=sys.stderr)
    export = out / f"mssnet-{args.preset}-zoom.safetensors"
    save_safetensors(final, export, metadata={"steps": str(step),
                     "minutes": f"{elapsed / 60:.1f}", "recipe": "mssnet.train zoom blur"})
    print(f"exported {export} after {step} steps ({elapsed / 60:.1f} min)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
