"""The training and evaluation photo lists and readers (mssnet.train.data)."""

import numpy as np
import pytest
from PIL import Image

from mssnet.train.data import HOLDOUT, folder_image_paths, package_image_paths, read_rgb


def test_folder_image_paths_lists_images_only_sorted(tmp_path):
    for name in ("b.PNG", "a.jpg", "c.webp", "notes.txt", "d.gif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()  # a folder with an image suffix is still listed by suffix only
    assert [p.name for p in folder_image_paths(tmp_path)] == ["a.jpg", "b.PNG", "c.webp", "sub.png"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        folder_image_paths(tmp_path / "missing")


def test_package_image_paths_exist_and_holdout_is_named():
    paths = package_image_paths()
    assert paths and all(p.exists() for p in paths)
    assert len(HOLDOUT) == len(set(HOLDOUT)) > 0


def test_read_rgb_applies_exif_rotation(tmp_path):
    im = Image.new("RGB", (20, 10), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(tmp_path / "rotated.jpg", exif=exif)
    rgb = read_rgb(tmp_path / "rotated.jpg")
    assert rgb.shape == (20, 10, 3) and rgb.dtype == np.uint8 and rgb[..., 0].mean() > 240


def test_read_rgb_16_bit_gray_becomes_8_bit_rgb(tmp_path):
    Image.fromarray(np.full((6, 8), 40000, np.uint16)).save(tmp_path / "deep.png")
    rgb = read_rgb(tmp_path / "deep.png")
    assert rgb.shape == (6, 8, 3) and rgb.dtype == np.uint8
    assert abs(int(rgb[0, 0, 0]) - 40000 // 256) <= 1 and (rgb[..., 0] == rgb[..., 2]).all()


def test_read_rgb_max_side_downscales_by_area(tmp_path):
    checker = (np.indices((40, 60)).sum(0) % 2 * 255).astype(np.uint8)
    Image.fromarray(checker).save(tmp_path / "checker.png")
    small = read_rgb(tmp_path / "checker.png", max_side=30)
    assert small.shape == (20, 30, 3) and abs(float(small.mean()) - 127.5) < 1  # box filter averages
    assert read_rgb(tmp_path / "checker.png", max_side=100).shape == (40, 60, 3)  # never enlarged
    with pytest.raises(ValueError, match="max_side"):
        read_rgb(tmp_path / "checker.png", max_side=0)
