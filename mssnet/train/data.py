"""Training and held-out photographs: where they come from and how they are read.

Photographs shipped by installed packages (scikit-image, matplotlib) and image
folders; every reader returns uint8 ``(H, W, 3)`` RGB, EXIF-rotated. The model card
(``assets/weights/README.md``) records the source and licence of every image used.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..image.io import IMAGE_SUFFIXES

__all__ = ["HOLDOUT", "MPL_PHOTOS", "SKIMAGE_PHOTOS", "folder_image_paths", "package_image_paths", "read_rgb"]

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
    """Every image file directly in ``folder`` (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: str | os.PathLike, max_side: int = 2048) -> np.ndarray:
    """Read an image as uint8 (H, W, 3), EXIF-rotated; larger ones are area-downscaled
    so their longer side is at most ``max_side`` (which also makes them crisper)."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1; got {max_side}")
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I"):
            im = im.point(lambda v: v / 256).convert("L")
        im = im.convert("RGB")
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BOX)
        return np.asarray(im, dtype=np.uint8).copy()
