"""Keep a long-running server's heap small: glibc malloc arenas and trimming.

Every Gradio worker thread otherwise gets its own malloc arena, and freed image buffers
stay scattered over them, so a server's resident memory grows round after round under load
(``bench/load.py``; bench/README.md). Both functions do nothing off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["limit_malloc_arenas", "release_memory"]

#: ``mallopt`` option number of M_ARENA_MAX (glibc's malloc.h).
M_ARENA_MAX = -8


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (Linux), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


def limit_malloc_arenas(count: int = 2) -> None:
    """Let glibc keep at most ``count`` malloc arenas (call once, before the worker threads start)."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, int(count))


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc ``malloc_trim``), after big results."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
