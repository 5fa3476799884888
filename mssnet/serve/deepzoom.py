"""Deep Zoom (DZI) tiles of a sharpened zoom pyramid: descriptors, tile bytes, a tile service.

A Deep Zoom image is a pyramid of levels 0…N, level N the full size, each level half the
next (rounded up), cut into ``TileSize`` tiles that overlap their neighbours by ``Overlap``
px; a descriptor ``<name>.dzi`` (XML) names size, tile size, overlap and format, and tile
(col, row) of level l lives at ``<name>_files/<l>/<col>_<row>.<format>`` (the layout of
OpenSeadragon's ``DziTileSource`` and libvips' ``dzsave``).

Here the full size is the image enlarged 2^``top`` times (×8 by default, the zoom pyramid's
level 3), and the levels map onto :class:`~mssnet.pyramid.pyramid.ZoomPyramid`'s::

    DZI level N, N−1, N−2    pyramid levels 3, 2, 1: the image ×8, ×4, ×2
    DZI level N−3            the image itself
    DZI levels below         the image downsampled (area filter) to half, a quarter, …

Three layers share that geometry: ``mssnet`` (the pyramid's own tiles: a tile is the same
region of ``python -m mssnet zoom --zoom 2|4|8``), ``bicubic`` (plain bicubic enlargement,
what the page compares against) and ``edge_gain`` (RGBA: red where MSSNet raised edge
strength against bicubic, blue where it lowered it, transparent where nothing changed, on
the fixed symmetric scale :data:`EDGE_GAIN_MAX`).

* :class:`DeepZoomImage` — geometry, descriptors and tile bytes of one pyramid (no threads);
* :func:`write_deep_zoom` — every tile of every layer into a folder (a static deep-zoom site);
* :class:`TileService` — images by unguessable id, requests parsed strictly, tiles encoded
  once and cached as bytes in a :class:`~mssnet.pyramid.cache.TileCache`, network work done off the
  caller's thread, newest request first, bounded per image and in total. No web framework:
  :meth:`TileService.respond` returns a :class:`Reply` that a route turns into a response.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from ..image.checks import check_zoom
from ..image.io import to_uint8
from ..image.metrics import edge_strength_map
from ..image.zoom import resample
from ..pyramid.fill import FillWorker
from ..pyramid.levels import MAX_LEVEL, pyramid_level
from ..pyramid.pyramid import ZoomPyramid
from ..pyramid.resampling import downsample
from ..pyramid.tiles import TileId

__all__ = [
    "EDGE_GAIN_MAX", "EDGE_GAIN_UNIT", "FORMAT", "LAYERS", "DeepZoomImage", "Reply", "TileRequest",
    "TileService", "edge_strength_map", "edge_gain_rgba", "parse_path", "write_deep_zoom",
]

#: The layers of every deep-zoom image.
LAYERS = ("bicubic", "mssnet", "edge_gain")
#: Tile format (lossless: a sharpening comparison must not add compression artefacts).
FORMAT = "png"
#: Default overlap: OpenSeadragon's canvas drawer shifts pixels at tile borders without it.
DEFAULT_OVERLAP = 1
#: Edge-gain colour scale: ±this change of edge strength (Sobel magnitude of the luma per pixel,
#: :func:`mssnet.image.metrics.edge_strength_map`) is full red / full blue; a sharp black-to-white step has 0.5.
EDGE_GAIN_MAX = 0.08
EDGE_GAIN_UNIT = "change of edge strength per pixel (luminance gradient, 0–1 scale)"
_RAISED = np.array([214, 39, 40], np.uint8)  # red
_LOWERED = np.array([31, 119, 180], np.uint8)  # blue
_PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # zlib level 1: lossless, faster than the default, larger files


# --------------------------------------------------------------------------- pixels


def edge_gain_rgba(bicubic: np.ndarray, sharpened: np.ndarray, limit: float = EDGE_GAIN_MAX) -> np.ndarray:
    """Where MSSNet raised (red) or lowered (blue) edge strength, opacity ∝ |change| up to ``limit``.

    bicubic, sharpened: (H, W, 3) float -> (H, W, 4) uint8; fully transparent where nothing changed.
    """
    if bicubic.shape != sharpened.shape:
        raise ValueError(f"shapes differ: {bicubic.shape} vs {sharpened.shape}")
    change = edge_strength_map(sharpened) - edge_strength_map(bicubic)  # (H, W)
    t = np.clip(change / limit, -1.0, 1.0)
    out = np.empty((*change.shape, 4), np.uint8)
    out[..., :3] = np.where((t >= 0)[..., None], _RAISED, _LOWERED)
    out[..., 3] = np.rint(np.abs(t) * 255).astype(np.uint8)
    return out


def encode_png(image: np.ndarray) -> bytes:
    """(H, W, 3) float/uint8 RGB or (H, W, 4) uint8 RGBA -> PNG bytes."""
    u8 = np.ascontiguousarray(to_uint8(image))
    bgr = cv2.cvtColor(u8, cv2.COLOR_RGBA2BGRA if u8.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", bgr, _PNG_OPTIONS)
    assert ok, "OpenCV could not encode a PNG"
    return data.tobytes()


# --------------------------------------------------------------------------- one image


class DeepZoomImage:
    """The three DZI layers of one :class:`ZoomPyramid` (geometry, descriptors, tile bytes).

    Args:
        pyramid: the image and model; its tiles (and its :class:`TileCache`) are used as they are.
        overlap: DZI tile overlap, px (0 or more; 1 recommended for canvas drawing).
        top: pyramid level of the full size (1…3: ×2, ×4, ×8).
    """

    def __init__(self, pyramid: ZoomPyramid, overlap: int = DEFAULT_OVERLAP, top: int = MAX_LEVEL) -> None:
        if not isinstance(pyramid, ZoomPyramid):
            raise TypeError(f"pyramid must be a ZoomPyramid; got {type(pyramid).__name__}")
        if not isinstance(overlap, int) or not 0 <= overlap <= 8:
            raise ValueError(f"overlap must be an int in [0, 8]; got {overlap!r}")
        if not isinstance(top, int) or not 1 <= top <= MAX_LEVEL:
            raise ValueError(f"top must be 1…{MAX_LEVEL}; got {top!r}")
        self.pyramid, self.overlap, self.top = pyramid, overlap, top
        self.tile_size = pyramid.tile
        w, h = pyramid.size
        self.size = (w << top, h << top)  # (w, h) of the full size
        self.max_level = max(math.ceil(math.log2(max(self.size))), top)
        self._small: dict[int, np.ndarray] = {}  # downsampled image by DZI level (below ×1)
        self._lock = threading.Lock()
        self.key = ("dzi", *pyramid._prefix, overlap, top)  # what a tile's bytes depend on

    # ---- geometry

    def pyramid_level(self, level: int) -> int:
        """DZI level -> zoom pyramid level (negative: the image downsampled 2^−k times)."""
        return level - (self.max_level - self.top)

    def level_size(self, level: int) -> tuple[int, int]:
        """(w, h) of a DZI level: the full size halved ``max_level − level`` times, rounded up."""
        d = 1 << (self.max_level - level)
        return -(-self.size[0] // d), -(-self.size[1] // d)

    def grid(self, level: int) -> tuple[int, int]:
        """(cols, rows) of a DZI level."""
        w, h = self.level_size(level)
        return -(-w // self.tile_size), -(-h // self.tile_size)

    def has_tile(self, level: int, col: int, row: int) -> bool:
        if not 0 <= level <= self.max_level:
            return False
        cols, rows = self.grid(level)
        return 0 <= col < cols and 0 <= row < rows

    def tile_box(self, level: int, col: int, row: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), level px, of a tile with its overlap (none past the level's edges)."""
        if not self.has_tile(level, col, row):
            raise ValueError(f"no tile ({level}, {col}, {row})")
        w, h = self.level_size(level)
        t, o = self.tile_size, self.overlap
        return (max(col * t - o, 0), max(row * t - o, 0), min((col + 1) * t + o, w), min((row + 1) * t + o, h))

    def descriptor(self) -> str:
        """The DZI descriptor (XML) every layer shares."""
        w, h = self.size
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" '
                f'TileSize="{self.tile_size}" Overlap="{self.overlap}" Format="{FORMAT}">'
                f'<Size Width="{w}" Height="{h}"/></Image>\n')

    def pyramid_tiles(self, level: int, col: int, row: int) -> list[TileId]:
        """Zoom-pyramid tiles a DZI tile reads (none at or below ×1)."""
        p = self.pyramid_level(level)
        return [] if p < 1 else self.pyramid.tiles_under(p, self.tile_box(level, col, row))

    def ready(self, layer: str, level: int, col: int, row: int) -> bool:
        """True when the tile needs no MSSNet pass (bicubic, ×1 and below, or its pyramid tiles cached)."""
        _check_layer(layer)
        return layer == "bicubic" or all(self.pyramid.is_cached(t) for t in self.pyramid_tiles(level, col, row))

    # ---- pixels

    def _small_level(self, level: int) -> np.ndarray:
        with self._lock:
            found = self._small.get(level)
        if found is None:
            found = downsample(self.pyramid.image, self.level_size(level), "area")
            found.setflags(write=False)
            with self._lock:
                self._small[level] = found
        return found

    def pixels(self, layer: str, level: int, col: int, row: int) -> np.ndarray:
        """A tile's pixels: (h, w, 3) float32 RGB, or (h, w, 4) uint8 RGBA for ``edge_gain``."""
        _check_layer(layer)
        x0, y0, x1, y1 = box = self.tile_box(level, col, row)
        p = self.pyramid_level(level)
        if p < 1:
            if layer == "edge_gain":
                return np.zeros((y1 - y0, x1 - x0, 4), np.uint8)  # nothing sharpened at ×1 and below
            source = self.pyramid.image if p == 0 else self._small_level(level)
            return source[y0:y1, x0:x1]
        s = float(1 << p)
        bicubic = None
        if layer != "mssnet":
            bicubic = np.clip(resample(self.pyramid.image, x0 / s, y0 / s, s, (x1 - x0, y1 - y0)), 0.0, 1.0)
            if layer == "bicubic":
                return bicubic
        sharp = self.pyramid.region(p, box)
        return sharp if layer == "mssnet" else edge_gain_rgba(bicubic, sharp)

    def tile_png(self, layer: str, level: int, col: int, row: int) -> bytes:
        """A tile as PNG bytes, from the pyramid's :class:`TileCache` (encoded once) or made now."""
        key = (*self.key, layer, level, col, row)
        value, _ = self.pyramid.cache.get_or_compute(
            key, lambda: np.frombuffer(encode_png(self.pixels(layer, level, col, row)), np.uint8))
        return value.tobytes()

    def tiles(self) -> Iterator[tuple[str, int, int, int]]:
        """Every (layer, level, col, row), lowest level first, pyramid levels in the order they build."""
        for level in range(self.max_level + 1):
            cols, rows = self.grid(level)
            for layer in LAYERS:
                for row in range(rows):
                    for col in range(cols):
                        yield layer, level, col, row

    def info(self, base: str) -> dict:
        """What a viewer needs, URLs under ``base`` (e.g. ``"/dz/<id>"`` or ``"."``)."""
        w, h = self.pyramid.size
        return {"width": w, "height": h, "scale": 1 << self.top, "tile_size": self.tile_size,
                "overlap": self.overlap, "format": FORMAT, "max_level": self.max_level,
                "layers": {name: f"{base}/{name}.dzi" for name in LAYERS},
                "edge_gain_max": EDGE_GAIN_MAX, "edge_gain_unit": EDGE_GAIN_UNIT}


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}; got {layer!r}")


