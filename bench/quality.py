"""Quality of zoom sharpening on held-out images: tables of Y-PSNR and SSIM, by category.

    python bench/quality.py [--weights A.safetensors B.safetensors ...] [--holdout-dir DIR]
                            [--scales 1.25 1.5 2 2.5 3 4]

Held-out images (never trained on): the package photographs named in ``mssnet.train.data.HOLDOUT``
and, with ``--holdout-dir``, every image of that folder; a ``categories.csv`` there
(``file,category``) groups them (portrait-animal, man-made, nature, text, ...), so the hard
images are visible. For every image and scale s: shrink by s (antialiased bicubic), save as
8-bit, zoom back to the original size and compare with the original on the BT.601 Y channel
with a border shave of ⌈s⌉ pixels:

* bicubic and Lanczos: plain interpolation of the small image;
* unsharp masking: bicubic + amount·(bicubic − Gaussian(bicubic, σ)), with σ and
  amount tuned per scale on *training* images (a fair, tuned baseline);
* MSSNet (one column per ``--weights`` file): what the app and the command line do — the
  zoom pyramid (``mssnet.pyramid.levels``): 2× steps of bicubic + MSSNet at each level's calibrated
  strength up to level ⌈log2 s⌉, then an antialiased downsample to the target size.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import cpu_kind  # noqa: E402

from mssnet.image.metrics import psnr_y, ssim_y  # noqa: E402
from mssnet.model.strength import format_levels, format_table  # noqa: E402
from mssnet.model.weights import load_model  # noqa: E402
from mssnet.pyramid.levels import pyramid_zoom_image  # noqa: E402
from mssnet.runtime.inference import resolve_precision  # noqa: E402
from mssnet.train.data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb  # noqa: E402
from mssnet.train.score import bicubic_zoom, degrade_pair, shave  # noqa: E402

BASELINES = {"bicubic": "bicubic", "lanczos": "Lanczos", "unsharp": "unsharp mask"}
USM_SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0)
USM_AMOUNTS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def upscale(lr: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """(h, w, 3) -> (H, W, 3) with ``size = (W, H)``, bicubic or Lanczos, 8-bit quantised."""
    if method == "bicubic":
        return bicubic_zoom(lr, size)
    out = np.clip(cv2.resize(lr.astype(np.float32), size, interpolation=cv2.INTER_LANCZOS4), 0, 1)
    return np.round(out * 255) / 255


def unsharp(img: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    blur = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    return np.clip(img + amount * (img - blur), 0, 1)


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


def read_categories(folder: Path) -> dict[str, str]:
    """``categories.csv`` (file,category) of a held-out folder; {} when there is none."""
    path = folder / "categories.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {row["file"]: row["category"] for row in csv.DictReader(fh)}


def held_out_images(holdout_names: list[str], folders: list[str], max_side: int
                    ) -> tuple[list[tuple[str, str, np.ndarray]], list[Path]]:
    """-> ([(name, category, float image)], training paths for tuning the unsharp mask)."""
    paths = package_image_paths()
    held = []
    for folder in folders:
        cats = read_categories(Path(folder))
        held += [(q, cats.get(q.name, "uncategorised")) for q in folder_image_paths(folder)]
    held += [(q, "package photo") for q in paths if q.name in set(holdout_names)]
    seen, images = set(), []
    for q, cat in held:
        if q.stem.split("-")[-1] in seen:  # the same photograph from two places
            continue
        seen.add(q.stem.split("-")[-1])
        images.append((q.name, cat, read_rgb(q, max_side).astype(np.float32) / 255))
    train = [q for q in paths if q.name not in set(holdout_names)]
    return images, train


def score_scale(s: float, images, models: dict[str, torch.nn.Module], usm: tuple[float, float]
                ) -> dict[str, list[tuple[str, float, float]]]:
    """{method: [(category, Y-PSNR, SSIM) per image]} at scale ``s``."""
    scores: dict[str, list[tuple[str, float, float]]] = {}
    for _name, cat, hr_full in images:
        hr, lr, size = degrade_pair(hr_full, s)
        lr = lr.astype(np.float32)
        bic = upscale(lr, size, "bicubic")
        outs = {"bicubic": bic, "lanczos": upscale(lr, size, "lanczos"), "unsharp": unsharp(bic, *usm)}
        for label, model in models.items():
            outs[label] = pyramid_zoom_image(model, lr, s, size=size)
        for m, img in outs.items():
            scores.setdefault(m, []).append((cat, psnr_y(img, hr, shave(s)), ssim_y(img, hr, shave(s))))
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", nargs="*", default=[None], help="MSSNet weights (default: the bundled model)")
    p.add_argument("--holdout-dir", nargs="*", default=[], help="folders of held-out images (+ categories.csv)")
    p.add_argument("--holdout", nargs="*", default=list(HOLDOUT), help="held-out package photographs")
    p.add_argument("--scales", nargs="*", type=float, default=[1.25, 1.5, 2, 2.5, 3, 4])
    p.add_argument("--max-side", type=int, default=512, help="downscale larger held-out images")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if any(not s >= 1 for s in args.scales):
        p.error(f"--scales must be 1 or more; got {args.scales}")
    if args.threads:
        torch.set_num_threads(args.threads)
    images, train_paths = held_out_images(args.holdout, args.holdout_dir, args.max_side)
    if not images:
        print("no held-out images found", file=sys.stderr)
        return 2
    tune_images = [centre_crop(read_rgb(q, args.max_side).astype(np.float32) / 255, 256) for q in train_paths[:6]]
    models = {}
    stems = [None if w is None else Path(w).stem for w in args.weights]
    for w, stem in zip(args.weights, stems, strict=True):
        # files of the same name (a run's export beside the bundled one) are told apart by their folder
        name = stem if stems.count(stem) == 1 or w is None else f"{Path(w).parent.name}/{stem}"
        label = "MSSNet" if w is None else f"MSSNet {name}"
        if label in models:
            raise SystemExit(f"--weights names {w} twice")
        models[label] = load_model(w)
    print(f"CPU: {cpu_kind()}; precision auto = {resolve_precision('auto', 'cpu')}")
    print(f"held-out images ({len(images)}): {', '.join(n for n, _, _ in images)}")
    for label, model in models.items():
        table = format_table(getattr(model, "zoom_strength", None))
        levels = format_levels(getattr(model, "level_strength", None))
        print(f"{label}: {model.config}, strength per step factor: {table}; per pyramid level: {levels}")

    t0 = time.perf_counter()
    results = {s: score_scale(s, images, models, tune_unsharp(tune_images, s)) for s in args.scales}
    methods = list(next(iter(results.values())))
    print("\n| scale | " + " | ".join(BASELINES.get(m, m) for m in methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for s, scores in results.items():
        cells = [f"{np.mean([v[1] for v in scores[m]]):.2f} / {np.mean([v[2] for v in scores[m]]):.4f}"
                 for m in methods]
        print(f"| ×{s:g} | " + " | ".join(cells) + " |")
    print("\ncells: mean Y-PSNR (dB) / SSIM, border shave = ⌈scale⌉")

    categories = sorted({c for _, c, _ in images})
    for m in methods[len(BASELINES):]:
        print(f"\nGain of {m} over bicubic by category (dB; images per category in brackets):")
        counts = {c: sum(cc == c for _, cc, _ in images) for c in categories}
        print("| scale | all | " + " | ".join(f"{c} ({counts[c]})" for c in categories) + " |")
        print("|---" * (len(categories) + 2) + "|")
        for s, scores in results.items():
            gains = np.array([a[1] - b[1] for a, b in zip(scores[m], scores["bicubic"], strict=True)])
            cats = np.array([a[0] for a in scores[m]])
            cells = [f"{gains[cats == c].mean():+.2f}" for c in categories]
            print(f"| ×{s:g} | {gains.mean():+.2f} | " + " | ".join(cells) + " |")
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
