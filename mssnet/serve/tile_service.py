"""The tile service: the Deep Zoom layers of :mod:`mssnet.serve.deepzoom` over HTTP, without a web framework.

* :class:`TileService` — images by unguessable id, tiles encoded once and cached as bytes in a
  :class:`~mssnet.pyramid.cache.TileCache`, network work done off the caller's thread, newest request
  first, bounded per image and in total. :meth:`TileService.respond` returns a
  :class:`~mssnet.serve.tile_http.Reply` that a route turns into a response;
* :func:`view_arguments` / :func:`exact_view` — the exact-view endpoint: any window of the image at any
  zoom by the pyramid's rule (or plain bicubic).

Its paths, replies and cache validators are :mod:`mssnet.serve.tile_http`'s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..image.checks import check_zoom
from ..image.zoom import resample
from ..pyramid.fill import FillWorker
from ..pyramid.levels import MAX_LEVEL, pyramid_level
from ..pyramid.pyramid import ZoomPyramid
from ..runtime import background
from .deepzoom import DEFAULT_OVERLAP, FORMAT, DeepZoomImage, encode_png
from .tile_http import TILE_CACHE, Reply, error, etag, matches, parse_path

__all__ = ["MAX_VIEW_PIXELS", "TileService", "exact_view", "view_arguments"]


log = logging.getLogger(__name__)


def _retrieve(future: asyncio.Future) -> None:
    """Mark a tile's outcome as seen (asyncio logs exceptions nobody retrieved: a dropped stale tile is none)."""
    if not future.cancelled():
        future.exception()


class _Stale(Exception):
    """A queued tile nobody asked for again within ``stale_seconds``."""


@dataclass
class _Job:
    key: tuple
    image_id: str
    work: Callable[[], bytes]
    future: Future = field(default_factory=Future)
    asked: float = field(default_factory=time.monotonic)


class _Entry(NamedTuple):
    image: DeepZoomImage
    name: str


