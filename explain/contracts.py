"""What every event of :class:`explain.page.Page` shares: its result (``Fields``), its progress callback
(``Progress``) and the error of a button pressed too early (:class:`Missing`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Fields", "Missing", "Progress", "need", "progress_steps"]

Fields = dict[str, Any]
#: ``progress(fraction in [0, 1], text)``.
Progress = Callable[[float, str], object] | None


class Missing(ValueError):
    """A button pressed before there is anything to work on (no image, no view)."""


def need(value: Any, message: str = "Load an image first.") -> None:
    """Raise :class:`Missing` with ``message`` when ``value`` is None."""
    if value is None:
        raise Missing(message)


def progress_steps(progress: Progress, text: str) -> Callable[[int, int], object] | None:
    """``progress(fraction, text)`` as the core's ``progress(done, total)``; ``text`` formats done, total."""
    if progress is None:
        return None
    return lambda done, total: progress(done / total, text.format(done=done, total=total))
