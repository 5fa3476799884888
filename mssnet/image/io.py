"""Read and write image files at the edges of the package.

:func:`load_image` turns whatever a user drops in (a path, the file's bytes or a
PIL image) into the package's convention: RGB float32 in [0, 1], ``(H, W, 3)``,
with alpha kept apart. It applies the EXIF orientation, converts gray, palette,
CMYK and 16-/32-bit modes to RGB, keeps 16-bit precision (16-bit colour PNG and
TIFF, which Pillow would cut to 8 bits, are decoded with OpenCV), and refuses
what it cannot handle with one exception, :class:`ImageError`, whose one-line
message names the file: empty or unrecognised files, truncated or corrupt data,
animated images, images above ``max_pixels`` (checked from the header, before
any pixels are decoded) and images without pixels.

:func:`save_image` writes PNG (8- or 16-bit), JPEG (alpha dropped), TIFF, WebP
and any other format Pillow knows by the file extension.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "SIXTEEN_BIT_SUFFIXES",
    "ImageError",
    "LoadedImage",
    "load_image",
    "output_format",
    "png_by_content",
    "save_image",
    "to_uint8",
]

#: Default limit on width x height for :func:`load_image`.
MAX_PIXELS = 40_000_000
#: File extensions the CLI treats as images.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Extensions :func:`save_image` can write with ``bit_depth=16``.
SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")

_EXIF_ORIENTATION = 0x0112
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # read as 16-bit precision


class ImageError(ValueError):
    """An image that cannot be used: empty, not an image, corrupt, animated or too large."""


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image in the package's convention.

    rgb: (H, W, 3) float32 in [0, 1]. alpha: (H, W) float32 in [0, 1] or None.
    bit_depth: 8 or 16 (precision of the source samples). mode: the source's
    Pillow mode (``"L"``, ``"LA"``, ``"RGBA"``, ``"I;16"``, ``"CMYK"``, ...; 16-bit
    colour is reported as ``"RGB;16"``/``"RGBA;16"``). size: ``(width, height)``
    after the EXIF rotation. format: Pillow's format name (``"PNG"``) or None.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    mode: str
    size: tuple[int, int]
    format: str | None = None

    @property
    def array(self) -> np.ndarray:
        """(H, W, 3) RGB, or (H, W, 4) RGBA when there is alpha; float32 in [0, 1]."""
        if self.alpha is None:
            return self.rgb
        return np.concatenate([self.rgb, self.alpha[:, :, None]], axis=2)


Source = str | os.PathLike | bytes | bytearray | memoryview | Image.Image


# --------------------------------------------------------------------------- loading


def load_image(source: Source, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Read an image from a path, the file's bytes or a PIL image.

    Raises ``FileNotFoundError`` for a missing path, ``TypeError`` for another kind
    of ``source``, and :class:`ImageError` for a file that is empty, not an image,
    truncated or corrupt, animated, above ``max_pixels`` pixels, or without pixels.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive int; got {max_pixels!r}")
    name, data, im = _open(source, max_pixels)
    try:
        return _decode(im, name, data, max_pixels)
    finally:
        if not isinstance(source, Image.Image):
            im.close()


def _open(source: Source, max_pixels: int) -> tuple[str, bytes | None, Image.Image]:
    """Return (name for messages, raw file bytes or None, opened but not decoded PIL image)."""
    if isinstance(source, Image.Image):
        return "image", None, source
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "image data", bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise FileNotFoundError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a folder, not an image")
        data = path.read_bytes()
    else:
        raise TypeError(f"expected a path, bytes or a PIL image; got {type(source).__name__}")
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # header claims more than twice Pillow's own limit
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(pixels.group(1)):,} pixels" if pixels else "too many pixels"
        raise ImageError(f"{name}: image too large ({count}); the limit is {max_pixels:,} pixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image, or a format that is not supported") from None
    except (OSError, ValueError, SyntaxError) as exc:  # broken header
        raise ImageError(f"{name}: corrupt image header ({first_line(exc)})") from None
    return name, data, im


def _decode(im: Image.Image, name: str, data: bytes | None, max_pixels: int) -> LoadedImage:
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageError(f"{name}: image has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: image too large ({width}×{height} = {width * height:,} pixels); "
            f"the limit is {max_pixels:,} pixels"
        )
    mode, fmt = im.mode, im.format
    wide = data is not None and _is_wide_colour(im)  # before load(), which clears im.tile
    try:
        if getattr(im, "n_frames", 1) > 1:
            raise ImageError(f"{name}: animated images are not supported; export one frame")
        im.load()  # force the full decode: truncated data fails here, not later
        orientation = _orientation(im)
        if wide:
            rgb, alpha, bit_depth = _decode_wide_colour(data)
            mode = mode + ";16"
        else:
            rgb, alpha, bit_depth = _to_float(im)
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, cv2.error) as exc:
        raise ImageError(f"{name}: truncated or corrupt image data ({first_line(exc)})") from None

    rgb = _orient(rgb, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        bit_depth=bit_depth,
        mode=mode,
        size=(rgb.shape[1], rgb.shape[0]),
        format=fmt,
    )


def _to_float(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decoded PIL image -> rgb (H, W, 3), alpha (H, W) or None, bit depth."""
    mode = im.mode
    if mode in _WIDE_MODES:
        gray = np.asarray(im).astype(np.float32)
        gray = gray if mode == "F" else gray / 65535.0
        gray = np.clip(np.nan_to_num(gray), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2), None, 16
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("PA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif mode in ("L", "1") and "transparency" in im.info:  # tRNS chunk: one gray value is transparent
        im = im.convert("LA")
    elif mode == "RGB" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode == "LA":
        la = np.asarray(im, dtype=np.float32) / 255.0  # (H, W, 2)
        return np.repeat(la[:, :, :1], 3, axis=2), la[:, :, 1], 8
    if im.mode == "RGBA":
        rgba = np.asarray(im, dtype=np.float32) / 255.0
        return rgba[:, :, :3], rgba[:, :, 3], 8
    rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0  # L, 1, CMYK, YCbCr, LAB, HSV, RGB
    return rgb, None, 8


def _is_wide_colour(im: Image.Image) -> bool:
    """True for colour (or gray + alpha) with 16-bit samples, which Pillow reduces to 8 bits."""
    if im.mode not in ("RGB", "RGBA", "LA"):
        return False
    for tile in getattr(im, "tile", None) or []:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args else "")
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _decode_wide_colour(data: bytes) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decode 16-bit colour with OpenCV (no EXIF rotation: the caller applies it)."""
    flags = cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if arr is None:
        raise ValueError("OpenCV could not decode the 16-bit data")
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    bit_depth = 16 if arr.dtype == np.uint16 else 8
    arr = arr.astype(np.float32) / scale
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2), None, bit_depth
    if arr.shape[2] == 2:  # gray + alpha
        return np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1], bit_depth
    if arr.shape[2] == 4:
        return arr[:, :, 2::-1], arr[:, :, 3], bit_depth  # BGRA -> RGB, A
    return arr[:, :, ::-1], None, bit_depth  # BGR -> RGB


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 (a broken EXIF block only loses the rotation)
        return 1
    return value if 1 <= value <= 8 else 1


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to (H, W) or (H, W, C), as ``ImageOps.exif_transpose``."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:  # transpose
        return a.swapaxes(0, 1)
    if orientation == 6:  # rotate 90° clockwise
        return np.rot90(a, k=-1)
    if orientation == 7:  # transverse
        return a[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:  # rotate 90° counter-clockwise
        return np.rot90(a, k=1)
    return a


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty), at most 160 characters."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


# --------------------------------------------------------------------------- writing


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float in [0, 1] (any shape) -> uint8, clipped and rounded; uint8 passes, uint16 is scaled."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a NumPy array; got {type(image).__name__}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.rint(image / 257.0).astype(np.uint8)
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"expected float in [0, 1], uint8 or uint16; got {image.dtype}")
    return np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)


def _to_uint16(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        return image
    if image.dtype == np.uint8:
        return image.astype(np.uint16) * 257
    return np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 65535.0).astype(np.uint16)


def output_format(path: str | os.PathLike, bit_depth: int = 8) -> str:
    """The format :func:`save_image` writes for ``path`` (Pillow's name, e.g. ``"PNG"``).

    Raises ``ValueError`` for an unknown extension, a ``bit_depth`` other than 8 or
    16, or 16 bits for a format other than PNG and TIFF. Lets a caller check an
    output name before doing the work.
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16; got {bit_depth!r}")
    name, suffix = Path(path).name, Path(path).suffix.lower()
    if bit_depth == 16 and suffix not in SIXTEEN_BIT_SUFFIXES:
        raise ValueError(f"16-bit output needs one of {', '.join(SIXTEEN_BIT_SUFFIXES)}; got {name!r}")
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"unknown image format for {name!r}; use .png, .jpg, .tif or .webp")
    return fmt


