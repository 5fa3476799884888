"""A corpus of awkward image files, built at test time (nothing large is committed).

Every case says what a correct door (Python API, command line, app) must do with it:
either produce a result with the given size (after EXIF rotation), alpha and bit depth,
or refuse it with a one-line error containing ``error``.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    name: str  # file name
    size: tuple[int, int] | None = None  # (width, height) after EXIF rotation; None: must fail
    alpha: bool = False  # the result keeps an alpha channel
    deep: bool = False  # 16-bit input: 16-bit PNG out
    error: str = ""  # lower-case part of the one-line error message

    @property
    def good(self) -> bool:
        return self.size is not None


def noise(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    """(h, w, c) uint8 random pixels."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (8-bit RGB) with one short IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def jpeg_with_orientation(path: Path, orientation: int) -> None:
    """A 40x20 (W x H) black JPEG with a white 8x8 marker at the stored top-left corner."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:8, :8] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())


def _encoded(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def build(folder: Path) -> list[Case]:
    """Write every case into ``folder``; return the cases in a fixed order."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(case: Case, data: bytes | None = None) -> None:
        if data is not None:
            (folder / case.name).write_bytes(data)
        cases.append(case)

    add(Case("zero-byte.png", error="empty file"), b"")
    add(Case("renamed-text.png", error="not an image"), b"%PDF-1.4 this is really a document\n" * 4)
    png, jpeg = _encoded(noise(64, 64), "PNG"), _encoded(noise(64, 64), "JPEG")
    add(Case("truncated.png", error="truncated or corrupt"), png[: len(png) // 2])
    add(Case("truncated.jpg", error="truncated or corrupt"), jpeg[: len(jpeg) // 2])
    add(Case("one-pixel.png", size=(1, 1)), _encoded(noise(1, 1), "PNG"))
    add(Case("seven-by-five.png", size=(7, 5)), _encoded(noise(5, 7), "PNG"))
    deep = np.random.default_rng(1).integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    cv2.imwrite(str(folder / "sixteen-bit.png"), deep)
    add(Case("sixteen-bit.png", size=(32, 24), deep=True))
    add(Case("gray.png", size=(30, 20)), _encoded(noise(20, 30, 1)[..., 0], "PNG"))
    gray_alpha = Image.fromarray(noise(20, 30, 2), "LA")
    gray_alpha.save(folder / "gray-alpha.png")
    add(Case("gray-alpha.png", size=(30, 20), alpha=True))
    rgba = noise(24, 36, 4)
    rgba[:, :18, 3] = 0  # left half fully transparent
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png")
    add(Case("transparent.png", size=(36, 24), alpha=True))
    Image.new("CMYK", (16, 12), (0, 255, 255, 0)).save(folder / "cmyk.jpg", quality=95)
    add(Case("cmyk.jpg", size=(16, 12)))
    for orientation in (6, 8):
        jpeg_with_orientation(folder / f"exif-{orientation}.jpg", orientation)
        add(Case(f"exif-{orientation}.jpg", size=(20, 40)))  # stored 40x20, shown rotated
    frames = [Image.fromarray(noise(12, 12, seed=s)) for s in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    add(Case("animated.gif", error="animated"))
    frames[0].save(folder / "still.gif")
    add(Case("still.gif", size=(12, 12)))
    add(Case("bomb.png", error="too large"), png_header_only(30000, 30000))
    return cases


def non_finite_arrays() -> dict[str, np.ndarray]:
    """Float images the Python API must refuse: (16, 16, 3) with a NaN, +inf or -inf."""
    out = {}
    for name, value in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        a = np.full((16, 16, 3), 0.5, np.float32)
        a[3, 4, 1] = value
        out[name] = a
    return out


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w, 3) float32 in [0, 1] with edges and texture: blurred noise plus a few hard bars."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 1.2) * 1.5 - 0.25
    img[h // 3 : h // 3 + 3] = 0.9
    img[:, w // 2 : w // 2 + 2] = 0.1
    return np.clip(img, 0, 1)
