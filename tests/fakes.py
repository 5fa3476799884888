"""Stand-ins shared by the tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Identity(nn.Module):
    """Stands in for MSSNet: returns its input (stage 1 at half resolution) and records it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 16 == 0 and x.shape[-1] % 16 == 0, x.shape
        self.seen.append(x.clone())
        return x

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [F.avg_pool2d(x, 2)] + [self(x)] * 5
