"""The training and held-out photographs: rebuilt from the packages named in the model card's list,
and packed into one file that a GPU machine can be sent.

    python -m mssnet.train.photos build --roots UNPACKED/ ... --out PHOTOS/
    python -m mssnet.train.photos pack PHOTOS/ photos.npz

``assets/weights/images.csv`` lists every image: its set (train or holdout), the file name the
project uses, the package and the path inside it (a held-out row ends in ``[category]``).
``build`` looks each path up under the given roots: a folder where the Debian packages were
unpacked (``dpkg -x``) and, for game textures, a folder per package where its ``.pk3`` archives
were unzipped (``ROOT/PACKAGE/PATH``); rows of the Python packages (``skimage``, ``matplotlib``)
come from the installed packages. Each image becomes RGB and is box-downscaled by a whole factor
to a longer side of at most :data:`LONG_SIDE` px (by kind), then saved as PNG under
``OUT/train`` or ``OUT/holdout`` (with ``categories.csv``). The package photographs that
training reads by default (:data:`mssnet.train.data.SKIMAGE_PHOTOS`, :data:`mssnet.train.data.MPL_PHOTOS`,
held-out names excluded) join ``OUT/train`` unchanged.

A pack is an ``.npz`` of encoded image files named ``train/NAME`` and ``holdout/NAME`` plus the
held-out categories. Held-out images are stored losslessly (PNG); training images as JPEG at
quality :data:`TRAIN_QUALITY` without chroma subsampling, which about halves the pack so that it
travels with the project to a GPU machine (sizes and the error it adds: the model card,
``assets/weights/README.md``).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb

__all__ = ["IMAGE_LIST", "LONG_SIDE", "Entry", "Photos", "build", "pack", "read_list", "unpack"]

#: The model card's list of every training and held-out image.
IMAGE_LIST = Path(__file__).resolve().parents[2] / "assets" / "weights" / "images.csv"
#: Longest side after the whole-factor box downscale, by kind of image.
LONG_SIDE = {"holdout": 512, "texture": 768, "wallpaper": 1024}
#: Packages whose images are game textures.
TEXTURE_PACKAGES = frozenset({"ufoai-textures", "nexuiz-textures", "openarena-081-textures"})
#: Python packages whose files are found through the installed package.
PYTHON_PACKAGES = frozenset({"skimage", "matplotlib"})
#: JPEG quality of the training images in a pack (4:4:4; held-out images are stored losslessly).
TRAIN_QUALITY = 97


@dataclass(frozen=True)
class Entry:
    """One row of the image list."""

    set: str  # "train" or "holdout"
    file: str  # the name the project gives the image (PNG)
    package: str
    path: str  # inside the package
    category: str = ""  # held-out rows only

    @property
    def kind(self) -> str:
        if self.set == "holdout":
            return "holdout"
        return "texture" if self.package in TEXTURE_PACKAGES else "wallpaper"


def read_list(path: str | os.PathLike = IMAGE_LIST) -> list[Entry]:
    """The image list -> entries. Raises ValueError on a row that is not ``set,file,package,path``."""
    entries = []
    with open(path, newline="") as fh:
        for n, row in enumerate(csv.reader(fh)):
            if n == 0:
                continue
            if len(row) != 4 or row[0] not in ("train", "holdout"):
                raise ValueError(f"{path}, row {n + 1}: expected set,file,package,path; got {row}")
            where, _, category = row[3].partition(" [")
            entries.append(Entry(row[0], row[1], row[2], where, category.rstrip("]")))
    return entries


def _python_package_root(package: str) -> Path:
    if package == "skimage":
        import skimage

        return Path(skimage.__file__).parent
    import matplotlib

    return Path(matplotlib.get_data_path()).parent


def find_source(entry: Entry, roots: list[Path]) -> Path:
    """Where ``entry``'s file is: ``ROOT/PATH`` or ``ROOT/PACKAGE/PATH`` for one of ``roots``.

    Raises FileNotFoundError naming the places looked at."""
    if entry.package in PYTHON_PACKAGES:
        candidates = [_python_package_root(entry.package) / entry.path]
    else:
        candidates = [c for root in roots for c in (root / entry.path, root / entry.package / entry.path)]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"{entry.file}: {entry.path} of {entry.package} not found in "
                            + ", ".join(str(c) for c in candidates))


def prepare(image: Image.Image, long_side: int) -> np.ndarray:
    """RGB, box-downscaled by the smallest whole factor that brings the longer side to at most
    ``long_side`` -> uint8 (H, W, 3)."""
    image = image.convert("RGB")
    factor = max(1, math.ceil(max(image.size) / long_side))
    if factor > 1:
        image = image.reduce(factor)
    return np.asarray(image, dtype=np.uint8).copy()


def build(roots: list[str | os.PathLike], out: str | os.PathLike, image_list: str | os.PathLike = IMAGE_LIST,
          progress: bool = True) -> dict[str, int]:
    """Write ``OUT/train/*.png``, ``OUT/holdout/*.png`` and ``OUT/holdout/categories.csv``.

    Returns the number of images written per set."""
    out = Path(out)
    folders = {s: out / s for s in ("train", "holdout")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "holdout": 0}
    categories = []
    for entry in read_list(image_list):
        with Image.open(find_source(entry, [Path(r) for r in roots])) as im:
            arr = prepare(im, LONG_SIDE[entry.kind])
        Image.fromarray(arr).save(folders[entry.set] / entry.file, optimize=True)
        counts[entry.set] += 1
        if entry.set == "holdout":
            categories.append((entry.file, entry.category))
        if progress:
            print(f"{entry.set}\t{entry.file}\t{arr.shape[1]}×{arr.shape[0]}", file=sys.stderr)
    for path in package_image_paths():
        if path.name not in HOLDOUT:
            Image.fromarray(read_rgb(path)).save(folders["train"] / f"package-{path.stem}.png", optimize=True)
            counts["train"] += 1
    with open(folders["holdout"] / "categories.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "category"])
        writer.writerows(categories)
    return counts


@dataclass
class Photos:
    """Unpacked photographs: uint8 (H, W, 3) arrays by name, and the held-out categories."""

    train: dict[str, np.ndarray]
    holdout: dict[str, np.ndarray]
    categories: dict[str, str]


def _encode(image: np.ndarray, quality: int) -> np.ndarray:
    """uint8 (H, W, 3) -> its file bytes: JPEG at ``quality`` without chroma subsampling, or PNG when 0."""
    buf = io.BytesIO()
    if quality:
        Image.fromarray(image).save(buf, "JPEG", quality=quality, subsampling=0)
    else:
        Image.fromarray(image).save(buf, "PNG")
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def pack(folder: str | os.PathLike, path: str | os.PathLike, train_quality: int = TRAIN_QUALITY) -> Path:
    """``FOLDER/train`` and ``FOLDER/holdout`` (as :func:`build` writes them) -> one ``.npz``.

    Held-out images are stored losslessly (PNG); training images as JPEG at ``train_quality``
    (4:4:4), or PNG when it is 0. Raises ValueError when ``FOLDER/train`` holds no image."""
    if not 0 <= train_quality <= 100:
        raise ValueError(f"train_quality must be 0 (lossless) or 1…100; got {train_quality}")
    folder, path = Path(folder), Path(path)
    arrays: dict[str, np.ndarray] = {}
    for part, quality in (("train", train_quality), ("holdout", 0)):
        if not (folder / part).is_dir():
            continue
        for p in folder_image_paths(folder / part):
            arrays[f"{part}/{p.name}"] = _encode(read_rgb(p, max_side=1 << 30), quality)
    if not any(k.startswith("train/") for k in arrays):
        raise ValueError(f"{folder / 'train'} holds no image")
    cats = folder / "holdout" / "categories.csv"
    text = cats.read_text() if cats.exists() else "file,category\n"
    arrays["categories.csv"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def _decode(data: np.ndarray) -> np.ndarray:
    with Image.open(io.BytesIO(data.tobytes())) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def unpack(path: str | os.PathLike) -> Photos:
    """A pack written by :func:`pack` -> :class:`Photos` (every image decoded)."""
    with np.load(path) as data:
        train = {k.split("/", 1)[1]: _decode(data[k]) for k in data.files if k.startswith("train/")}
        holdout = {k.split("/", 1)[1]: _decode(data[k]) for k in data.files if k.startswith("holdout/")}
        text = bytes(data["categories.csv"]).decode() if "categories.csv" in data.files else ""
    rows = csv.DictReader(io.StringIO(text))
    return Photos(train, holdout, {r["file"]: r["category"] for r in rows})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mssnet.train.photos", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert the listed images into OUT/train and OUT/holdout")
    b.add_argument("--roots", nargs="+", required=True, help="folders where the packages were unpacked")
    b.add_argument("--out", required=True)
    k = sub.add_parser("pack", help="pack a built folder into one .npz")
    k.add_argument("folder")
    k.add_argument("path")
    k.add_argument("--train-quality", type=int, default=TRAIN_QUALITY, help="JPEG quality (0: lossless PNG)")
    args = p.parse_args(argv)
    if args.command == "build":
        counts = build(args.roots, args.out)
        print(f"wrote {counts['train']} training and {counts['holdout']} held-out images to {args.out}")
    else:
        path = pack(args.folder, args.path, args.train_quality)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
