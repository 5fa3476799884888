"""Tests for mssnet.image.io: the image corpus is built in tmp_path at test time."""

from __future__ import annotations

import io
import time

import cv2
import numpy as np
import pytest
from corpus import jpeg_with_orientation, noise, png_header_only
from PIL import Image, ImageOps

from mssnet.image.io import ImageError, LoadedImage, data_url_bytes, load_image, save_image, to_uint8


def _one_line(exc: pytest.ExceptionInfo, name: str) -> str:
    text = str(exc.value)
    assert "\n" not in text and name in text
    assert exc.value.__cause__ is None
    return text


# ------------------------------------------------------------------------ good files


@pytest.mark.parametrize("size", [(1, 1), (7, 5)])
def test_small_rgb_png(tmp_path, size):
    w, h = size
    pixels = noise(h, w)
    path = tmp_path / "small.png"
    Image.fromarray(pixels).save(path)
    img = load_image(path)
    assert isinstance(img, LoadedImage)
    assert img.rgb.shape == (h, w, 3) and img.rgb.dtype == np.float32
    assert img.alpha is None and img.bit_depth == 8 and img.mode == "RGB" and img.size == (w, h)
    assert img.format == "PNG"
    np.testing.assert_allclose(img.rgb, pixels / 255.0, atol=1e-7)


def test_bytes_and_pil_sources(tmp_path):
    pixels = noise(5, 7)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    from_bytes = load_image(buf.getvalue())
    from_pil = load_image(Image.fromarray(pixels))
    np.testing.assert_array_equal(from_bytes.rgb, from_pil.rgb)
    assert from_bytes.array.shape == (5, 7, 3)


def test_16bit_gray_png_keeps_precision(tmp_path):
    values = np.array([[0, 257, 258, 1000], [30000, 30001, 65534, 65535]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    assert cv2.imwrite(str(path), values)
    img = load_image(path)
    assert img.bit_depth == 16 and img.mode.startswith("I;16")
    np.testing.assert_allclose(img.rgb[:, :, 0], values / 65535.0, atol=1e-7)
    assert img.rgb[0, 1, 0] != img.rgb[0, 2, 0]  # 257 and 258 differ only below 8 bits
    np.testing.assert_array_equal(img.rgb[:, :, 0], img.rgb[:, :, 2])


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_png_keeps_precision(tmp_path, channels):
    rgba = np.random.default_rng(1).integers(0, 65536, (5, 7, 4), dtype=np.uint16)
    bgra = rgba[:, :, [2, 1, 0, 3]][:, :, :channels]
    path = tmp_path / "colour16.png"
    assert cv2.imwrite(str(path), bgra)
    img = load_image(path)
    assert img.bit_depth == 16 and img.mode.endswith(";16")
    np.testing.assert_allclose(img.rgb, rgba[:, :, :3] / 65535.0, atol=1e-7)
    if channels == 4:
        np.testing.assert_allclose(img.alpha, rgba[:, :, 3] / 65535.0, atol=1e-7)
    else:
        assert img.alpha is None


def test_gray_png(tmp_path):
    gray = noise(5, 7, 1)[:, :, 0]
    path = tmp_path / "gray.png"
    Image.fromarray(gray, "L").save(path)
    img = load_image(path)
    assert img.mode == "L" and img.rgb.shape == (5, 7, 3) and img.alpha is None
    np.testing.assert_allclose(img.rgb, np.repeat(gray[:, :, None], 3, 2) / 255.0, atol=1e-7)


def test_gray_alpha_png(tmp_path):
    la = noise(5, 7, 2)
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)
    img = load_image(path)
    assert img.mode == "LA"
    np.testing.assert_allclose(img.rgb[:, :, 1], la[:, :, 0] / 255.0, atol=1e-7)
    np.testing.assert_allclose(img.alpha, la[:, :, 1] / 255.0, atol=1e-7)


def test_rgba_keeps_transparent_regions(tmp_path):
    rgba = noise(6, 8, 4)
    rgba[:, :4, 3] = 0  # left half fully transparent
    rgba[:, 4:, 3] = 255
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = load_image(path)
    assert img.mode == "RGBA"
    np.testing.assert_array_equal(img.alpha[:, :4], 0.0)
    np.testing.assert_array_equal(img.alpha[:, 4:], 1.0)
    np.testing.assert_allclose(img.rgb, rgba[:, :, :3] / 255.0, atol=1e-7)
    assert img.array.shape == (6, 8, 4)


def test_palette_with_transparency_becomes_rgba(tmp_path):
    im = Image.new("P", (4, 3), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    path = tmp_path / "palette.png"
    im.save(path, transparency=0)
    img = load_image(path)
    assert img.mode == "P" and img.alpha is not None
    assert img.alpha[0, 0] == 0.0 and img.alpha[1, 1] == 1.0
    np.testing.assert_allclose(img.rgb[1, 1], [1.0, 0.0, 0.0])


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)  # pure red in CMYK
    img = load_image(path)
    assert img.mode == "CMYK" and img.rgb.shape == (8, 8, 3)
    np.testing.assert_allclose(img.rgb[4, 4], [1.0, 0.0, 0.0], atol=0.05)


@pytest.mark.parametrize(("orientation", "corner"), [(6, "top-right"), (8, "bottom-left")])
def test_exif_rotated_jpeg(tmp_path, orientation, corner):
    path = tmp_path / f"rotated{orientation}.jpg"
    jpeg_with_orientation(path, orientation)
    img = load_image(path)
    assert img.rgb.shape == (40, 20, 3) and img.size == (20, 40)  # width and height swapped
    gray = img.rgb.mean(axis=2)
    marker = {"top-right": gray[:8, -8:], "bottom-left": gray[-8:, :8]}[corner]
    assert marker.mean() > 0.9  # the marker moved with the rotation ...
    assert gray[:8, :8].mean() < 0.1  # ... and left the top-left corner


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / "o.jpg"
    jpeg_with_orientation(path, orientation)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), np.float32) / 255.0
    np.testing.assert_array_equal(load_image(path).rgb, expected)


