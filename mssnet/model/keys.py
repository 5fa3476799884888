"""Content keys: what caches use to tell images and weights apart (imports nothing of the package)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from torch import nn

__all__ = ["fingerprint", "weights_key"]


def fingerprint(parts: Sequence[bytes]) -> str:
    """A 128-bit BLAKE2b hash of ``parts`` in order, as 32 hex digits."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return h.hexdigest()


def weights_key(model: nn.Module) -> str:
    """Hash of a model's parameters, buffers and calibrated strengths: the caches' weights identity
    (:class:`mssnet.pyramid.pyramid.ZoomPyramid`'s tiles, :mod:`mssnet.runtime.backend`'s compiled graphs)."""
    parts = [repr(sorted((getattr(model, name, None) or {}).items())).encode()
             for name in ("zoom_strength", "level_strength")]
    for name, t in model.state_dict().items():
        parts += [name.encode(), str(t.dtype).encode(), t.detach().cpu().contiguous().numpy().tobytes()]
    return fingerprint(parts)
