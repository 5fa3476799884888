"""MSSNet as an OpenVINO graph, derived from the module.

:func:`openvino_graph` traces :meth:`MSSNet.corrections <mssnet.model.network.MSSNet.corrections>` with
``torch.fx`` and writes each traced layer and function as the OpenVINO operation that computes it, the
weights as constants, so the network is written once, in :mod:`mssnet.model.network`. The graph outputs
the stage heads' corrections; the residual additions (input + correction) run in PyTorch in fp32, as in
:class:`~mssnet.model.network.MSSNet` under bf16 autocast. Traces are kept per module structure (not per
weights).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from ..model.network import MSSNet

__all__ = ["openvino_graph"]


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
    NotImplementedError naming it (the pass then runs in PyTorch, see :func:`~mssnet.runtime.compiled.run_openvino`).
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
