"""The tile service's HTTP vocabulary: request paths parsed strictly, replies without a web framework, and the
cache validators of descriptors and tiles (which never change under their map's id).

* :func:`parse_path` — ``"<id>/<layer>.dzi"``, a tile or the exact view -> :class:`TileRequest`, anything else None;
* :class:`Reply`, :func:`error` — an answer (status, body, media type, headers);
* :data:`TILE_CACHE`, :func:`etag`, :func:`matches` — ``Cache-Control``, ``ETag`` and ``If-None-Match``.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from .deepzoom import FORMAT, LAYERS

__all__ = ["TILE_CACHE", "Reply", "TileRequest", "error", "etag", "matches", "parse_path"]


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


def error(status: int, text: str, retry: float | None = None) -> Reply:
    """An error answer, never cached; ``retry`` seconds become ``Retry-After`` (whole, at least 1)."""
    headers = {"Cache-Control": "no-store"}
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    return Reply(status, text.encode(), headers=headers)


#: A map's descriptor and tiles never change under its id (an unguessable name of one image, weights and
#: strength): the browser and any HTTP cache in front of the server may keep them.
TILE_CACHE = "public, max-age=86400, immutable"


def etag(request: TileRequest) -> str:
    """The entity tag of a descriptor or tile, quoted: what it is and its place in its map (``"descriptor/<id>/
    <layer>"``, ``"tile/<id>/<layer>/<level>/<col>/<row>"``)."""
    parts = request[:3] if request.kind == "descriptor" else request
    return '"' + "/".join(str(part) for part in parts) + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``tag`` (weak or strong, in a list, or ``*``)."""
    if not if_none_match:
        return False
    names = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in names or tag in names
