"""The pyramid room: sharpened power-of-two levels of an image, their tile cache and background fill.

* :mod:`~mssnet.pyramid.levels` — the level rule (which level a zoom reads, each level's strength) and
  the whole image zoomed by it;
* :mod:`~mssnet.pyramid.tiles` — the tile grid and one tile's computation;
* :mod:`~mssnet.pyramid.resampling` — the antialiased filters from a level to a view, the 2× enlargement;
* :mod:`~mssnet.pyramid.cache` — :class:`TileCache`, the byte-bounded LRU of tiles;
* :mod:`~mssnet.pyramid.fill` — :class:`FillWorker`, the background fill;
* :mod:`~mssnet.pyramid.pyramid` — :class:`ZoomPyramid`, one image and one model, and its views.

This package re-exports their public names, so ``from mssnet.pyramid import ZoomPyramid`` works as well.
"""

from .cache import TileCache
from .fill import FillWorker
from .levels import MAX_LEVEL, pyramid_level, pyramid_zoom_image
from .pyramid import PyramidView, ZoomPyramid
from .resampling import DEFAULT_FILTER, FILTERS, downsample, enlarge_2x, resample_taps
from .tiles import DEFAULT_MARGIN, DEFAULT_TILE, TileId

__all__ = [
    "DEFAULT_FILTER", "DEFAULT_MARGIN", "DEFAULT_TILE", "FILTERS", "MAX_LEVEL",
    "TileId", "TileCache", "PyramidView", "ZoomPyramid", "FillWorker",
    "enlarge_2x", "pyramid_level", "pyramid_zoom_image", "resample_taps", "downsample",
]
