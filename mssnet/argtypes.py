"""Small reusable ``type=`` callables for argparse: each parses one string or raises
``argparse.ArgumentTypeError`` with a one-line message (expected vs. got).

    parser.add_argument("--crops", type=int_at_least(1))
    parser.add_argument("--zoom", type=float_in_range(0, 8, low_open=True))
    parser.add_argument("--tile", type=tile_size)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from .runtime.inference import MIN_TILE, MULTIPLE

__all__ = ["float_above", "float_in_range", "int_at_least", "positive_int", "tile_size"]

def _number(text: str, kind: type) -> float | int:
    try:
        return kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer >= ``low``."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"int_at_least_{low}"
    return parse


#: An integer >= 1.
positive_int = int_at_least(1)


def float_in_range(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite float in [low, high] (or (low, high] with ``low_open``); NaN is refused."""

    def parse(text: str) -> float:
        value = _number(text, float)
        above = value > low if low_open else value >= low
        if not (math.isfinite(value) and above and value <= high):
            if low_open:
                raise argparse.ArgumentTypeError(f"must be > {low:g} and <= {high:g}, got {text}")
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    parse.__name__ = "float_in_range"
    return parse


def float_above(low: float) -> Callable[[str], float]:
    """A finite float > ``low``."""

    def parse(text: str) -> float:
        value = _number(text, float)
        if not (math.isfinite(value) and value > low):
            raise argparse.ArgumentTypeError(f"must be above {low:g}, got {text}")
        return value

    parse.__name__ = f"float_above_{low:g}"
    return parse


def tile_size(text: str) -> int:
    """A tile side for :func:`mssnet.sharpen`: a multiple of 16, at least 64."""
    value = _number(text, int)
    if value < MIN_TILE or value % MULTIPLE:
        raise argparse.ArgumentTypeError(f"must be a multiple of {MULTIPLE} and >= {MIN_TILE}, got {value}")
    return value