class TileService:
    """Deep-zoom images by unguessable id, and their tiles on request.

    * :meth:`open` registers a pyramid under a fresh 128-bit random id and starts its background
      fill from the centre at once. Maps are kept by memory, not by count: the least recently used
      expire (their pending tiles dropped; cached bytes age out of the shared :class:`TileCache`) only
      while the images they hold come to more than ``max_bytes`` (pages that share one image share its
      bytes) or their ids to more than ``max_images``; every request of a map counts as a use.
    * Tiles that need no MSSNet pass are encoded on a small thread pool; tiles that do wait in
      one queue served by one compute thread (the network uses every core): maps take turns, a tile
      each, so that no page waits behind another page's screenful, and within a map the **newest
      request goes first**. The thread holds the background fill back while the queue is not
      empty. A request that waited ``wait_seconds`` is answered 503 + ``Retry-After`` while its
      tile goes on being made; a queued tile not asked for again within ``stale_seconds`` is dropped (a browser never
      cancels an image request: stale ones must not delay what is on screen). At most
      ``max_pending`` tiles queue in all and ``max_pending_per_image`` per image; beyond that
      the answer is 503 + ``Retry-After`` at once.
    * :meth:`respond` is the whole HTTP surface: unknown ids, bad paths, out-of-range tiles and
      bad view parameters are 404/400, never an exception and never a file.
    """

    def __init__(self, *, max_images: int = 1024, max_bytes: int = 1 << 30, max_pending: int = 256,
                 max_pending_per_image: int = 128,
                 wait_seconds: float = 5.0, stale_seconds: float = 30.0, overlap: int = DEFAULT_OVERLAP,
                 fill: FillWorker | None = None, light_workers: int = 2) -> None:
        self.max_images, self.max_bytes, self.overlap, self.fill = max_images, max_bytes, overlap, fill
        self.max_pending, self.max_pending_per_image = max_pending, max_pending_per_image
        self.wait_seconds, self.stale_seconds = wait_seconds, stale_seconds
        self._images: OrderedDict[str, _Entry] = OrderedDict()
        self._queue: OrderedDict[tuple, _Job] = OrderedDict()  # newest last
        self._turns: OrderedDict[str, None] = OrderedDict()  # ids by their last tile computed, longest ago first
        self._cond = threading.Condition()
        self._light = ThreadPoolExecutor(light_workers, thread_name_prefix="dzi-encode")
        self._thread: threading.Thread | None = None
        self._closed = False
        self.computed = self.rejected = self.dropped = 0

    # ---- images

    def open(self, pyramid: ZoomPyramid, name: str = "", center: tuple[float, float] | None = None,
             zoom: float | None = None) -> str:
        """Register ``pyramid`` -> its new id; the background fill starts right away around ``center`` (image px,
        default the middle): the level of ``zoom`` (the first view's, when known) first, then level 1."""
        image = DeepZoomImage(pyramid, self.overlap)
        image_id = secrets.token_urlsafe(16)  # 128 random bits, 22 URL-safe characters
        with self._cond:
            self._images[image_id] = _Entry(image, name)
            while len(self._images) > 1 and (len(self._images) > self.max_images or self.nbytes() > self.max_bytes):
                old, _ = self._images.popitem(last=False)
                self._drop_jobs(old)
        if pyramid.fill is not None:
            first = pyramid_level(zoom) if zoom is not None and zoom >= 1 else 1
            pyramid.start_fill(center=center, levels=tuple(dict.fromkeys((max(first, 1), 1))))
        return image_id

    def nbytes(self) -> int:
        """Bytes of the images the open maps hold, each pyramid's image counted once."""
        with self._cond:
            pyramids = {id(e.image.pyramid): e.image.pyramid for e in self._images.values()}
        return sum(p.image.nbytes for p in pyramids.values())

    def image(self, image_id: str) -> DeepZoomImage | None:
        """The image of an id (counts as a use), or None when unknown or expired."""
        with self._cond:
            entry = self._images.get(image_id)
            if entry is None:
                return None
            self._images.move_to_end(image_id)
            return entry.image

    def info(self, image_id: str, prefix: str = "/dz") -> dict:
        """The viewer info of an open id, URLs under ``prefix``."""
        image = self.image(image_id)
        if image is None:
            raise KeyError(image_id)
        base = f"{prefix}/{image_id}"
        return {"id": image_id, **image.info(base), "view_url": f"{base}/view.{FORMAT}"}

    def __len__(self) -> int:
        return len(self._images)

    def pending(self, image_id: str | None = None) -> int:
        """Tiles queued for a network pass (one image, or all)."""
        with self._cond:
            return sum(1 for j in self._queue.values() if image_id is None or j.image_id == image_id)

    # ---- the queue

    def _drop_jobs(self, image_id: str) -> None:  # holds _cond
        for key in [k for k, j in self._queue.items() if j.image_id == image_id]:
            job = self._queue.pop(key)
            job.future.set_exception(KeyError(image_id))
            self.dropped += 1

    def _submit(self, key: tuple, image_id: str, work: Callable[[], bytes]) -> Future | None:
        """Queue a network tile (or ask again for a queued one) -> its future; None when full."""
        with self._cond:
            if self._closed:
                return None
            job = self._queue.pop(key, None)
            if job is None:
                mine = sum(1 for j in self._queue.values() if j.image_id == image_id)
                if len(self._queue) >= self.max_pending or mine >= self.max_pending_per_image:
                    self.rejected += 1
                    return None
                job = _Job(key, image_id, work)
            job.asked = time.monotonic()
            self._queue[key] = job  # to the end: the newest request goes first
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dzi-mssnet", daemon=True)
                background.end_at_exit(self, TileService.close)
                self._thread.start()
            self._cond.notify_all()
            return job.future

    def _take(self) -> _Job | None:  # holds _cond
        """The next tile: maps take turns (the one whose last tile was made longest ago, or never, first), and
        within a map the newest request goes first; a stale request is dropped on the way."""
        while self._queue:
            # a map never served yet (the one asked for first: min keeps queue order), else the one served longest ago
            served = {image_id: k for k, image_id in enumerate(self._turns)}
            turn = min((job.image_id for job in self._queue.values()), key=lambda i: served.get(i, -1))
            key = next(k for k in reversed(self._queue) if self._queue[k].image_id == turn)
            job = self._queue.pop(key)
            if time.monotonic() - job.asked <= self.stale_seconds:
                self._turns.pop(turn, None)
                self._turns[turn] = None
                while len(self._turns) > self.max_images:
                    self._turns.popitem(last=False)
                return job
            job.future.set_exception(_Stale())
            self.dropped += 1
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
            with ExitStack() as held:  # the fill waits while tiles are asked for
                if self.fill is not None:
                    held.enter_context(self.fill.foreground())
                while True:
                    with self._cond:
                        job = None if self._closed else self._take()
                    if job is None:
                        break
                    try:
                        job.future.set_result(job.work())
                        self.computed += 1
                    except BaseException as exc:  # answered to the request, the worker goes on
                        job.future.set_exception(exc)

    def close(self) -> None:
        """Stop the compute thread (after its tile in progress) and the encoder pool."""
        with self._cond:
            self._closed = True
            for job in self._queue.values():
                job.future.set_exception(RuntimeError("the tile service was closed"))
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(background.END_TIMEOUT_S)
        background.forget(self)
        self._light.shutdown(wait=False, cancel_futures=True)

    # ---- HTTP

    async def respond(self, path: str, query: Mapping[str, str] | None = None,
                      if_none_match: str | None = None) -> Reply:
        """Answer ``GET <prefix>/<path>?<query>`` (``path`` without the prefix). A descriptor or tile carries
        its :func:`etag`; asked again with it in ``if_none_match`` (the request's ``If-None-Match``), the answer is
        304 without a body and without any work, also once the map has expired: the asker holds the bytes, which
        never change. A failure while making a tile (not the request's fault) is logged with its traceback and
        answered 503: the viewer asks again."""
        try:
            return await self._respond(path, query, if_none_match)
        except Exception:  # noqa: BLE001 - logged in full; the client is told to retry, never shown a trace
            log.exception("deep zoom: could not answer %s", path)
            return error(503, "could not make this tile now", retry=2)

    async def _respond(self, path: str, query: Mapping[str, str] | None, if_none_match: str | None) -> Reply:
        request = parse_path(path)
        if request is None:
            return error(404, "not found")
        headers = {"Cache-Control": TILE_CACHE, "ETag": etag(request)}
        if request.kind != "view" and matches(if_none_match, headers["ETag"]):
            return Reply(304, b"", headers=headers)
        image = self.image(request.id)
        if image is None:
            return error(404, "unknown or expired image id")
        if request.kind == "descriptor":
            return Reply(200, image.descriptor().encode(), "application/xml", headers)
        if request.kind == "view":
            return await self._view(image, query or {})
        _, _, layer, level, col, row = request
        if not image.has_tile(level, col, row):
            return error(404, "no such tile")
        loop = asyncio.get_running_loop()
        make = lambda: image.tile_png(layer, level, col, row)  # noqa: E731
        if image.ready(layer, level, col, row):
            body = await loop.run_in_executor(self._light, make)
            return Reply(200, body, "image/png", headers)
        future = self._submit((*image.key, layer, level, col, row), request.id, make)
        if future is None:
            return error(503, "busy: too many tiles queued", retry=2)
        waiting = asyncio.wrap_future(future)
        waiting.add_done_callback(_retrieve)  # a result nobody waits for any more is not an error
        try:
            body = await asyncio.wait_for(asyncio.shield(waiting), self.wait_seconds)
        except asyncio.TimeoutError:
            return error(503, "still sharpening", retry=1)
        except (_Stale, KeyError, RuntimeError, MemoryError) as exc:
            return error(503, f"not made: {type(exc).__name__}", retry=1)
        return Reply(200, body, "image/png", headers)

    async def _view(self, image: DeepZoomImage, query: Mapping[str, str]) -> Reply:
        try:
            args = view_arguments(image.pyramid.size, query)
        except ValueError as exc:
            return error(400, str(exc))
        if args["layer"] == "mssnet":
            zoom, (u0, v0), (w, h) = args["zoom"], args["origin"], args["size"]
            center = ((u0 + w / 2) / zoom, (v0 + h / 2) / zoom)
            if not image.pyramid.cached(zoom, center, (w, h)):
                return error(503, "tiles under this view are not sharpened yet", retry=1)
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(self._light, lambda: encode_png(exact_view(image.pyramid, **args)))
        return Reply(200, body, "image/png", {"Cache-Control": "private, max-age=600"})