# ------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.png")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file") as exc:
        load_image(path)
    _one_line(exc, "empty.png")


def test_text_renamed_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture\n")
    with pytest.raises(ImageError, match="not an image") as exc:
        load_image(path)
    _one_line(exc, "notes.png")


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_truncated_file(tmp_path, fmt):
    whole = io.BytesIO()
    Image.fromarray(noise(64, 64)).save(whole, "PNG" if fmt == "png" else "JPEG")
    path = tmp_path / f"half.{fmt}"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as exc:
        load_image(path)
    _one_line(exc, f"half.{fmt}")


def test_animated_gif_is_refused(tmp_path):
    frames = [Image.fromarray(noise(6, 6, seed=s)) for s in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with pytest.raises(ImageError, match="animated images are not supported; export one frame") as exc:
        load_image(path)
    _one_line(exc, "anim.gif")


def test_still_gif_loads(tmp_path):
    path = tmp_path / "still.gif"
    Image.fromarray(noise(6, 6)).save(path)
    assert load_image(path).rgb.shape == (6, 6, 3)


def test_header_claims_huge_png_refused_quickly(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    assert path.stat().st_size < 200
    start = time.perf_counter()
    with pytest.raises(ImageError, match="too large") as exc:
        load_image(path)
    assert time.perf_counter() - start < 1.0
    assert "900,000,000" in _one_line(exc, "bomb.png")


def test_above_max_pixels_names_size_and_limit(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(8000, 6000))  # 48 MP: under Pillow's own limit, over ours
    with pytest.raises(ImageError, match=r"8000×6000 = 48,000,000 pixels.*limit is 40,000,000"):
        load_image(path)
    small = tmp_path / "small.png"
    Image.fromarray(noise(5, 7)).save(small)
    with pytest.raises(ImageError, match="limit is 30 pixels"):
        load_image(small, max_pixels=30)


def test_zero_size_header_refused(tmp_path):
    path = tmp_path / "zero.png"
    path.write_bytes(png_header_only(0, 5))
    with pytest.raises(ImageError):
        load_image(path)


def test_bad_arguments():
    with pytest.raises(TypeError, match="path, bytes or a PIL image"):
        load_image(42)
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(b"x", max_pixels=0)


# --------------------------------------------------------------------------- writing


def test_to_uint8():
    out = to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 2.0], np.float32))
    np.testing.assert_array_equal(out, [0, 0, 128, 255, 255])
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(to_uint8(np.array([0, 65535], np.uint16)), [0, 255])
    with pytest.raises(TypeError):
        to_uint8(np.array([1, 2], np.int64))


def test_save_png_8bit_round_trip(tmp_path):
    rgb = noise(5, 7) / 255.0
    alpha = noise(5, 7, 1)[:, :, 0] / 255.0
    img = load_image(save_image(tmp_path / "out.png", rgb, alpha))
    np.testing.assert_allclose(img.rgb, rgb, atol=1e-6)
    np.testing.assert_allclose(img.alpha, alpha, atol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_save_16bit_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(2)
    rgb, alpha = rng.random((5, 7, 3)).astype(np.float32), rng.random((5, 7)).astype(np.float32)
    img = load_image(save_image(tmp_path / f"out{suffix}", rgb, alpha, bit_depth=16))
    assert img.bit_depth == 16
    np.testing.assert_allclose(img.rgb, rgb, atol=1 / 65535)
    np.testing.assert_allclose(img.alpha, alpha, atol=1 / 65535)


def test_save_jpeg_drops_alpha(tmp_path):
    path = save_image(tmp_path / "out.jpg", np.full((8, 8, 3), 0.5, np.float32), np.zeros((8, 8)))
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.mode == "RGB"


def test_save_webp_is_lossless(tmp_path):
    rgb = noise(6, 6) / 255.0
    np.testing.assert_allclose(load_image(save_image(tmp_path / "out.webp", rgb)).rgb, rgb, atol=1e-6)


def test_save_checks_its_input(tmp_path):
    rgb = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="16-bit output"):
        save_image(tmp_path / "x.jpg", rgb, bit_depth=16)
    with pytest.raises(ValueError, match="unknown image format"):
        save_image(tmp_path / "x.xyz", rgb)
    with pytest.raises(ValueError, match="bit_depth"):
        save_image(tmp_path / "x.png", rgb, bit_depth=12)
    with pytest.raises(ValueError, match=r"rgb must be \(H, W, 3\)"):
        save_image(tmp_path / "x.png", np.zeros((4, 4, 4), np.float32))
    with pytest.raises(ValueError, match="alpha must be"):
        save_image(tmp_path / "x.png", rgb, alpha=np.zeros((3, 4)))
    with pytest.raises(TypeError, match="rgb must be a NumPy array"):
        save_image(tmp_path / "x.png", [[0.0]])


def test_data_url_bytes():
    assert data_url_bytes("data:image/png;base64,aGVsbG8=") == b"hello"
    for bad in ("data:image/png,hello", "http://example.org/x.png"):
        with pytest.raises(ImageError, match="data URL"):
            data_url_bytes(bad)
