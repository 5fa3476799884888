"""What every event of :class:`explain.page.Page` shares: its result (``Fields``), its progress callback
(``Progress``), the error of a button pressed too early (:class:`Missing`) and what a user is told of an error
(:func:`user_message`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["NO_MEMORY", "Fields", "Missing", "Progress", "need", "progress_steps", "user_message"]

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


#: What a user is told when an image does not fit in memory at the size asked for.
NO_MEMORY = "Not enough memory for this image at this size; try a smaller zoom or viewport."


def user_message(exc: BaseException, upload: str | None = None) -> tuple[str, str | None] | None:
    """What to tell the user of ``exc`` -> (message, title; None: the default title), or None where it is not the
    user's to mend (let it propagate). Bad input (``ValueError``: :class:`Missing`, ``ImageError``,
    ``CheckpointError``; ``TypeError``; ``FileNotFoundError``) says what is wrong, a temporary ``upload`` path shown
    by its name, titled "Cannot do that" (:class:`Missing`, nothing to work on yet: untitled); running out of memory
    (``MemoryError``, or a ``RuntimeError`` about allocation) says :data:`NO_MEMORY`."""
    if isinstance(exc, (ValueError, TypeError, FileNotFoundError)):
        message = str(exc).replace(upload, Path(upload).name) if upload else str(exc)
        return message, None if isinstance(exc, Missing) else "Cannot do that"
    if isinstance(exc, MemoryError) or isinstance(exc, RuntimeError) and ("alloc" in str(exc)
                                                                        or "out of memory" in str(exc)):
        return NO_MEMORY, None
    return None
