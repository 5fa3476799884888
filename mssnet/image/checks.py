"""The package's one input checker (kornia's ``KORNIA_CHECK`` idea): small functions that return the
checked value or raise ``TypeError`` (the wrong kind of value) or ``ValueError`` (a value outside what
is accepted), always worded ``"<name> must be <expected>; got <actual>"``.

Every door uses them — the Python API (:func:`mssnet.zoom`, :class:`~mssnet.pyramid.pyramid.ZoomPyramid`,
:func:`mssnet.sharpen`), the studio (:func:`mssnet.serve.views.check_view_request`), the DZI routes
and the command line (:mod:`mssnet.argtypes`, which passes ``name=None`` so argparse names the option) —
so a bad zoom, viewport or tile is refused in the same words wherever it enters.

* :func:`check_number` / :func:`check_int` — a number (an integer, optionally a multiple of some step)
  in a range;
* :func:`check_zoom` — a zoom factor, by default in [:data:`MIN_FACTOR`, :data:`MAX_FACTOR`];
* :func:`check_viewport` — a ``(w, h)`` window of at least 1 px a side;
* :func:`check_tile` — a tile side (and its overlap or margin) on the 16-px grid MSSNet needs;
* :func:`check_rgb_float` — an (H, W, 3) float RGB image with finite values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_FACTOR", "MIN_FACTOR", "check_int", "check_number", "check_rgb_float", "check_tile",
           "check_viewport", "check_zoom"]

#: The zoom range of a view (a viewer's window onto the zoomed image), the studio and the API.
MIN_FACTOR = 1.0
MAX_FACTOR = 8.0


def _fail(name: str | None, expected: str, got: object) -> str:
    """The one wording: ``"<name> must be <expected>; got <got>"`` (without a name: ``"must be …"``)."""
    return f"{name + ' ' if name else ''}must be {expected}; got {got}"


def _range(low: float | None, high: float | None, low_open: bool = False, unit: str = "") -> str:
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"> {low:g} and <= {high:g}{unit}" if low_open else f"between {low:g} and {high:g}{unit}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}{unit}"
    if high is not None:
        return f"<= {high:g}{unit}"
    return "finite"


def _got(value: object) -> str:
    return repr(value) if isinstance(value, str) else type(value).__name__


def check_number(value: object, name: str | None, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, unit: str = "") -> float:
    """``value`` as a finite float in [low, high] (``(low, high]`` with ``low_open``; a None bound is open).
    Numbers and numeric strings are accepted. ``TypeError`` for anything else, ``ValueError`` outside."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(_fail(name, "a number", _got(value))) from None
    above = low is None or (v > low if low_open else v >= low)
    if not (math.isfinite(v) and above and (high is None or v <= high)):  # NaN fails every comparison
        raise ValueError(_fail(name, _range(low, high, low_open, unit), f"{v:g}"))
    return v


def check_int(value: object, name: str | None, low: int | None = None, high: int | None = None, *,
              multiple: int | None = None, unit: str = "", strict: bool = False) -> int:
    """``value`` as an int in [low, high] (a None bound is open), a multiple of ``multiple`` when given.

    ``strict``: only ints (Python or NumPy, not bool) are accepted; otherwise anything ``int()`` takes
    (a float is truncated, a string parsed). ``TypeError`` for the wrong kind, ``ValueError`` outside."""
    if strict:
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise TypeError(_fail(name, "an integer", _got(value)))
        v = int(value)
    else:
        try:
            v = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise TypeError(_fail(name, "an integer", _got(value))) from None
    in_range = (low is None or v >= low) and (high is None or v <= high)
    if not in_range or (multiple and v % multiple):
        span = _range(low, high, unit=unit)
        if multiple:
            span = f"a multiple of {multiple} " + (span if span.startswith("between") else f"and {span}")
        raise ValueError(_fail(name, span, v))
    return v


def check_zoom(zoom: object, low: float = MIN_FACTOR, high: float = MAX_FACTOR, *, low_open: bool = False,
               name: str | None = "zoom") -> float:
    """A zoom factor in [low, high] (``(low, high]`` with ``low_open``) -> float."""
    return check_number(zoom, name, low, high, low_open=low_open)


def check_viewport(viewport: object, name: str = "viewport") -> tuple[int, int]:
    """A window ``(w, h)``, each side an integer >= 1 px -> (w, h)."""
    if isinstance(viewport, str) or not isinstance(viewport, Sequence) or len(viewport) != 2:
        raise TypeError(_fail(name, "(w, h)", repr(viewport)))
    return (check_int(viewport[0], f"{name} width", 1, unit="px"),
            check_int(viewport[1], f"{name} height", 1, unit="px"))


def check_tile(tile: object, low: int, high: int | None = None, *, multiple: int = 16, name: str = "tile") -> int:
    """A tile side (or its overlap or margin): an int, a multiple of ``multiple``, in [low, high]."""
    return check_int(tile, name, low, high, multiple=multiple, strict=True)


def check_rgb_float(image: object) -> None:
    """The zoom's input: (H, W, 3) float32/float64 RGB, H, W >= 1, finite values.

    Raises ``TypeError`` (not an array, wrong dtype) or ``ValueError`` (shape, NaN/inf).
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(_fail("image", "a numpy array", _got(image)))
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError(_fail("image", "(H, W, 3) RGB with H, W >= 1", f"shape {image.shape}"))
    if image.dtype not in (np.float32, np.float64):
        raise TypeError(_fail("image", "float32 or float64 with values in [0, 1]", image.dtype))
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
