"""The tile grid of a pyramid level and the computation of one tile.

Levels are cut into tiles of ``tile`` px on a fixed grid (tile and margin multiples of 16, MSSNet's
grid, so every tile lies on the whole image's grid). Tile (k, row, col) is MSSNet's output on the
bicubic enlargement of the level-(k−1) region under it plus ``margin`` px of context on each side
(cut off afterwards), so MSSNet sees padding only at the image's own borders, exactly where the
whole-image computation pads too: tiles show no seams and a view is the same region of the
whole-image zoom (:func:`mssnet.pyramid.levels.pyramid_zoom_image`) — panning never changes what a
pixel looks like.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..image.checks import check_tile
from ..runtime.inference import sharpen_tensor
from .resampling import _enlarge

__all__ = ["DEFAULT_MARGIN", "DEFAULT_TILE", "RING", "TileId"]


#: Output tile side at every level (px of that level).
DEFAULT_TILE = 256
#: Context around a tile at the level's MSSNet input, cut off after the pass. MSSNet's coarse
#: stages see far, so a tiled level approaches one untiled pass only gradually; a wider margin
#: narrows the difference at the cost of a larger pass per tile (``bench/tile_margin.py``;
#: bench/README.md). The difference is spread over the tiles, not gathered at their borders. Every view is exactly a
#: region of the tiled whole-image zoom whatever the margin: this trades fidelity to an untiled
#: pass against speed.
DEFAULT_MARGIN = 32
#: Px around a tile kept from its own pass (never more than the margin): a Deep Zoom tile's overlap
#: ring comes from the pass that made the tile instead of its neighbours' passes.
RING = 1
_ALIGN = 16  # MSSNet's grid: tile and margin multiples of it keep every tile on the whole image's grid


class TileId(NamedTuple):
    """One tile: ``level`` 1…3, ``row`` and ``col`` on that level's grid."""

    level: int
    row: int
    col: int


def _check_grid(tile: int, margin: int) -> None:
    check_tile(tile, 64, 512, multiple=_ALIGN)
    check_tile(margin, 0, 64, multiple=_ALIGN, name="margin")


def _pass_box(box: tuple[int, int, int, int], margin: int, level_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """MSSNet's input region for a tile ``box`` (level-k px): the tile plus ``margin``, inside the level."""
    x0, y0, x1, y1 = box
    w, h = level_size
    return max(x0 - margin, 0), max(y0 - margin, 0), min(x1 + margin, w), min(y1 + margin, h)


def _step_tile(
    model: nn.Module,
    src: np.ndarray,
    origin: tuple[int, int],
    src_size: tuple[int, int],
    box: tuple[int, int, int, int],
    margin: int,
    alpha: float,
    precision: str,
    ring: int = 0,
) -> np.ndarray:
    """One tile of level k from level k−1: ``box = (x0, y0, x1, y1)`` in level-k px -> (y1−y0, x1−x0, 3),
    or with ``ring`` px (0…margin) more of the same pass on each side inside the level.

    ``src``, ``origin``, ``src_size`` as :func:`_enlarge`; ``src`` must hold the level-(k−1)
    pixels under the box plus margin/2 + 2.
    """
    w_prev, h_prev = src_size
    if not 0 <= ring <= margin:
        raise ValueError(f"ring must be 0…margin ({margin}); got {ring}")
    xa, ya, xb, yb = _pass_box(box, margin, (2 * w_prev, 2 * h_prev))  # MSSNet input, level-k px
    x0, y0, x1, y1 = _pass_box(box, ring, (2 * w_prev, 2 * h_prev))  # what is kept of the output
    x = _enlarge(src, origin, src_size, (xa, ya, xb, yb))
    if alpha != 0:
        xt = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # (1, 3, h, w)
        y = sharpen_tensor(model, xt, precision=precision)[0].permute(1, 2, 0).numpy()  # (h, w, 3)
        x = y if alpha == 1 else np.clip(x + alpha * (y - x), 0.0, 1.0)
    return np.ascontiguousarray(x[y0 - ya : y1 - ya, x0 - xa : x1 - xa], dtype=np.float32)


def _grid(length: int, tile: int) -> int:
    return -(-length // tile)


def _tile_boxes(width: int, height: int, tile: int) -> Iterator[tuple[int, int, tuple[int, int, int, int]]]:
    for r in range(_grid(height, tile)):
        for c in range(_grid(width, tile)):
            yield r, c, (c * tile, r * tile, min((c + 1) * tile, width), min((r + 1) * tile, height))
