"""Compiled OpenVINO models of MSSNet: their cache, which graph a pass runs in, and the pass itself.

Compiled models are cached (:class:`CompiledCache`, LRU bounded in count) by the weights
(:func:`mssnet.model.keys.weights_key`), the outputs (final or six stages), the precision, the thread count and the
input shape the graph was compiled for (None: any). Most passes run in one graph compiled for
dynamic shapes (any batch, H, W), so memory and compilation do not grow with every new shape
(graphs compiled per shape each cost memory and compilation time, and round differently in bf16);
a dynamic graph's first pass at a new shape costs more than a pass. The few shapes that carry most
of the work (:data:`STATIC_SIDES`: every interior pyramid tile and the studio's square views) get a
graph compiled for that one shape, where OpenVINO fuses the residual additions into the
convolutions; only the precisions of :data:`STATIC_PRECISIONS` get them, where that was measured to
pay (``bench/speed.py --dynamic``; bench/README.md). Which graph runs depends only
on the input's shape and precision, so a tile's pixels never depend on what ran before it. Precision follows
:func:`mssnet.runtime.inference.resolve_precision` through OpenVINO's ``INFERENCE_PRECISION_HINT`` (bf16
where the CPU has it natively, f32 elsewhere); threads follow ``torch.get_num_threads()`` at
compilation.

* :func:`run_openvino` — one pass in OpenVINO (None when it cannot run: the caller runs PyTorch);
* :func:`prepare` — the graphs a model's passes will use, compiled ahead;
* :func:`backend_name` — what a pass runs on, for people (failed graphs and shapes counted).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..model.keys import weights_key
from ..model.network import MSSNet
from .backend import _device, _warn_once, resolve_backend
from .graph import openvino_graph
from .precision import resolve_precision

__all__ = [
    "CACHE_SIZE", "STATIC_PRECISIONS", "STATIC_SIDES", "CompiledCache", "backend_name", "compiled_cache", "prepare",
    "run_openvino", "static_shape",
]


#: Compiled models kept: e.g. two weights x two precisions x three graphs (final output for any
#: shape, final output for each of :data:`STATIC_SIDES`), plus the stages' graphs of one.
CACHE_SIZE = 16
#: Square sides whose (1, 3, side, side) final-output passes run in a graph compiled for that shape:
#: 320 = a pyramid tile (256) with its 32-px margins (every interior tile of every level), 384 = the
#: studio's views. Other shapes, batches and the stages run in the dynamic-shape graph.
STATIC_SIDES = (320, 384)
#: Precisions whose passes of :data:`STATIC_SIDES` get their own graph (where it was measured to pay).
STATIC_PRECISIONS = ("bf16",)
#: OpenVINO's names of the two precisions of :func:`mssnet.runtime.inference.resolve_precision`.
_OV_PRECISION = {"fp32": "f32", "bf16": "bf16"}


class _Compiled:
    """One compiled model and its infer request; calls are serialised (a request is not reentrant).
    ``failed_shapes``: input shapes whose inference raised (they run in PyTorch from then on)."""

    def __init__(self, compiled) -> None:
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self.lock = threading.Lock()
        self.failed_shapes: set[tuple[int, ...]] = set()

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        with self.lock:
            self.request.infer({0: x})
            return [self.request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))]


class CompiledCache:
    """Thread-safe LRU of compiled OpenVINO models, bounded in count, and the keys that failed to
    compile (never retried; also bounded). ``compiles`` counts the compilations done."""

    def __init__(self, maxsize: int = CACHE_SIZE) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise ValueError(f"maxsize must be a positive int; got {maxsize!r}")
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, _Compiled] = OrderedDict()
        self._failed: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}
        self.compiles = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def keys(self) -> list[tuple]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._failed.clear()

    def failures(self, weights: str) -> int:
        """How many graphs of these weights failed to compile (those for one shape do not count: their
        passes run in the graph for any shape), plus the shapes that failed to run."""
        with self._lock:
            return (sum(k[0] == weights and k[-1] is None for k in self._failed)
                    + sum(len(v.failed_shapes) for k, v in self._items.items() if k[0] == weights))

    def get(self, key: tuple, make: Callable[[], object]) -> _Compiled | None:
        """The compiled model for ``key`` (``make()`` compiles it on a miss), or None when that failed."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            if key in self._failed:
                return None
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one compilation per key, even with two threads asking
            with self._lock:
                if key in self._items or key in self._failed:
                    return self._items.get(key)
            try:
                item = _Compiled(make())
            except Exception as error:  # noqa: BLE001 - any failure falls back to PyTorch
                with self._lock:
                    self._failed[key] = f"{type(error).__name__}: {error}"
                    while len(self._failed) > 4 * self.maxsize:
                        self._failed.popitem(last=False)
                    self._building.pop(key, None)
                fallback = ("its passes run in PyTorch" if key[-1] is None else
                            f"passes of shape {key[-1]} run in the graph for any shape")
                _warn_once(("compile",) + key[1:], f"OpenVINO could not compile MSSNet ({_first_line(error)}); "
                                                   + fallback)
                return None
            with self._lock:
                self._items[key] = item
                self.compiles += 1
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
                self._building.pop(key, None)
            return item


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


_CACHE = CompiledCache()


def compiled_cache() -> CompiledCache:
    """The process's cache of compiled models (empty until the first OpenVINO pass)."""
    return _CACHE


_core_lock = threading.Lock()
_cores: list = []


def _core():
    """One ``openvino.Core`` per process (a Core per compilation costs memory and time)."""
    with _core_lock:
        if not _cores:
            import openvino as ov

            _cores.append(ov.Core())
        return _cores[0]


