"""The pyramid room: sharpened power-of-two levels of an image, their tile cache and background fill.

Everything lives in :mod:`mssnet.pyramid.pyramid` for now (levels and their tiles, the antialiased
filters from a level to a view, :class:`TileCache`, :class:`FillWorker`); this package re-exports its
public names, so ``from mssnet.pyramid import ZoomPyramid`` works as well.
"""

from .pyramid import (
    DEFAULT_FILTER,
    DEFAULT_MARGIN,
    DEFAULT_TILE,
    FILTERS,
    MAX_LEVEL,
    FillWorker,
    PyramidView,
    TileCache,
    TileId,
    ZoomPyramid,
    downsample,
    enlarge_2x,
    pyramid_level,
    pyramid_zoom_image,
    resample_taps,
)

__all__ = [
    "DEFAULT_FILTER", "DEFAULT_MARGIN", "DEFAULT_TILE", "FILTERS", "MAX_LEVEL",
    "TileId", "TileCache", "PyramidView", "ZoomPyramid", "FillWorker",
    "enlarge_2x", "pyramid_level", "pyramid_zoom_image", "resample_taps", "downsample",
]
