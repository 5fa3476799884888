"""Content keys: what caches use to tell images and weights apart (imports nothing of the package)."""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections.abc import Sequence

from torch import nn

__all__ = ["fingerprint", "weights_key"]


def fingerprint(parts: Sequence[bytes]) -> str:
    """A 128-bit BLAKE2b hash of ``parts`` in order, as 32 hex digits."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return h.hexdigest()


_keys: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, str]] = weakref.WeakKeyDictionary()
_keys_lock = threading.Lock()


def _stamp(model: nn.Module) -> tuple:
    """Cheap identity of a model's current tensors: storage and in-place version of each (any
    ``copy_``, ``load_state_dict`` or optimiser step changes it), plus the calibrated strengths."""
    tensors = tuple((t.data_ptr(), t._version, t.dtype, tuple(t.shape))
                    for t in itertools.chain(model.parameters(), model.buffers()))
    return tensors, repr(getattr(model, "zoom_strength", None)), repr(getattr(model, "level_strength", None))


def weights_key(model: nn.Module) -> str:
    """Hash of a model's parameters, buffers and calibrated strengths: the caches' weights identity
    (:class:`mssnet.pyramid.pyramid.ZoomPyramid`'s tiles, :mod:`mssnet.runtime.compiled`'s compiled graphs).
    Remembered per model until its tensors or strengths change (:func:`_stamp`), so a cached pass does
    not hash megabytes of weights. Thread-safe."""
    stamp = _stamp(model)
    with _keys_lock:
        known = _keys.get(model)
    if known is not None and known[0] == stamp:
        return known[1]
    key = _hash_weights(model)
    with _keys_lock:
        _keys[model] = (stamp, key)
    return key


def _hash_weights(model: nn.Module) -> str:
    """The hash itself: :func:`fingerprint` of the strengths and every named tensor's dtype and bytes."""
    parts = [repr(sorted((getattr(model, name, None) or {}).items())).encode()
             for name in ("zoom_strength", "level_strength")]
    for name, t in model.state_dict().items():
        parts += [name.encode(), str(t.dtype).encode(), t.detach().cpu().contiguous().numpy().tobytes()]
    return fingerprint(parts)
