"""Deep Zoom (DZI) images of a sharpened zoom pyramid: geometry, descriptors, tile bytes, a static site.

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
* :func:`write_deep_zoom` — every tile of every layer into a folder (a static deep-zoom site).

The tiles are served over HTTP by :mod:`mssnet.serve.tile_service`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..image.io import to_uint8
from ..image.metrics import edge_strength_map
from ..image.zoom import resample
from ..pyramid.levels import MAX_LEVEL
from ..pyramid.pyramid import ZoomPyramid
from ..pyramid.resampling import downsample
from ..pyramid.tiles import TileId

__all__ = [
    "EDGE_GAIN_MAX", "EDGE_GAIN_UNIT", "FORMAT", "LAYERS", "DeepZoomImage", "edge_strength_map", "edge_gain_rgba",
    "encode_png", "write_deep_zoom",
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
        """Zoom-pyramid tiles a DZI tile reads (none at or below ×1): its own, whose pass also gives the
        overlap ring, unless the overlap is wider than the pyramid keeps."""
        p = self.pyramid_level(level)
        return [] if p < 1 else self.pyramid.own_pass_tiles(p, self.tile_box(level, col, row))

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
        sharp = self.pyramid.own_pass_region(p, box)
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
                "edge_gain_max": EDGE_GAIN_MAX, "edge_gain_unit": EDGE_GAIN_UNIT,
                "strengths": [round(float(a), 4) for a in self.pyramid.alphas[:self.top]]}  # α of levels 1…top


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