def save_image(
    path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int = 8
) -> Path:
    """Write ``rgb`` (H, W, 3) and optional ``alpha`` (H, W) to ``path``; return the path.

    Values are float in [0, 1] (clipped), uint8 or uint16. The format follows the
    extension: ``.png``, ``.tif``/``.tiff`` (8- or 16-bit, with alpha), ``.jpg``/
    ``.jpeg`` (quality 95, alpha dropped), ``.webp`` (lossless) or any other format
    Pillow writes (alpha dropped where the format has none). ``bit_depth=16`` needs
    PNG or TIFF.
    """
    path = Path(path)
    _check_array("rgb", rgb, 3)
    if rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3); got shape {rgb.shape}")
    if alpha is not None:
        _check_array("alpha", alpha, 2)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha must be (H, W) = {rgb.shape[:2]}; got shape {alpha.shape}")
    fmt = output_format(path, bit_depth)
    suffix = path.suffix.lower()
    if bit_depth == 16:
        channels = [_to_uint16(rgb)[:, :, ::-1]]  # RGB -> BGR for OpenCV
        if alpha is not None:
            channels.append(_to_uint16(alpha)[:, :, None])
        ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(np.concatenate(channels, axis=2)))
        if not ok:
            raise OSError(f"{path}: OpenCV could not encode a 16-bit {suffix} image")
        path.write_bytes(encoded.tobytes())
        return path

    im = Image.fromarray(to_uint8(rgb), "RGB")
    if alpha is not None and fmt not in ("JPEG", "MPO"):
        im.putalpha(Image.fromarray(to_uint8(alpha), "L"))
    options = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(fmt, {})
    try:
        im.save(path, fmt, **options)
    except OSError as exc:
        if im.mode != "RGBA" or "mode RGBA" not in str(exc):
            raise
        im.convert("RGB").save(path, fmt, **options)  # the format has no alpha
    return path


