"""The background fill: :class:`FillWorker`, one thread filling the tiles around the last view of every
pyramid attached to it, round-robin, yielding to views between tiles; running workers are stopped
at interpreter exit (:mod:`mssnet.runtime.background`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from ..runtime import background
from .tiles import TileId

__all__ = ["FILL_BUDGET_PIXELS", "FillWorker", "Fillable"]


#: Tiles the background fill computes per image at most, in pixels.
FILL_BUDGET_PIXELS = 8_000_000


class Fillable(Protocol):
    """What the worker asks of a pyramid (:class:`mssnet.pyramid.pyramid.ZoomPyramid` is one)."""

    image_key: Any

    def fill_order(self, center: tuple[float, float] | None, levels: Sequence[int], budget_pixels: int
                   ) -> list[TileId]: ...

    def is_cached(self, tid: TileId) -> bool: ...

    def get_tile(self, tid: TileId, computed: list[TileId] | None = None) -> Any: ...


class FillWorker:
    """One background thread that fills pyramids' tiles while no view is waiting.

    After each view a pyramid attached to the worker (``ZoomPyramid(fill=worker)``) hands
    it the tiles around that view (:meth:`ZoomPyramid.fill_order`: level 1, then the level in
    use, nearest first, at most ``budget_pixels`` per image). The worker computes one tile at
    a time, taking the pyramids in turn (round-robin: no image starves another), and before
    each tile waits while any view is being computed (:meth:`foreground`): a view waits at
    most for the one tile in progress. The thread starts on the first job; :meth:`stop` ends it.
    """

    def __init__(self, budget_pixels: int = FILL_BUDGET_PIXELS) -> None:
        self.budget_pixels = int(budget_pixels)
        self._jobs: OrderedDict[int, tuple[Fillable, deque[TileId]]] = OrderedDict()
        self._cond = threading.Condition()
        self._foreground = 0
        self._stopping = False
        self._busy = False
        self._thread: threading.Thread | None = None
        # the latest (image key, tile) the fill computed, in order, and the latest errors (bounded)
        self.done: deque[tuple[str, TileId]] = deque(maxlen=4096)
        self.errors: deque[BaseException] = deque(maxlen=64)

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Held while a view computes: the fill starts no tile meanwhile."""
        with self._cond:
            self._foreground += 1
        try:
            yield
        finally:
            with self._cond:
                self._foreground -= 1
                self._cond.notify_all()

    def submit(self, pyramid: Fillable, center: tuple[float, float] | None, levels: Sequence[int]) -> None:
        """Replace the pyramid's pending tiles with those around ``center``."""
        order = pyramid.fill_order(center, levels, self.budget_pixels)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the FillWorker was stopped")
            self._jobs.pop(id(pyramid), None)
            if order:
                self._jobs[id(pyramid)] = (pyramid, deque(order))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pyramid-fill", daemon=True)
                self._thread.start()
                background.end_at_exit(self, lambda worker: worker.stop(background.END_TIMEOUT_S))
            self._cond.notify_all()

    def cancel(self, pyramid: Fillable) -> None:
        with self._cond:
            self._jobs.pop(id(pyramid), None)

    def pending(self) -> int:
        """Tiles still planned, all pyramids together."""
        with self._cond:
            return sum(len(q) for _, q in self._jobs.values())

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is planned or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Drop all jobs and end the thread (after the tile in progress)."""
        with self._cond:
            self._stopping = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        background.forget(self)

    def _next(self) -> tuple[Fillable, TileId] | None:
        """Next tile, round-robin over pyramids; waits for work and for no foreground view."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._stopping or (self._jobs and self._foreground == 0))
            if self._stopping:
                return None
            key, (pyramid, queue) = next(iter(self._jobs.items()))
            tid = queue.popleft()
            self._jobs.pop(key)
            if queue:
                self._jobs[key] = (pyramid, queue)  # to the back: the next pyramid goes first
            self._busy = True
            return pyramid, tid

    def _run(self) -> None:
        while (job := self._next()) is not None:
            pyramid, tid = job
            try:
                if not pyramid.is_cached(tid):
                    computed: list[TileId] = []
                    pyramid.get_tile(tid, computed)
                    with self._cond:
                        self.done.extend((pyramid.image_key, t) for t in computed)
            except Exception as exc:  # a failing job must not end the worker; kept for inspection
                with self._cond:
                    self.errors.append(exc)
                    self._jobs.pop(id(pyramid), None)