def _compile(model: MSSNet, stages: bool, precision: str, threads: int,
             shape: tuple[int, int, int, int] | None = None):
    """MSSNet compiled for OpenVINO's CPU plugin: for inputs of ``shape``, or any (B, 3, H, W) with None."""
    config = {"INFERENCE_PRECISION_HINT": _OV_PRECISION[precision], "INFERENCE_NUM_THREADS": threads,
              "PERFORMANCE_HINT": "LATENCY"}
    return _core().compile_model(openvino_graph(model, shape, stages), "CPU", config)


def static_shape(shape: tuple[int, ...], stages: bool, precision: str) -> tuple[int, int, int, int] | None:
    """The shape a pass's own graph is compiled for, or None when it runs in the dynamic-shape graph:
    final-output passes of one (1, 3, s, s) image with s in :data:`STATIC_SIDES`, in a precision of
    :data:`STATIC_PRECISIONS`."""
    if stages or precision not in STATIC_PRECISIONS or len(shape) != 4 or shape[0] != 1 or shape[1] != 3 \
            or shape[2] != shape[3]:
        return None
    return tuple(shape) if shape[2] in STATIC_SIDES else None


def _runner(model: MSSNet, shape: tuple[int, ...], precision: str, stages: bool) -> _Compiled | None:
    """The compiled model a pass of this input shape runs in (compiled on first use), None when
    OpenVINO cannot compile it. A static shape whose own graph fails to compile runs in the
    dynamic-shape graph (warned once)."""
    threads = torch.get_num_threads()
    key = (weights_key(model), stages, precision, threads)
    static = static_shape(shape, stages, precision)
    if static is not None:
        runner = _CACHE.get(key + (static,), lambda: _compile(model, stages, precision, threads, static))
        if runner is not None:
            return runner
    return _CACHE.get(key + (None,), lambda: _compile(model, stages, precision, threads))


def run_openvino(model: MSSNet, x: Tensor, precision: str, stages: bool) -> list[Tensor] | None:
    """x: (B, 3, h, w) float on the CPU, h, w multiples of 16 -> MSSNet's outputs, float32, as
    ``model(x)`` (``[(B, 3, h, w)]``) or ``model.forward_stages(x)`` (six, the first
    (B, 3, h/2, w/2)) return them; None when OpenVINO cannot run it (warned once).

    ``precision``: ``"fp32"`` or ``"bf16"`` (already resolved). The first call for a key (weights,
    outputs, precision, threads) compiles a dynamic-shape graph; later calls, any shape, reuse it
    from :func:`compiled_cache`; shapes of :func:`static_shape` compile and reuse their own graph.
    """
    if precision not in _OV_PRECISION:
        raise ValueError(f"precision must be 'fp32' or 'bf16' here; got {precision!r}")
    shape = tuple(x.shape)
    runner = _runner(model, shape, precision, stages)
    if runner is None or shape in runner.failed_shapes:
        return None
    x = x.detach().to(torch.float32).contiguous()  # (B, 3, h, w): the copy in (none if already so)
    try:
        outs = [torch.from_numpy(o) for o in runner(x.numpy())]  # corrections (copies out), float32
    except Exception as error:  # noqa: BLE001 - a shape OpenVINO cannot run falls back to PyTorch
        runner.failed_shapes.add(shape)
        _warn_once(("infer", stages, precision, shape), f"OpenVINO could not run MSSNet on input {shape} "
                                                   f"({_first_line(error)}); that shape runs in PyTorch")
        return None
    if not stages:
        return [outs[0] + x]  # the residual addition in fp32, as MSSNet's forward
    half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)  # (B, 3, h/2, w/2)
    return [outs[0] + half] + [o + x for o in outs[1:]]


def prepare(model: nn.Module, precision: str = "auto", stages: bool = True, backend: str | None = None) -> bool:
    """Compile ahead the graphs ``model``'s passes will use (final output for any shape, for each of
    :data:`STATIC_SIDES` in a precision of :data:`STATIC_PRECISIONS` and, with ``stages``, the six
    stages) so that the first view after loading weights does not pay for their compilation; e.g. in
    a background thread when weights are loaded. Returns True when OpenVINO will run
    the passes, False when they run in PyTorch."""
    if resolve_backend(model, backend) != "openvino":
        return False
    resolved = resolve_precision(precision, _device(model))
    shapes = [((1, 3, 16, 16), False)]
    if resolved in STATIC_PRECISIONS:
        shapes += [((1, 3, s, s), False) for s in STATIC_SIDES]
    if stages:
        shapes.insert(1, ((1, 3, 16, 16), True))
    return all([_runner(model, shape, resolved, flavour) is not None for shape, flavour in shapes])


def backend_name(model: nn.Module, precision: str = "auto", backend: str | None = None) -> str:
    """What a pass of ``model`` runs on, for people: e.g. ``"OpenVINO 2026.4.1 · bf16"``,
    ``"PyTorch 2.13.0 · fp32"``. Graphs or shapes OpenVINO failed on (they ran in PyTorch) are counted."""
    resolved = resolve_precision(precision, _device(model))
    if resolve_backend(model, backend) == "torch":
        mode = "bf16 autocast" if resolved == "bf16" else resolved
        return f"PyTorch {torch.__version__.split('+')[0]} · {mode}"
    import openvino

    name = f"OpenVINO {openvino.__version__.split('-')[0]} · {resolved}"
    failed = _CACHE.failures(weights_key(model))
    if failed:
        name += f" (PyTorch where OpenVINO failed: {failed} graph(s)/shape(s))"
    return name
