"""PNG helpers shared by the page's tests (tests/explain/test_explain_page.py, tests/app/test_app.py)."""

import numpy as np
from PIL import Image


def write_png(path, array, mode=None):
    """Save a uint8 array as a PNG -> its path as a string."""
    Image.fromarray(array, mode).save(path)
    return str(path)


def make_test_image(folder):
    """The 80×48 RGB test image (stripes and noise) as a PNG in ``folder`` -> its path."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:80]
    rgb = np.stack([(x * 3) % 256, (y * 5) % 256, rng.integers(0, 256, (48, 80))], axis=2).astype(np.uint8)
    return write_png(folder / "test.png", rgb)


def png_shape(path):
    """(H, W, channels) of a PNG the page shows, as stored (no conversion)."""
    assert isinstance(path, str) and path.endswith(".png"), path
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im).shape


def is_rgb_png(path, min_side=32):
    """A PNG of an RGB(A) image or figure, at least ``min_side`` px a side."""
    shape = png_shape(path)
    return len(shape) == 3 and shape[2] in (3, 4) and min(shape[:2]) >= min_side


#: Files that are no image, with the words the error about each names: (bytes or None, message). None stands
#: for a PNG cut in half (see :func:`bad_file`).
BAD_FILES = [(b"", "empty"), (b"this is not an image at all", "not an image"), (None, "truncated or corrupt")]


def bad_file(data, image_path, folder):
    """One of :data:`BAD_FILES` written as ``folder/upload.png`` (None: the first 300 bytes of ``image_path``)."""
    if data is None:
        data = open(image_path, "rb").read()[:300]
    path = folder / "upload.png"
    path.write_bytes(data)
    return path
