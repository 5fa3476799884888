"""Background threads that run network passes, ended before the interpreter tears down.

A daemon thread left inside a PyTorch or OpenVINO call while the process exits aborts it
("terminate called without an active exception"). Whatever owns such a thread registers how to end
it with :func:`end_at_exit`; at exit (after the main thread, before the interpreter's teardown)
every owner still alive is ended, each finishing the pass in progress. :func:`start` runs a
one-off job on such a thread.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["END_TIMEOUT_S", "end_at_exit", "forget", "start"]

#: How long the exit waits for one owner's pass in progress, in seconds.
END_TIMEOUT_S = 120.0

_OWNERS: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def end_at_exit(owner: Any, end: Callable[[Any], None]) -> None:
    """At interpreter exit call ``end(owner)``, unless ``owner`` is gone or :func:`forget` first.
    ``owner`` is held weakly (it must accept weak references); ``end`` must not hold it."""
    with _LOCK:
        _OWNERS[owner] = end


def forget(owner: Any) -> None:
    """``owner`` ended on its own: nothing to do at exit."""
    with _LOCK:
        _OWNERS.pop(owner, None)


def start(target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Run ``target(*args)`` on a daemon thread, joined at exit if still running -> the thread."""
    thread = threading.Thread(target=_run_then_forget, args=(target, args), name=name, daemon=True)
    end_at_exit(thread, lambda t: t.join(END_TIMEOUT_S))
    thread.start()
    return thread


def _run_then_forget(target: Callable[..., Any], args: tuple) -> None:
    try:
        target(*args)
    finally:
        forget(threading.current_thread())


@atexit.register
def _end_all() -> None:
    with _LOCK:
        owners = list(_OWNERS.items())
    for owner, end in owners:
        if owner is not threading.current_thread():
            end(owner)