#: Largest view the exact-view endpoint renders (px).
MAX_VIEW_PIXELS = 4096 * 2304


def view_arguments(size: tuple[int, int], query: Mapping[str, str]) -> dict:
    """Query ``layer, zoom, u0, v0, w, h`` -> keyword arguments of :func:`exact_view`; ValueError if bad.

    The view shows output pixels [u0, u0+w) × [v0, v0+h) of the image zoomed ``zoom`` times
    (1…8, screen px per source px); it must lie inside the zoomed image."""
    layer = query.get("layer", "mssnet")
    if layer not in ("bicubic", "mssnet"):
        raise ValueError("layer must be bicubic or mssnet")
    try:
        zoom = float(query["zoom"])
        u0, v0, w, h = (int(query[k]) for k in ("u0", "v0", "w", "h"))
    except (KeyError, ValueError):
        raise ValueError("zoom, u0, v0, w and h are required numbers (u0, v0, w, h whole pixels)") from None
    check_zoom(zoom, 1.0, float(1 << MAX_LEVEL))
    if w < 1 or h < 1 or w * h > MAX_VIEW_PIXELS:
        raise ValueError(f"w and h must be >= 1 and w·h <= {MAX_VIEW_PIXELS}")
    width, height = size
    if u0 < 0 or v0 < 0 or u0 + w > width * zoom + 1e-6 or v0 + h > height * zoom + 1e-6:
        raise ValueError("the view must lie inside the zoomed image")
    return {"layer": layer, "zoom": zoom, "origin": (u0, v0), "size": (w, h)}


def exact_view(pyramid: ZoomPyramid, layer: str, zoom: float, origin: tuple[int, int], size: tuple[int, int]
               ) -> np.ndarray:
    """Output px [u0, u0+w) × [v0, v0+h) of the image at ``zoom`` by the pyramid's rule (``mssnet``,
    :meth:`ZoomPyramid.view`) or plain bicubic -> (h, w, 3) float32."""
    (u0, v0), (w, h) = origin, size
    if layer == "bicubic":
        return np.clip(resample(pyramid.image, u0 / zoom, v0 / zoom, zoom, (w, h)), 0.0, 1.0)
    view = pyramid.view(zoom, ((u0 + w / 2) / zoom, (v0 + h / 2) / zoom), (w, h))
    return view.sharpened
