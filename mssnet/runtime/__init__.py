"""The runtime room: how MSSNet's forward passes run on this machine.

* :mod:`~mssnet.runtime.inference` — the entry points (:func:`sharpen_tensor` on ``(B, 3, H, W)``
  tensors, :func:`sharpen` on NumPy images) with the one tiling (pad to ×16, tiles with overlap, crop),
  and their stage-returning twins;
* :mod:`~mssnet.runtime.backend` — which runtime runs a pass (OpenVINO where installed, PyTorch otherwise);
* :mod:`~mssnet.runtime.graph` — MSSNet as an OpenVINO graph, derived from the module;
* :mod:`~mssnet.runtime.compiled` — the compiled graphs, cached, and a pass run in them;
* :mod:`~mssnet.runtime.precision` — ``"auto"`` turned into fp32 or bf16 for a device;
* :mod:`~mssnet.runtime.speed` — which bundled weights suit this machine, measured;
* :mod:`~mssnet.runtime.background` — threads that run passes, ended before the interpreter tears down.
"""

from .backend import BACKENDS, default_backend, using
from .compiled import backend_name
from .inference import PRECISIONS, sharpen, sharpen_stages, sharpen_tensor, sharpen_tensor_stages
from .precision import isa_cap, resolve_precision
from .speed import PresetChoice, choose_preset
from .tiling import pad_to_multiple, tile_count

__all__ = [
    "sharpen", "sharpen_stages", "sharpen_tensor", "sharpen_tensor_stages", "pad_to_multiple", "tile_count",
    "resolve_precision", "isa_cap", "PRECISIONS",
    "BACKENDS", "backend_name", "default_backend", "using",
    "PresetChoice", "choose_preset",
]
