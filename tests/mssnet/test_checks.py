"""Tests for mssnet.image.checks: the one checker and its one wording, at every door."""

import argparse

import numpy as np
import pytest
from fakes import Identity

from mssnet.argtypes import float_in_range, tile_size
from mssnet.image.checks import check_int, check_number, check_rgb_float, check_tile, check_viewport, check_zoom
from mssnet.image.zoom import zoom
from mssnet.runtime.inference import sharpen


def test_numbers_and_ranges():
    assert check_number("2.5", "zoom", 1, 8) == 2.5 and check_zoom(8) == 8.0
    with pytest.raises(ValueError, match=r"^zoom must be between 1 and 8; got 9$"):
        check_zoom(9)
    with pytest.raises(ValueError, match=r"^zoom must be between 1 and 8; got nan$"):
        check_zoom(float("nan"))
    with pytest.raises(ValueError, match=r"^zoom must be > 0 and <= 8; got 0$"):
        check_zoom(0, 0, 8, low_open=True)
    with pytest.raises(TypeError, match=r"^zoom must be a number; got NoneType$"):
        check_zoom(None)
    with pytest.raises(TypeError, match=r"^zoom must be a number; got 'x'$"):
        check_zoom("x")


def test_integers_tiles_and_viewports():
    assert check_int(64.0, "viewport", 16, 1024, unit="px") == 64
    with pytest.raises(ValueError, match=r"^viewport must be between 16 and 1024 px; got 8$"):
        check_int(8, "viewport", 16, 1024, unit="px")
    assert check_tile(np.int64(256), 64, 512) == 256
    with pytest.raises(ValueError, match=r"^tile must be a multiple of 16 between 64 and 512; got 100$"):
        check_tile(100, 64, 512)
    with pytest.raises(ValueError, match=r"^margin must be a multiple of 16 and >= 0; got -16$"):
        check_tile(-16, 0, name="margin")
    for bad in (64.0, True, "64"):
        with pytest.raises(TypeError, match="tile must be an integer; got"):
            check_tile(bad, 64)
    assert check_viewport((32, 24.0)) == (32, 24)
    with pytest.raises(ValueError, match=r"^viewport height must be >= 1 px; got 0$"):
        check_viewport((32, 0))
    with pytest.raises(TypeError, match=r"^viewport must be \(w, h\); got 32$"):
        check_viewport(32)


def test_rgb_images():
    check_rgb_float(np.zeros((2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="image must be float32 or float64"):
        check_rgb_float(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"image must be \(H, W, 3\)"):
        check_rgb_float(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_rgb_float(np.full((2, 3, 3), np.nan, np.float32))


def test_every_door_words_a_bad_value_the_same_way():
    """The Python API and the command line's types say the same thing about the same bad value."""
    image = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError) as api:
        zoom(image, 9, viewport=(4, 4))
    with pytest.raises(argparse.ArgumentTypeError) as cli:
        float_in_range(1, 8)("9")
    assert str(api.value) == "zoom " + str(cli.value) == "zoom must be between 1 and 8; got 9"
    with pytest.raises(ValueError) as api:
        sharpen(Identity(), image, tile=100)
    with pytest.raises(argparse.ArgumentTypeError) as cli:
        tile_size("100")
    assert str(api.value) == "tile " + str(cli.value) == "tile must be a multiple of 16 and >= 64; got 100"
