"""Small reusable ``type=`` callables for argparse: each parses one string or raises
``argparse.ArgumentTypeError`` with a one-line message (expected vs. got).

    parser.add_argument("--crops", type=int_at_least(1))
    parser.add_argument("--zoom", type=float_in_range(0, 8, low_open=True))
    parser.add_argument("--tile", type=tile_size)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .image.checks import check_int, check_number
from .runtime.tiling import MIN_TILE, MULTIPLE

__all__ = ["float_above", "float_in_range", "int_at_least", "positive_int", "tile_size"]


def _parsed(check: Callable[[], float | int]) -> float | int:
    """Run one of :mod:`mssnet.image.checks` (without a name: argparse names the option) as an argparse type."""
    try:
        return check()
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer >= ``low``."""

    def parse(text: str) -> int:
        return _parsed(lambda: check_int(text, None, low, strict=False))

    parse.__name__ = f"int_at_least_{low}"
    return parse


#: An integer >= 1.
positive_int = int_at_least(1)


def float_in_range(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite float in [low, high] (or (low, high] with ``low_open``); NaN is refused."""

    def parse(text: str) -> float:
        return _parsed(lambda: check_number(text, None, low, high, low_open=low_open))

    parse.__name__ = "float_in_range"
    return parse


def float_above(low: float) -> Callable[[str], float]:
    """A finite float > ``low``."""

    def parse(text: str) -> float:
        return _parsed(lambda: check_number(text, None, low, low_open=True))

    parse.__name__ = f"float_above_{low:g}"
    return parse


def tile_size(text: str) -> int:
    """A tile side for :func:`mssnet.sharpen`: a multiple of 16, at least 64."""
    return _parsed(lambda: check_int(text, None, MIN_TILE, multiple=MULTIPLE))
