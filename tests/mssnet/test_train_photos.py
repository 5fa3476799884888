"""The training and held-out photographs (mssnet.train.photos): built from a package list, packed, unpacked."""

import numpy as np
import pytest
from PIL import Image

from mssnet.train import photos


def write_list(path, rows):
    path.write_text("set,file,package,path in package (holdout: [category])\n"
                    + "".join(",".join(r) + "\n" for r in rows))
    return path


def test_the_bundled_list_names_both_sets_with_categories():
    entries = photos.read_list()
    assert {e.set for e in entries} == {"train", "holdout"}
    assert all(e.category for e in entries if e.set == "holdout")
    assert {e.kind for e in entries} == {"holdout", "texture", "wallpaper"}


def test_build_downscales_by_a_whole_factor_and_writes_categories(tmp_path):
    root = tmp_path / "root"
    (root / "usr/share/backgrounds").mkdir(parents=True)
    (root / "ufoai-textures/textures").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((700, 2100, 3)) * 255).astype(np.uint8)).save(root / "usr/share/backgrounds/w.jpg")
    Image.fromarray((rng.random((800, 800, 3)) * 255).astype(np.uint8)).save(root / "ufoai-textures/textures/t.png")
    Image.fromarray((rng.random((300, 400)) * 255).astype(np.uint8)).save(root / "usr/share/backgrounds/h.png")
    rows = [("train", "wall.png", "lomiri-wallpapers-16.04", "usr/share/backgrounds/w.jpg"),
            ("train", "tex.png", "ufoai-textures", "textures/t.png"),
            ("holdout", "held.png", "opencv-doc", "usr/share/backgrounds/h.png [text]")]
    out = tmp_path / "photos"
    counts = photos.build([root], out, write_list(tmp_path / "images.csv", rows), progress=False)
    assert counts["holdout"] == 1 and counts["train"] >= 2  # plus the installed package photographs
    assert Image.open(out / "train/wall.png").size == (700, 234)  # 2100 / 3 ≤ 1024 (a partial last box)
    assert Image.open(out / "train/tex.png").size == (400, 400)  # 800 / 2 ≤ 768
    held = Image.open(out / "holdout/held.png")
    assert held.size == (400, 300) and held.mode == "RGB"  # gray becomes RGB, already ≤ 512
    assert (out / "holdout/categories.csv").read_text().splitlines() == ["file,category", "held.png,text"]


def test_build_names_a_missing_file(tmp_path):
    rows = [("train", "gone.png", "mate-backgrounds", "usr/share/gone.jpg")]
    with pytest.raises(FileNotFoundError, match="gone.png: usr/share/gone.jpg of mate-backgrounds not found"):
        photos.build([tmp_path], tmp_path / "out", write_list(tmp_path / "images.csv", rows), progress=False)


def test_pack_keeps_held_out_images_exact_and_training_images_close(tmp_path):
    y, x = np.mgrid[:64, :96]
    smooth = np.stack([x * 2, y * 3, (x + y)], -1).astype(np.uint8)
    for part, name in (("train", "a.png"), ("holdout", "b.png")):
        (tmp_path / "f" / part).mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth).save(tmp_path / "f" / part / name)
    (tmp_path / "f/holdout/categories.csv").write_text("file,category\nb.png,nature\n")
    pack = photos.pack(tmp_path / "f", tmp_path / "p.npz")
    back = photos.unpack(pack)
    assert list(back.train) == ["a.png"] and list(back.holdout) == ["b.png"]
    assert np.array_equal(back.holdout["b.png"], smooth) and back.categories == {"b.png": "nature"}
    err = back.train["a.png"].astype(float) - smooth
    assert back.train["a.png"].shape == smooth.shape and 10 * np.log10(255**2 / np.mean(err**2)) > 40
    lossless = photos.unpack(photos.pack(tmp_path / "f", tmp_path / "q.npz", train_quality=0))
    assert np.array_equal(lossless.train["a.png"], smooth)


def test_pack_needs_training_images(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match="holds no image"):
        photos.pack(tmp_path, tmp_path / "p.npz")
    with pytest.raises(ValueError, match="train_quality"):
        photos.pack(tmp_path, tmp_path / "p.npz", train_quality=101)
