"""The argparse types shared by the command-line tools."""

import argparse

import pytest

from mssnet.argtypes import float_above, float_in_range, int_at_least, positive_int, tile_size


def test_int_at_least_and_positive_int():
    assert int_at_least(16)("16") == 16 and positive_int("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match=">= 16; got 15"):
        int_at_least(16)("15")
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer; got '1.5'"):
        positive_int("1.5")


def test_float_in_range_closed_and_open():
    assert float_in_range(0, 3)("0") == 0.0 and float_in_range(0, 3)("3") == 3.0
    with pytest.raises(argparse.ArgumentTypeError, match="between 0 and 3; got nan"):
        float_in_range(0, 3)("nan")
    with pytest.raises(argparse.ArgumentTypeError, match="> 0 and <= 8; got 0"):
        float_in_range(0, 8, low_open=True)("0")
    with pytest.raises(argparse.ArgumentTypeError, match="must be a number; got 'x'"):
        float_in_range(0, 8)("x")


def test_float_above_and_tile_size():
    assert float_above(1)("1.5") == 1.5
    with pytest.raises(argparse.ArgumentTypeError, match="> 1; got 1"):
        float_above(1)("1")
    with pytest.raises(argparse.ArgumentTypeError, match="> 1; got inf"):
        float_above(1)("inf")
    assert tile_size("256") == 256
    for bad in ("48", "100"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"multiple of 16 and >= 64; got {bad}"):
            tile_size(bad)