def _check_array(name: str, a: np.ndarray, ndim: int) -> None:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array; got {type(a).__name__}")
    if a.ndim != ndim or a.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array; got shape {a.shape}")
    if a.dtype not in (np.uint8, np.uint16) and not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be float in [0, 1], uint8 or uint16; got {a.dtype}")


def data_url_bytes(url: str) -> bytes:
    """A ``data:[type];base64,...`` URL (what a browser pastes) -> the bytes it carries."""
    header, _, payload = url.partition(",")
    if not header.startswith("data:") or not header.endswith(";base64"):
        raise ImageError("Not a base64 data URL.")
    return base64.b64decode(payload)


def png_by_content(image: np.ndarray, folder: str | os.PathLike) -> Path:
    """Float (clipped) or uint8 image -> a PNG in ``folder`` named by its pixels -> its path.

    An image written twice is encoded once, with zlib level 1 (faster than the default for slightly
    larger files, bench/README.md); written whole under a temporary name, then renamed, so a reader never
    sees half a file."""
    u8 = np.ascontiguousarray(to_uint8(image))
    digest = hashlib.sha1(u8.data)
    digest.update(repr(u8.shape).encode())
    path = Path(folder) / f"{digest.hexdigest()[:24]}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(".png", u8[..., ::-1] if u8.ndim == 3 else u8, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        assert ok, "OpenCV could not encode a PNG"
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}")
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    return path
