"""Timing helpers shared by the benchmarks: a median timer and the CPU kind every table prints."""

from __future__ import annotations

import os
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
    """The CPU's model name and its fastest bf16 path (AMX, AVX512-BF16) or AVX2 only."""
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
    isa = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else \
        "AVX2" if "avx2" in flags else "no AVX2"
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return f"{name} ({isa}{f', kernels capped at {cap.upper()}' if cap else ''})"
