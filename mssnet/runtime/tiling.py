"""The one tiling of MSSNet's passes: padding to its grid, the tile layout and the blending weights.

:func:`pad_to_multiple` pads to MSSNet's grid (:data:`MULTIPLE`); the layout is the whole padded image up
to :data:`WHOLE_IMAGE_PIXELS`, else overlapping tiles of at most :data:`DEFAULT_TILE` px, all on the grid
(:func:`tile_count` says how many a run takes); each tile side gets blending weights that drop the pixels
next to an edge shared with another tile. How a pass uses them: :mod:`mssnet.runtime.inference`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..image.checks import check_tile

__all__ = [
    "DEFAULT_OVERLAP", "DEFAULT_TILE", "MIN_TILE", "MULTIPLE", "WHOLE_IMAGE_PIXELS", "pad_to_multiple",
    "tile_count",
]


#: MSSNet needs H and W divisible by this.
MULTIPLE = 16
#: With ``tile=None``, padded images up to this many pixels run in one piece.
WHOLE_IMAGE_PIXELS = 768 * 768
#: With ``tile=None``, larger images run in tiles of at most this side (same memory as the
#: largest whole image; larger tiles raise the peak memory, bench/README.md) ...
DEFAULT_TILE = 768
#: ... overlapping by this many pixels (at most half a tile). With trained weights a tiled result
#: stays within a fraction of a gray level of the whole-image one (bench/README.md); a random-init
#: model (corrections far larger than trained ones) needs far more, so tests scale its heads down.
DEFAULT_OVERLAP = 96
#: Smallest tile side accepted for ``tile=N``.
MIN_TILE = 64


def pad_to_multiple(x: Tensor, multiple: int = MULTIPLE) -> Tensor:
    """x: (B, C, H, W) -> (B, C, Hp, Wp), Hp and Wp the next multiples of ``multiple``.

    Pads bottom and right by reflection; repeats the reflection while the image is
    shorter than the padding and replicates 1-px sides (nothing to reflect).
    """
    for dim in (-2, -1):
        while missing := -x.shape[dim] % multiple:
            size = x.shape[dim]
            step = min(missing, size - 1) or missing
            pad = (0, step, 0, 0) if dim == -1 else (0, 0, 0, step)
            x = F.pad(x, pad, mode="reflect" if size > 1 else "replicate")
    return x


def _tile_layout(length: int, tile: int, overlap: int) -> tuple[int, list[int]]:
    """Split ``length`` px into the fewest tiles of at most ``tile`` px overlapping by >= ``overlap``.

    Returns ``(side, starts)``: one tile side, as small as that count allows, and the
    start offsets (first 0, last ``length - side``). With ``length``, ``tile`` and
    ``overlap`` multiples of 16, so are all results (tiles stay on the model's grid).
    """
    if length <= tile:
        return length, [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    side = math.ceil((length + (count - 1) * overlap) / count / MULTIPLE) * MULTIPLE  # <= tile
    stride = side - overlap
    return side, [min(i * stride, length - side) for i in range(count)]


def _ramp(size: int, overlap: int, rise: bool, fall: bool) -> Tensor:
    """(size,) blending weights of one tile side: 1 inside, 0 next to an edge shared with another tile.

    Across the first ``overlap`` px of a rising edge the weight is 0 for 5/12 of
    them (pixels that saw too little context), climbs along a raised cosine over the
    middle 1/6 and is 1 for the last 5/12; a falling edge mirrors this. Two tiles that
    overlap by exactly ``overlap`` px get weights summing to 1 there; larger overlaps
    are fine because the blend divides by the summed weights.
    """
    w = torch.ones(size, dtype=torch.float64)
    if overlap > 0:
        d = torch.arange(size, dtype=torch.float64) + 0.5  # distance of pixel centres from the edge
        up = 0.5 - 0.5 * torch.cos(math.pi * ((d - overlap * 5 / 12) / (overlap / 6)).clamp(0, 1))
        if rise:
            w = torch.minimum(w, up)
        if fall:
            w = torch.minimum(w, up.flip(0))
    return w.float()


def _tiling(hp: int, wp: int, tile: int | None, overlap: int | None) -> tuple[int, int]:
    """The tile side and overlap used for a padded (hp, wp) image (defaults resolved)."""
    if tile is None:
        tile = max(hp, wp) if hp * wp <= WHOLE_IMAGE_PIXELS else DEFAULT_TILE
    if overlap is None:
        overlap = min(DEFAULT_OVERLAP, tile // 2 // MULTIPLE * MULTIPLE)
    return tile, min(overlap, tile - MULTIPLE)  # an explicit overlap with an automatic tile


def tile_count(height: int, width: int, tile: int | None = None, overlap: int | None = None) -> int:
    """How many tiles :func:`~mssnet.runtime.inference.sharpen_tensor` runs for an (height, width) image: the
    ``total`` its ``progress`` callback reports."""
    _check_tiling(tile, overlap)
    hp, wp = (max(1, int(n)) + -max(1, int(n)) % MULTIPLE for n in (height, width))
    tile, overlap = _tiling(hp, wp, tile, overlap)
    return len(_tile_layout(hp, tile, overlap)[1]) * len(_tile_layout(wp, tile, overlap)[1])


def _check_tiling(tile: int | None, overlap: int | None) -> None:
    """``tile`` (None: automatic) and ``overlap`` (None: automatic) on MSSNet's grid, overlap < tile."""
    if tile is not None:
        tile = check_tile(tile, MIN_TILE, multiple=MULTIPLE)
    if overlap is not None:
        check_tile(overlap, 0, None if tile is None else tile - MULTIPLE, multiple=MULTIPLE, name="overlap")
