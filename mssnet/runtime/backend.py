"""The runtime of MSSNet's forward passes: OpenVINO where it is installed, PyTorch otherwise.

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

How a model becomes an OpenVINO graph: :func:`openvino_graph` traces
:meth:`MSSNet.corrections <mssnet.model.network.MSSNet.corrections>` with ``torch.fx`` and writes
each traced layer and function as the OpenVINO operation that computes it, the weights as
constants, so the network is written once, in :mod:`mssnet.model.network`. The graph outputs the
stage heads' corrections; the residual additions (input + correction) run in PyTorch in fp32, as
in :class:`~mssnet.model.network.MSSNet` under bf16 autocast.

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
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from ..model.keys import weights_key
from ..model.network import MSSNet
from .precision import resolve_precision

__all__ = [
    "BACKENDS",
    "CACHE_SIZE",
    "ENV",
    "STATIC_PRECISIONS",
    "STATIC_SIDES",
    "CompiledCache",
    "backend_name",
    "compiled_cache",
    "default_backend",
    "openvino_available",
    "openvino_graph",
    "prepare",
    "resolve_backend",
    "run_openvino",
    "static_shape",
    "using",
]

#: Accepted values of ``backend``.
BACKENDS = ("auto", "torch", "openvino")
#: Environment variable with the default backend when :func:`using` sets none.
ENV = "ZS_BACKEND"
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


# --------------------------------------------------------------------------- choosing a backend


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


# --------------------------------------------------------------------------- the OpenVINO graph


class _Corrections(nn.Module):
    """``model.corrections(x, stages)`` as a module's forward, for ``torch.fx`` to trace."""

    def __init__(self, model: MSSNet, stages: bool) -> None:
        super().__init__()
        self.model, self.stages = model, stages

    def forward(self, x: Tensor) -> list[Tensor]:
        return self.model.corrections(x, self.stages)


def openvino_graph(model: MSSNet, shape: tuple[int, int, int, int] | None, stages: bool):
    """MSSNet as an ``openvino.Model``: input ``x: (B, 3, H, W)`` float32 (``shape``, or dynamic
    B, H, W with None), H, W multiples of 16; outputs the stage heads' corrections, float32:
    with ``stages`` six, the first ``(B, 3, H/2, W/2)`` (add the ½ bilinear input), the others
    ``(B, 3, H, W)`` (add ``x``); otherwise only the final one.

    The graph is derived from the module: :meth:`MSSNet.corrections <mssnet.model.network.MSSNet.corrections>`
    is traced with ``torch.fx`` and every node becomes the OpenVINO operation that computes the same
    function (:func:`_ov_layer`, :func:`_ov_function`); the weights are copied into the graph (later
    changes to ``model`` do not reach it). A layer or function without a translation raises
    NotImplementedError naming it (the pass then runs in PyTorch, see :func:`run_openvino`).
    """
    import openvino as ov
    import openvino.opset13 as ops

    if not isinstance(model, MSSNet):
        raise TypeError(f"model must be an MSSNet; got {type(model).__name__}")
    if shape is not None and (len(shape) != 4 or shape[1] != 3 or shape[2] % 16 or shape[3] % 16):
        raise ValueError(f"shape must be (B, 3, H, W) with H, W multiples of 16; got {shape}")
    root = _Corrections(model, stages)
    graph = _traced(root)
    x = ops.parameter(ov.PartialShape(list(shape) if shape else [-1, 3, -1, -1]), ov.Type.f32, name="x")
    values: dict[torch.fx.Node, object] = {}
    constants: dict[int, object] = {}  # one constant per parameter tensor (MSSNet shares its PReLU)
    heads: list = []

    def const(t: Tensor):
        if id(t) not in constants:
            constants[id(t)] = ops.constant(t.detach().to("cpu", torch.float32).contiguous().numpy().copy())
        return constants[id(t)]

    def arg(a):
        if isinstance(a, (list, tuple)):
            return [arg(v) for v in a]
        if isinstance(a, dict):
            return {k: arg(v) for k, v in a.items()}
        return values[a] if isinstance(a, torch.fx.Node) else a

    for node in graph.nodes:
        if node.op == "placeholder":
            values[node] = x
        elif node.op == "call_module":
            values[node] = _ov_layer(ops, root.get_submodule(node.target), arg(node.args[0]), const)
        elif node.op == "call_function":
            values[node] = _ov_function(ops, node.target, arg(node.args), arg(dict(node.kwargs)))
        elif node.op == "output":
            heads = arg(node.args[0])
        else:
            raise NotImplementedError(f"OpenVINO graph: no translation for a {node.op} node ({node.target})")
    return ov.Model([ops.result(h) for h in heads], [x], "mssnet-stages" if stages else "mssnet")


