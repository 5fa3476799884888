"""Which bundled weights suit this machine: a measured choice between "fast" and "quality".

MSSNet-small on a 384² view costs 181 GFLOP, the tiny preset a sixth of that; how long a pass
takes depends on the CPU (native bf16 — AMX, AVX512-BF16 — or fp32 only; measured times per CPU in
bench/README.md). :func:`choose_preset` times one small pass on this machine, on the backend the
app's passes will use (:mod:`mssnet.runtime.backend`: OpenVINO where installed, PyTorch otherwise),
and picks ``"small"`` when a 384² view would take at most ``budget_s`` seconds, ``"tiny"``
otherwise.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
from torch import nn

from .compiled import backend_name
from .inference import sharpen_tensor

__all__ = ["LABELS", "PresetChoice", "choose_preset", "pass_seconds"]

#: What the app calls each bundled preset.
LABELS = {"small": "quality", "tiny": "fast"}
#: Seconds a 384² view may take with the quality weights before the app starts on the fast ones.
DEFAULT_BUDGET_S = 1.5
#: Environment variable that overrides the measured choice ("fast"/"tiny" or "quality"/"small").
ENV = "ZS_MODEL"


@dataclass(frozen=True)
class PresetChoice:
    """The chosen preset and why: ``seconds_384`` is small's measured time for a 384² view on
    ``backend`` (:func:`mssnet.runtime.compiled.backend_name`; None when nothing was measured)."""

    preset: str
    seconds_384: float | None
    budget_s: float
    reason: str
    backend: str | None = None


def pass_seconds(model: nn.Module, side: int = 192, repeats: int = 2, backend: str | None = None) -> float:
    """Median seconds of one MSSNet pass on a ``side``² image on ``backend`` (as
    :func:`mssnet.sharpen_tensor`; the warm-up pass before the timed ones also compiles it)."""
    if side < 16 or side % 16:
        raise ValueError(f"side must be a multiple of 16, at least 16; got {side}")
    x = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    sharpen_tensor(model, x, backend=backend)
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        sharpen_tensor(model, x, backend=backend)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def choose_preset(small: nn.Module, budget_s: float = DEFAULT_BUDGET_S, side: int = 192,
                  backend: str | None = None) -> PresetChoice:
    """Measure ``small`` on this machine, on ``backend`` (None: the default the app's passes use),
    and choose "small" or "tiny" (see the module doc).

    ``ZS_MODEL=fast|tiny|quality|small`` in the environment skips the measurement.
    """
    forced = os.environ.get(ENV, "").strip().lower()
    aliases = {"fast": "tiny", "tiny": "tiny", "quality": "small", "small": "small"}
    if forced:
        if forced not in aliases:
            raise ValueError(f"{ENV} must be one of {sorted(aliases)}; got {forced!r}")
        return PresetChoice(aliases[forced], None, budget_s, f"{ENV}={forced}")
    seconds = pass_seconds(small, side, backend=backend) * (384 / side) ** 2  # a pass costs ∝ pixels
    runtime = backend_name(small, backend=backend)
    if seconds <= budget_s:
        return PresetChoice("small", seconds, budget_s,
                            f"a 384² view takes about {seconds:.1f} s with the quality weights on this CPU "
                            f"({runtime})", runtime)
    return PresetChoice("tiny", seconds, budget_s,
                        f"a 384² view would take about {seconds:.1f} s with the quality weights on this CPU "
                        f"({runtime}; over {budget_s:g} s), so the fast weights are the default", runtime)
