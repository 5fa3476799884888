"""Timing helpers shared by the benchmarks: a median timer and the CPU kind every table prints."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_kind() -> str:
    """The CPU's model name, its fastest vector path (AMX, AVX512-BF16, AVX512, AVX2) and any cap on
    the kernels' instruction sets (``ONEDNN_MAX_CPU_ISA``, :func:`mssnet.runtime.precision.isa_cap`)."""
    from mssnet.runtime.precision import isa_cap  # the benches put the repository root on sys.path first

    name, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and name in ("unknown CPU", platform.processor()):
                    name = line.partition(":")[2].strip()
                elif line.startswith("flags"):
                    flags.update(line.partition(":")[2].split())
    except OSError:
        pass
    isa = next((label for flag, label in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX512"),
                                          ("avx2", "AVX2")) if flag in flags), "no AVX2")
    cap = isa_cap()
    return f"{name} ({isa}{f', kernels capped at {cap}' if cap else ''})"