_TRACES: OrderedDict[tuple, torch.fx.Graph] = OrderedDict()
_TRACES_LOCK = threading.Lock()


def _traced(root: _Corrections) -> torch.fx.Graph:
    """``torch.fx`` graph of ``root``, traced once per module structure (the layers' names and types,
    not their weights: the translation reads each layer from the module itself) and stages flag."""
    key = (root.stages, tuple((name, type(m)) for name, m in root.model.named_modules()))
    with _TRACES_LOCK:
        if key in _TRACES:
            _TRACES.move_to_end(key)
            return _TRACES[key]
    graph = torch.fx.symbolic_trace(root).graph
    with _TRACES_LOCK:
        _TRACES[key] = graph
        while len(_TRACES) > 8:
            _TRACES.popitem(last=False)
    return graph


def _ov_layer(ops, layer: nn.Module, x, const: Callable[[Tensor], object]):
    """The OpenVINO operation of one leaf layer applied to ``x``."""
    if isinstance(layer, nn.Conv2d):
        if layer.stride != (1, 1) or layer.dilation != (1, 1) or layer.groups != 1 or isinstance(layer.padding, str):
            raise NotImplementedError(f"OpenVINO graph: only stride-1, ungrouped, numerically padded convolutions; "
                                      f"got {layer}")
        pad = list(layer.padding)
        y = ops.convolution(x, const(layer.weight), [1, 1], pad, pad, [1, 1])
        return y if layer.bias is None else ops.add(y, ops.reshape(const(layer.bias), [1, -1, 1, 1], False))
    if isinstance(layer, nn.PReLU):
        return ops.prelu(x, const(layer.weight))
    if isinstance(layer, nn.PixelUnshuffle):
        return ops.space_to_depth(x, "depth_first", layer.downscale_factor)
    if isinstance(layer, nn.PixelShuffle):
        return ops.depth_to_space(x, "depth_first", layer.upscale_factor)
    if isinstance(layer, nn.Identity):
        return x
    raise NotImplementedError(f"OpenVINO graph: no translation for the layer {type(layer).__name__}")


def _ov_function(ops, fn: Callable, args: list, kwargs: dict):
    """The OpenVINO operation of one function call (PyTorch's functional form and arguments)."""
    import operator

    if fn in (operator.add, torch.add):
        return ops.add(args[0], args[1])
    if fn is torch.cat:
        return ops.concat(args[0], args[1] if len(args) > 1 else kwargs.get("dim", 0))
    if fn is F.avg_pool2d:
        k = args[1] if len(args) > 1 else kwargs["kernel_size"]
        if kwargs.keys() - {"kernel_size"} or len(args) > 2:
            raise NotImplementedError(f"OpenVINO graph: avg_pool2d with {args[2:]} {kwargs}")
        return ops.avg_pool(args[0], [k, k], [0, 0], [0, 0], [k, k], True)
    if fn is F.interpolate:
        scale = kwargs.get("scale_factor")
        if kwargs.get("mode") != "bilinear" or not isinstance(scale, float) or kwargs.get("size") is not None:
            raise NotImplementedError(f"OpenVINO graph: interpolate with {kwargs}")
        mode = "align_corners" if kwargs.get("align_corners") else "half_pixel"
        return ops.interpolate(args[0], np.array([scale, scale], np.float32), "linear_onnx", "scales",
                               coordinate_transformation_mode=mode, axes=np.array([2, 3], np.int64))
    raise NotImplementedError(f"OpenVINO graph: no translation for {getattr(fn, '__name__', fn)}")


# --------------------------------------------------------------------------- compiled models


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