def write_deep_zoom(image: DeepZoomImage, out: str | Path,
                    progress: Callable[[int, int], object] | None = None) -> dict:
    """Every tile of the three layers into ``out``: ``<layer>.dzi`` and ``<layer>_files/<l>/<c>_<r>.png``.

    Levels are written lowest first, so each pyramid level is built from the one below while it is
    still in the cache. ``progress(done, total)`` counts tiles. -> the viewer info (relative URLs).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for layer in LAYERS:
        (out / f"{layer}.dzi").write_text(image.descriptor(), encoding="utf-8")
    total = sum(math.prod(image.grid(level)) for level in range(image.max_level + 1)) * len(LAYERS)
    for done, (layer, level, col, row) in enumerate(image.tiles(), 1):
        folder = out / f"{layer}_files" / str(level)
        folder.mkdir(parents=True, exist_ok=True)
        if layer == "mssnet" or image.pyramid_level(level) < 1:
            data = encode_png(image.pixels(layer, level, col, row))  # no need to keep these bytes
        else:
            data = image.tile_png(layer, level, col, row)
        (folder / f"{col}_{row}.{FORMAT}").write_bytes(data)
        if progress is not None:
            progress(done, total)
    return image.info(".")


# --------------------------------------------------------------------------- requests


class TileRequest(NamedTuple):
    """A parsed path: ``kind`` is "descriptor", "tile" or "view"."""

    kind: str
    id: str
    layer: str = ""
    level: int = 0
    col: int = 0
    row: int = 0


_ID = r"[A-Za-z0-9_-]{22}"
_LAYER = "|".join(LAYERS)
_PATHS = (
    (re.compile(rf"({_ID})/({_LAYER})\.dzi"), "descriptor"),
    (re.compile(rf"({_ID})/({_LAYER})_files/(\d{{1,2}})/(\d{{1,6}})_(\d{{1,6}})\.{FORMAT}"), "tile"),
    (re.compile(rf"({_ID})/view\.{FORMAT}"), "view"),
)


def parse_path(path: str) -> TileRequest | None:
    """``"<id>/<layer>.dzi"``, ``"<id>/<layer>_files/<level>/<col>_<row>.png"`` or ``"<id>/view.png"``
    -> :class:`TileRequest`; anything else (other characters, ``..``, other formats) -> None."""
    if not isinstance(path, str) or len(path) > 120:
        return None
    for pattern, kind in _PATHS:
        m = pattern.fullmatch(path)
        if m:
            g = m.groups()
            if kind == "tile":
                return TileRequest(kind, g[0], g[1], int(g[2]), int(g[3]), int(g[4]))
            return TileRequest(kind, g[0], g[1] if kind == "descriptor" else "")
    return None


class Reply(NamedTuple):
    """An HTTP answer without a framework."""

    status: int
    body: bytes
    media_type: str = "text/plain; charset=utf-8"
    headers: dict = {}


def _error(status: int, text: str, retry: float | None = None) -> Reply:
    headers = {"Cache-Control": "no-store"}
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    return Reply(status, text.encode(), headers=headers)


_TILE_HEADERS = {"Cache-Control": "private, max-age=86400, immutable"}
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
      fill from the centre at once; the least recently used beyond ``max_images`` expire (their
      pending tiles dropped; cached bytes age out of the shared :class:`TileCache`).
    * Tiles that need no MSSNet pass are encoded on a small thread pool; tiles that do wait in
      one queue served **newest request first** by one compute thread (the network uses every
      core), which holds the background fill back while the queue is not empty. A request that
      waited ``wait_seconds`` is answered 503 + ``Retry-After`` while its tile goes on being
      made; a queued tile not asked for again within ``stale_seconds`` is dropped (a browser never
      cancels an image request: stale ones must not delay what is on screen). At most
      ``max_pending`` tiles queue in all and ``max_pending_per_image`` per image; beyond that
      the answer is 503 + ``Retry-After`` at once.
    * :meth:`respond` is the whole HTTP surface: unknown ids, bad paths, out-of-range tiles and
      bad view parameters are 404/400, never an exception and never a file.
    """

    def __init__(self, *, max_images: int = 16, max_pending: int = 256, max_pending_per_image: int = 128,
                 wait_seconds: float = 5.0, stale_seconds: float = 30.0, overlap: int = DEFAULT_OVERLAP,
                 fill: FillWorker | None = None, light_workers: int = 2) -> None:
        self.max_images, self.overlap, self.fill = max_images, overlap, fill
        self.max_pending, self.max_pending_per_image = max_pending, max_pending_per_image
        self.wait_seconds, self.stale_seconds = wait_seconds, stale_seconds
        self._images: OrderedDict[str, _Entry] = OrderedDict()
        self._queue: OrderedDict[tuple, _Job] = OrderedDict()  # newest last
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
            while len(self._images) > self.max_images:
                old, _ = self._images.popitem(last=False)
                self._drop_jobs(old)
        if pyramid.fill is not None:
            first = pyramid_level(zoom) if zoom is not None and zoom >= 1 else 1
            pyramid.start_fill(center=center, levels=tuple(dict.fromkeys((max(first, 1), 1))))
        return image_id

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
                self._thread.start()
            self._cond.notify_all()
            return job.future

    def _take(self) -> _Job | None:  # holds _cond
        while self._queue:
            _, job = self._queue.popitem(last=True)
            if time.monotonic() - job.asked <= self.stale_seconds:
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
        if thread is not None:
            thread.join(30)
        self._light.shutdown(wait=False, cancel_futures=True)

    # ---- HTTP

    async def respond(self, path: str, query: Mapping[str, str] | None = None) -> Reply:
        """Answer ``GET <prefix>/<path>?<query>`` (``path`` without the prefix). A failure while making a tile
        (not the request's fault) is logged with its traceback and answered 503: the viewer asks again."""
        try:
            return await self._respond(path, query)
        except Exception:  # noqa: BLE001 - logged in full; the client is told to retry, never shown a trace
            log.exception("deep zoom: could not answer %s", path)
            return _error(503, "could not make this tile now", retry=2)

    async def _respond(self, path: str, query: Mapping[str, str] | None) -> Reply:
        request = parse_path(path)
        if request is None:
            return _error(404, "not found")
        image = self.image(request.id)
        if image is None:
            return _error(404, "unknown or expired image id")
        if request.kind == "descriptor":
            return Reply(200, image.descriptor().encode(), "application/xml", _TILE_HEADERS)
        if request.kind == "view":
            return await self._view(image, query or {})
        _, _, layer, level, col, row = request
        if not image.has_tile(level, col, row):
            return _error(404, "no such tile")
        loop = asyncio.get_running_loop()
        make = lambda: image.tile_png(layer, level, col, row)  # noqa: E731
        if image.ready(layer, level, col, row):
            body = await loop.run_in_executor(self._light, make)
            return Reply(200, body, "image/png", _TILE_HEADERS)
        future = self._submit((*image.key, layer, level, col, row), request.id, make)
        if future is None:
            return _error(503, "busy: too many tiles queued", retry=2)
        waiting = asyncio.wrap_future(future)
        waiting.add_done_callback(_retrieve)  # a result nobody waits for any more is not an error
        try:
            body = await asyncio.wait_for(asyncio.shield(waiting), self.wait_seconds)
        except asyncio.TimeoutError:
            return _error(503, "still sharpening", retry=1)
        except (_Stale, KeyError, RuntimeError, MemoryError) as exc:
            return _error(503, f"not made: {type(exc).__name__}", retry=1)
        return Reply(200, body, "image/png", _TILE_HEADERS)

    async def _view(self, image: DeepZoomImage, query: Mapping[str, str]) -> Reply:
        try:
            args = view_arguments(image.pyramid.size, query)
        except ValueError as exc:
            return _error(400, str(exc))
        if args["layer"] == "mssnet":
            zoom, (u0, v0), (w, h) = args["zoom"], args["origin"], args["size"]
            center = ((u0 + w / 2) / zoom, (v0 + h / 2) / zoom)
            if not image.pyramid.cached(zoom, center, (w, h)):
                return _error(503, "tiles under this view are not sharpened yet", retry=1)
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
