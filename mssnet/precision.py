"""Which precision a pass runs in: ``"auto"`` turned into ``"fp32"`` or ``"bf16"`` for a device.

bf16 is several times faster than fp32 on CPUs with native bf16 (AMX, AVX512-BF16) and about 8x
slower where it is emulated (AVX2 only), so ``"auto"`` reads the CPU's flags. Used by the inference
entry points (:mod:`mssnet.inference`) and the runtimes (:mod:`mssnet.backend`); imports nothing of
the package.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["PRECISIONS", "resolve_precision"]

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


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """Turn ``"auto"``/``"fp32"``/``"bf16"`` into the concrete ``"fp32"`` or ``"bf16"``.

    ``"auto"`` picks bf16 autocast on CUDA devices that support it and on CPUs with
    native bf16 (``amx_bf16`` or ``avx512_bf16`` in /proc/cpuinfo); everywhere else
    fp32, because emulated bf16 is far slower (8x on an AVX2-only EPYC).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if _cpu_has_fast_bf16() else "fp32"
    return "fp32"
