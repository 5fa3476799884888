"""Quality of zoom sharpening on held-out images: a table of Y-PSNR and SSIM.

    python bench/quality.py [--weights PATH] [--data DIR ...] [--scales 1.5 2 3 4]

For every held-out image (never trained on; ``mssnet.data.HOLDOUT``) and scale s:
shrink by s (antialiased bicubic), enlarge back to the original size, and compare
with the original on the BT.601 Y channel with a border shave of ⌈s⌉ pixels:

* bicubic and Lanczos: plain interpolation of the small image;
* unsharp masking: bicubic + amount·(bicubic − Gaussian(bicubic, σ)), with σ and
  amount tuned per scale on *training* images (a fair, tuned baseline);
* MSSNet, one step: the bicubic image sharpened by the model (with the strength
  calibrated for that factor);
* MSSNet α = 1: the steps below with the model's output used as is;
* MSSNet: what the app and the command line do: zooms above 2× in steps of 2× and
  a smaller last one, each enlarged with bicubic and sharpened with the strength calibrated
  for the step's factor (``mssnet.pipeline``, ``mssnet.strength``).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explain.metrics import psnr_y, ssim_y  # noqa: E402
from mssnet.degrade import enlarge, shrink  # noqa: E402
from mssnet.pipeline import zoom_sharpen_image, zoom_steps  # noqa: E402
from mssnet.strength import format_table  # noqa: E402
from mssnet.data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb  # noqa: E402
from mssnet.weights import load_model  # noqa: E402

METHODS = ("bicubic", "lanczos", "unsharp", "mssnet_one", "mssnet_raw", "mssnet")
LABELS = ("bicubic", "Lanczos", "unsharp mask", "MSSNet one step", "MSSNet α = 1", "MSSNet")
USM_SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0)
USM_AMOUNTS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def crop_to_multiple(img: np.ndarray, s: float) -> np.ndarray:
    """Crop so both sides are multiples of an integer ``s`` (other scales: unchanged)."""
    if s != int(s):
        return img
    s = int(s)
    h, w = img.shape[:2]
    return img[: h - h % s, : w - w % s]


def low_res(hr: np.ndarray, s: float) -> np.ndarray:
    """(H, W, 3) float32 -> (round(H/s), round(W/s), 3), antialiased bicubic, 8-bit quantised."""
    x = torch.from_numpy(hr).permute(2, 0, 1)[None]
    lr = shrink(x, s)[0].permute(1, 2, 0).numpy()
    return np.round(lr * 255) / 255


def upscale(lr: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """(h, w, 3) -> (H, W, 3) with ``size = (W, H)``, bicubic or Lanczos, 8-bit quantised."""
    if method == "bicubic":
        x = torch.from_numpy(np.ascontiguousarray(lr, np.float32)).permute(2, 0, 1)[None]
        out = enlarge(x, (size[1], size[0]))[0].permute(1, 2, 0).numpy()
    else:
        out = cv2.resize(lr.astype(np.float32), size, interpolation=cv2.INTER_LANCZOS4)
        out = np.clip(out, 0, 1)
    return np.round(out * 255) / 255


def unsharp(img: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    blur = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    return np.clip(img + amount * (img - blur), 0, 1)


def degrade_pair(image: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(H, W, 3) -> (sharp crop, its low-resolution version, size (W, H) to enlarge to)."""
    hr = crop_to_multiple(image, s)
    return hr, low_res(hr, s), (hr.shape[1], hr.shape[0])


def shave(s: float) -> int:
    return math.ceil(s)


def tune_unsharp(images: list[np.ndarray], s: float) -> tuple[float, float]:
    """Best (σ, amount) by mean Y-PSNR on the given (training) images."""
    pairs = [(hr, upscale(lr, size, "bicubic")) for hr, lr, size in (degrade_pair(im, s) for im in images)]
    best = max(
        itertools.product(USM_SIGMAS, USM_AMOUNTS),
        key=lambda p: np.mean([psnr_y(unsharp(bic, *p), hr, shave(s)) for hr, bic in pairs]),
    )
    return best


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[y : y + size, x : x + size]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", help="MSSNet weights (default: the bundled model)")
    p.add_argument("--data", nargs="*", default=[], help="folders holding the held-out images too")
    p.add_argument("--holdout", nargs="*", default=list(HOLDOUT))
    p.add_argument("--scales", nargs="*", type=float, default=[2, 3, 4])
    p.add_argument("--max-side", type=int, default=1024, help="downscale larger held-out images")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if any(not s >= 1 for s in args.scales):
        p.error(f"--scales must be 1 or more; got {args.scales}")
    if args.threads:
        torch.set_num_threads(args.threads)

    paths = package_image_paths() + [q for d in args.data for q in folder_image_paths(d)]
    held = [q for q in paths if q.name in set(args.holdout)]
    train_imgs = [q for q in paths if q.name not in set(args.holdout)][:6]
    if not held:
        print("no held-out images found", file=sys.stderr)
        return 2
    hold_images = [read_rgb(q, args.max_side).astype(np.float32) / 255 for q in held]
    tune_images = [centre_crop(read_rgb(q, args.max_side).astype(np.float32) / 255, 256) for q in train_imgs]
    model = load_model(args.weights)
    print(f"held-out images ({len(held)}): {', '.join(q.name for q in held)}")
    print(f"weights: {args.weights or 'bundled default'}")
    print(f"calibrated strength per step factor: {format_table(getattr(model, 'zoom_strength', None))}\n")

    rows = []
    for s in args.scales:
        sigma, amount = tune_unsharp(tune_images, s)
        scores: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
        t_model = 0.0
        for hr_full in hold_images:
            hr, lr, size = degrade_pair(hr_full, s)
            lr = lr.astype(np.float32)
            bic = upscale(lr, size, "bicubic")
            t0 = time.perf_counter()
            out = zoom_sharpen_image(model, lr, s, size=size)
            t_model += time.perf_counter() - t0
            one = out if len(zoom_steps(s)) == 1 else zoom_sharpen_image(model, lr, s, size=size, max_step=s)
            outs = {"bicubic": bic, "lanczos": upscale(lr, size, "lanczos"), "unsharp": unsharp(bic, sigma, amount),
                    "mssnet_one": one, "mssnet_raw": zoom_sharpen_image(model, lr, s, size=size, strength=1.0),
                    "mssnet": out}
            for m, img in outs.items():
                scores[m].append((psnr_y(img, hr, shave(s)), ssim_y(img, hr, shave(s))))
        mean = {m: np.mean(v, axis=0) for m, v in scores.items()}
        rows.append((s, mean, (sigma, amount), t_model))

    print("| scale | " + " | ".join(LABELS) + " | MSSNet − bicubic |")
    print("|---" * (len(LABELS) + 2) + "|")
    for s, mean, _, _ in rows:
        cells = [f"{mean[m][0]:.2f} / {mean[m][1]:.4f}" for m in METHODS]
        gain = mean["mssnet"][0] - mean["bicubic"][0]
        print(f"| ×{s:g} | " + " | ".join(cells) + f" | {gain:+.2f} dB |")
    print("\ncells: mean Y-PSNR (dB) / SSIM, border shave = ⌈scale⌉")
    for s, _, (sigma, amount), t in rows:
        print(f"×{s:g}: unsharp mask tuned on training images: σ={sigma}, amount={amount}; "
              f"MSSNet time {t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
