"""Which runtime runs MSSNet's forward passes: OpenVINO where it is installed, PyTorch otherwise.

A forward pass that is only a forward pass (:func:`mssnet.sharpen`, :func:`mssnet.sharpen_tensor`
and everything built on them: the pyramid's tiles, the CLI, the sweep, Simulate, the benches)
runs on the backend chosen here; anything that needs gradients (attribution, saliency,
training) calls the ``nn.Module`` itself and stays in PyTorch.

Backends (:data:`BACKENDS`): ``"torch"`` (eager PyTorch), ``"openvino"`` (OpenVINO's CPU
plugin) and ``"auto"``: OpenVINO for an :class:`~mssnet.model.network.MSSNet` on the CPU when the
``openvino`` package imports, PyTorch otherwise. ``None`` means the current default:
:func:`using` (a context manager, e.g. around a CLI command), else the ``ZS_BACKEND``
environment variable, else ``"auto"``. When OpenVINO is asked for and cannot run a pass
(package missing, a graph that fails to compile, a shape that fails to run), the pass runs in PyTorch and a warning
is logged once per cause (logger ``mssnet.runtime.backend``).

The OpenVINO graph is derived from the module in :mod:`mssnet.runtime.graph`; it is compiled, cached
and run in :mod:`mssnet.runtime.compiled`.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import os
import threading
from collections.abc import Hashable, Iterator

import torch
from torch import nn

from ..model.network import MSSNet

__all__ = ["BACKENDS", "ENV", "default_backend", "openvino_available", "resolve_backend", "using"]


#: Accepted values of ``backend``.
BACKENDS = ("auto", "torch", "openvino")
#: Environment variable with the default backend when :func:`using` sets none.
ENV = "ZS_BACKEND"

log = logging.getLogger(__name__)

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("mssnet_backend", default=None)
_warned: set[Hashable] = set()
_warned_lock = threading.Lock()


def _warn_once(key: Hashable, message: str) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message)


def _check_backend(backend: object) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, one of {BACKENDS}; got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    return backend


@contextlib.contextmanager
def using(backend: str) -> Iterator[str]:
    """Within the block (this thread/context), ``backend=None`` means ``backend``."""
    token = _current.set(_check_backend(backend))
    try:
        yield backend
    finally:
        _current.reset(token)


def default_backend() -> str:
    """The backend ``None`` stands for: :func:`using`'s, else ``$ZS_BACKEND``, else ``"auto"``."""
    chosen = _current.get()
    if chosen is not None:
        return chosen
    env = os.environ.get(ENV, "").strip().lower()
    if not env:
        return "auto"
    if env not in BACKENDS:
        raise ValueError(f"{ENV} must be one of {BACKENDS}; got {env!r}")
    return env


def _import_openvino():
    """The ``openvino`` module, or None (and a warning, once) when it does not import."""
    try:
        import openvino
    except Exception as error:  # noqa: BLE001 - a broken install falls back like a missing one
        _warn_once("import", f"OpenVINO is not available ({type(error).__name__}: {error}); "
                             "MSSNet runs in PyTorch (slower: pip install -r requirements.txt)")
        return None
    return openvino


def openvino_available() -> bool:
    """True when the ``openvino`` package imports."""
    return _import_openvino() is not None


def _device(model: nn.Module) -> torch.device:
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def resolve_backend(model: nn.Module, backend: str | None = None) -> str:
    """The backend a pass of ``model`` runs on: ``"torch"`` or ``"openvino"``.

    ``backend``: one of :data:`BACKENDS` or None (:func:`default_backend`). OpenVINO runs
    :class:`~mssnet.model.network.MSSNet` (not subclasses) on the CPU; other modules and devices run in PyTorch
    (with a warning, once, when OpenVINO was asked for by name), as does everything when
    ``openvino`` does not import.
    """
    backend = default_backend() if backend is None else _check_backend(backend)
    if backend == "torch":
        return "torch"
    if type(model) is not MSSNet:  # a subclass may change forward(): only MSSNet's own layers are written out
        if backend == "openvino":
            _warn_once(("module", type(model).__name__),
                       f"OpenVINO runs MSSNet only; a {type(model).__name__} runs in PyTorch")
        return "torch"
    device = _device(model)
    if device.type != "cpu":
        if backend == "openvino":
            _warn_once(("device", device.type), f"OpenVINO runs on the CPU here; the model on {device} "
                                                "runs in PyTorch")
        return "torch"
    return "openvino" if openvino_available() else "torch"
