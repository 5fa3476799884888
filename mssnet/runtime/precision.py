"""Which precision a pass runs in: ``"auto"`` turned into ``"fp32"`` or ``"bf16"`` for a device.

bf16 is faster than fp32 only on CPUs with native bf16 (AMX, AVX512-BF16) and far slower where it
is emulated (AVX2 only; bench/README.md), so ``"auto"`` reads the CPU's flags, and honours a cap on
the instruction sets set through ``ONEDNN_MAX_CPU_ISA`` (which PyTorch's and OpenVINO's kernels obey:
capped at ``AVX2`` an AVX512-BF16 CPU runs like an AVX2-only one). Used by the inference
entry points (:mod:`mssnet.runtime.inference`) and the runtimes (:mod:`mssnet.runtime.backend`); imports nothing of
the package.
"""

from __future__ import annotations

import functools
import os

import torch

__all__ = ["PRECISIONS", "isa_cap", "resolve_precision"]

#: Accepted values of ``precision``.
PRECISIONS = ("auto", "fp32", "bf16")


@functools.lru_cache(maxsize=4)
def _cpu_has_fast_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU advertises native bf16 (AMX or AVX512-BF16); False if unknown."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"amx_bf16", "avx512_bf16"})


#: ``ONEDNN_MAX_CPU_ISA`` values below native bf16 (oneDNN's names; higher ones and ``ALL`` allow it).
_ISA_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"})


def isa_cap() -> str | None:
    """The instruction-set cap the kernels are held to (``ONEDNN_MAX_CPU_ISA``, upper case), or None."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return cap.strip().upper() if cap and cap.strip() else None


def _fast_bf16_allowed() -> bool:
    """True when the CPU has native bf16 and no ISA cap keeps the kernels below it."""
    return _cpu_has_fast_bf16() and isa_cap() not in _ISA_WITHOUT_BF16


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """Turn ``"auto"``/``"fp32"``/``"bf16"`` into the concrete ``"fp32"`` or ``"bf16"``.

    ``"auto"`` picks bf16 autocast on CUDA devices that support it and on CPUs with
    native bf16 (``amx_bf16`` or ``avx512_bf16`` in /proc/cpuinfo) unless ``ONEDNN_MAX_CPU_ISA``
    caps the kernels below it; everywhere else fp32, because emulated bf16 is far slower than fp32.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if _fast_bf16_allowed() else "fp32"
    return "fp32"
