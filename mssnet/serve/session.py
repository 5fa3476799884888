"""The studio's state without a user interface: :class:`Studio` holds the loaded models
(:mod:`mssnet.serve.registry`), one :class:`~mssnet.pyramid.pyramid.ZoomPyramid` per (image, model) in an
LRU, one shared :class:`~mssnet.pyramid.cache.TileCache` with a byte budget, one shared
:class:`~mssnet.pyramid.fill.FillWorker`, and the finished views (:mod:`mssnet.serve.views`).

``app.py`` (Gradio) and the tests use the same objects. :meth:`Studio.view` is the one place a view
is computed or found (:func:`~mssnet.serve.views.compute_view` does the work), :meth:`Studio.cached_view`
serves it only when every tile is cached, :meth:`Studio.sweep` runs every zoom level (one
:class:`SweepStep` at a time), :meth:`Studio.zoom_full` writes the whole image for download (the same
pyramid rule, :func:`check_download_size` first).

Images here are (H, W, 3) float32 RGB in [0, 1] (NumPy, as :mod:`mssnet.pyramid`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..image.checks import check_zoom
from ..image.io import save_image
from ..image.zoom import source_rect
from ..image.zoom import zoom as bicubic_zoom
from ..pyramid.cache import TileCache
from ..pyramid.fill import FillWorker
from ..pyramid.levels import pyramid_zoom_image
from ..pyramid.pyramid import ZoomPyramid
from ..pyramid.tiles import DEFAULT_TILE
from .memory import release_memory
from .registry import ModelRegistry
from .source import Source
from .views import CACHE_BYTES, ResultCache, View, check_view_request, compute_view

__all__ = [
    "FILL_PIXELS", "MAX_DOWNLOAD_PIXELS", "MAX_PYRAMIDS", "SWEEP_FACTORS", "TILE_BYTES", "Studio", "SweepStep",
    "check_download_size",
]


#: Budget of the pyramids' shared tiles (float tiles and the map's encoded PNG tiles together), and how many
#: pyramids ((image, model) pairs) are kept: the budget keeps a crowd's server under 1.5 GB (the load
#: measured with ``python bench/load.py --tiles``, bench/README.md).
TILE_BYTES = 384 * 2**20
MAX_PYRAMIDS = 8
#: Tiles the background fill computes per image at most (pixels): level 1 of a 1 MP image, then more.
FILL_PIXELS = 8_000_000
#: Largest output of the whole-image download (pixels); beyond it the command line is the tool.
MAX_DOWNLOAD_PIXELS = 2048 * 2048
#: Zooms of the "every zoom level" sweep.
SWEEP_FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def check_download_size(size: tuple[int, int], zoom: float) -> tuple[int, int]:
    """(width, height) of the whole image zoomed; ``ValueError`` above :data:`MAX_DOWNLOAD_PIXELS`."""
    zoom = check_zoom(zoom)
    w, h = size
    ow, oh = max(1, round(w * zoom)), max(1, round(h * zoom))
    if ow * oh > MAX_DOWNLOAD_PIXELS:
        raise ValueError(
            f"×{zoom:g} of this {w}×{h} image is {ow}×{oh} px ({ow * oh / 1e6:.1f} MP); the app's limit "
            f"is {MAX_DOWNLOAD_PIXELS / 1e6:.1f} MP. Lower the zoom, or use the command line: "
            f"python -m mssnet zoom IMAGE -o OUT.png --zoom {zoom:g}"
        )
    return ow, oh


@dataclass(frozen=True)
class SweepStep:
    """One zoom of a sweep: the view and whether it came from the cache."""

    factor: float
    view: View
    cached: bool


class Studio:
    """Models, pyramids, caches and the computations a studio offers, for any user interface.

    ``model_path``: the default weights (None: the bundled file); ``tile_bytes``: budget of
    the tiles of all pyramids together; ``cache_bytes``: budget of finished views; ``fill``:
    run the background fill (levels 1, then the level in use, ``fill_pixels`` per image at most,
    yielding to views); ``tile``: the pyramids' tile side.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, cache_bytes: int = CACHE_BYTES,
                 tile_bytes: int = TILE_BYTES, max_pyramids: int = MAX_PYRAMIDS, fill: bool = True,
                 fill_pixels: int = FILL_PIXELS, tile: int = DEFAULT_TILE):
        self.models = ModelRegistry(model_path)
        self.cache = ResultCache(cache_bytes)
        self.tiles = TileCache(tile_bytes)
        self.fill = FillWorker(fill_pixels) if fill else None
        self.max_pyramids, self.tile = max_pyramids, tile
        self._pyramids: OrderedDict[tuple[str, str], ZoomPyramid] = OrderedDict()
        self._lock = threading.Lock()
        self.outdir = Path(tempfile.mkdtemp(prefix="zoom-sharpen-"))

    @property
    def default_label(self) -> str:
        return self.models.default_label

    def pyramid(self, source: Source, model_label: str | None = None) -> ZoomPyramid:
        """The pyramid of (image, model), made on first use; the least recently used beyond
        :data:`MAX_PYRAMIDS` is dropped (its background fill cancelled; its tiles age out of the cache)."""
        model_label = model_label or self.default_label
        key = (source.key, model_label)
        with self._lock:
            found = self._pyramids.get(key)
            if found is not None and self.models.is_loaded(model_label):
                self._pyramids.move_to_end(key)
                return found
        model = self.models.get(model_label)
        pyramid = ZoomPyramid(source.rgb, model, tile=self.tile, cache=self.tiles, fill=self.fill)
        with self._lock:
            gone = [(key, self._pyramids.pop(key))] if key in self._pyramids else []  # its model was evicted
            self._pyramids[key] = pyramid
            while len(self._pyramids) > self.max_pyramids:
                gone.append(self._pyramids.popitem(last=False))
        for old_key, old in gone:  # cached views hold their pyramid (image and model): let both go
            old.stop_fill()
            self.cache.drop(old_key)
        return pyramid

    def _key(self, source: Source, zoom: float, center, viewport: int, model_label: str) -> tuple:
        rect = source_rect(source.size, zoom, (viewport, viewport), center)
        return (source.key, model_label, viewport, round(zoom, 4), round(rect[0], 3), round(rect[1], 3))

    def view(self, source: Source, zoom: float, center, viewport: int,
             model_label: str | None = None) -> tuple[View, bool]:
        """The view at (zoom, centre, viewport) -> (view, nothing had to be computed)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        key = self._key(source, zoom, center, viewport, model_label)
        view = self.cache.get(key)
        if view is not None:
            return view, True
        view = compute_view(self.pyramid(source, model_label), model_label, source, zoom, center, viewport)
        self.cache.put(key, view)
        if view.tiles_computed:
            release_memory()
        return view, view.tiles_computed == 0

    def missing_tiles(self, source: Source, zoom: float, center, viewport: int,
                      model_label: str | None = None) -> int:
        """How many tiles of its level the view still needs (0: a crop and a resample serve it)."""
        model_label = model_label or self.default_label
        zoom, center, viewport = check_view_request(source, zoom, center, viewport)
        if self._key(source, zoom, center, viewport, model_label) in self.cache:
            return 0
        return len(self.pyramid(source, model_label).missing_tiles(zoom, center, (viewport, viewport)))

    def is_cached(self, source: Source, zoom: float, center, viewport: int, model_label: str | None = None) -> bool:
        """True when the view needs no MSSNet pass: every tile it reads is in the tile cache."""
        return self.missing_tiles(source, zoom, center, viewport, model_label) == 0

    def cached_view(self, source: Source, zoom: float, center, viewport: int,
                    model_label: str | None = None) -> View | None:
        """The sharpened view when every tile it needs is cached (a crop and a resample), else None:
        no MSSNet pass runs here."""
        if not self.is_cached(source, zoom, center, viewport, model_label):
            return None
        view, _ = self.view(source, zoom, center, viewport, model_label)
        return view

    def sweep(self, source: Source, center, viewport: int, model_label: str | None = None,
              factors: tuple[float, ...] = SWEEP_FACTORS) -> Iterator[SweepStep]:
        """Every zoom in ``factors`` around the same centre, one :class:`SweepStep` at a time (tiles reused)."""
        for factor in factors:
            view, cached = self.view(source, factor, center, viewport, model_label)
            yield SweepStep(factor, view, cached)

    def zoom_full(self, source: Source, zoom: float, model_label: str | None = None,
                  progress: Callable[[int, int], object] | None = None) -> Path:
        """The whole image zoomed by the pyramid rule (levels of 2× steps, then Lanczos down to the zoom)
        -> PNG path (alpha kept, 16-bit kept)."""
        check_download_size(source.size, zoom)
        zoom = float(zoom)
        sharp = pyramid_zoom_image(self.models.get(model_label), source.rgb, zoom, progress=progress)
        alpha = None
        if source.alpha is not None:
            alpha = np.clip(bicubic_zoom(source.alpha, zoom).view, 0.0, 1.0)
        stem = Path(source.name).stem or "image"
        weights = hashlib.sha1((model_label or self.default_label).encode()).hexdigest()[:6]
        path = self.outdir / f"{stem}_x{zoom:g}_mssnet_{source.key[:6]}_{weights}.png"
        self.outdir.mkdir(parents=True, exist_ok=True)
        save_image(path, sharp, alpha, bit_depth=16 if source.bit_depth == 16 else 8)
        del sharp, alpha
        release_memory()
        return path

    def close(self) -> None:
        """Stop the background fill (after its tile in progress; also done at interpreter exit) and
        delete the downloads folder. Views asked for afterwards are computed without a fill."""
        if self.fill is not None:
            self.fill.stop(timeout=30)
            self.fill = None
            with self._lock:
                for pyramid in self._pyramids.values():
                    pyramid.fill = None
        shutil.rmtree(self.outdir, ignore_errors=True)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
