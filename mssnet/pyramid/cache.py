"""The tile cache: :class:`TileCache`, a thread-safe LRU of read-only arrays bounded in bytes, shared by
any number of pyramids (images, weights), one computation per key even when several threads ask for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future

import numpy as np

__all__ = ["DEFAULT_CACHE_BYTES", "TileCache"]


#: Default byte budget of a :class:`TileCache` (a 256² tile is 0.75 MiB).
DEFAULT_CACHE_BYTES = 384 * 2**20


class TileCache:
    """Thread-safe LRU of arrays bounded in bytes, shared by any number of pyramids.

    Keys are any hashables (a pyramid uses image hash, weights hash, settings, tile id).
    :meth:`get_or_compute` runs ``compute`` once per key even when several threads ask at
    once; the others wait for that result. Arrays are stored read-only. An array larger
    than the whole budget is returned but not kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an int >= 0; got {max_bytes!r}")
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = self.misses = self.evictions = 0
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._inflight: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        """Present, without counting as a use."""
        with self._lock:
            return key in self._items

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        value.setflags(write=False)
        with self._lock:
            self._put(key, value)

    def _put(self, key: Hashable, value: np.ndarray) -> None:
        if key in self._items:
            self.nbytes -= self._items.pop(key).nbytes
        if value.nbytes > self.max_bytes:
            return
        self._items[key] = value
        self.nbytes += value.nbytes
        while self.nbytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.nbytes -= old.nbytes
            self.evictions += 1

    def get_or_compute(self, key: Hashable, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """``(value, computed_here)``: the cached value, another thread's result, or ``compute()``'s."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return value, False
            self.misses += 1
            future = self._inflight.get(key)
            owner = future is None
            if owner:
                future = self._inflight[key] = Future()
        if not owner:
            return future.result(), False
        try:
            value = compute()
            value.setflags(write=False)
            with self._lock:
                self._put(key, value)
            future.set_result(value)
            return value, True
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._inflight[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0
