"""The randomisation sanity check for attribution: same window, random weights.

An attribution map that looks the same for a trained network and for the same network
with random weights shows the network's *shape* (its receptive field, the skip
connection), not what it learned (Adebayo et al.'s model-parameter randomisation test,
which the lesson cites). :func:`random_weights_check` explains one window with both and
measures how alike the maps are (Spearman rank correlation of the magnitudes and of the
signed maps).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mssnet.serve.views import View

from .window import DEFAULT_STEPS, WINDOW_SIDES, WindowExplanation, explain_window

__all__ = ["RandomisationCheck", "random_weights_check", "randomized_copy", "spearman"]

Progress = Callable[[int, int], None] | None


def randomized_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose every layer is re-initialised (``reset_parameters``: PyTorch's
    default initialisation) from a fixed ``seed``; ``model`` is untouched and the global RNG
    is left as it was. The copy keeps the model's other attributes (e.g. ``zoom_strength``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module; got {type(model).__name__}")
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for module in clone.modules():
            if module is not clone and callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
    return clone.eval()


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two arrays of one size (flattened; ties broken by position).
    1: the same order; 0: unrelated; −1: reversed. Constant input gives 0."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"spearman needs two arrays of one size >= 2; got sizes {a.size} and {b.size}")
    ranks = []
    for v in (a, b):
        r = np.empty(v.size)
        r[np.argsort(v, kind="stable")] = np.arange(v.size)
        ranks.append(r - r.mean())
    denom = float(np.sqrt((ranks[0] ** 2).sum() * (ranks[1] ** 2).sum()))
    if denom == 0 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float((ranks[0] * ranks[1]).sum() / denom)


@dataclass
class RandomisationCheck:
    """One window explained with the trained weights and with random weights.

    ``magnitude_similarity``: Spearman correlation of the ``|attr summed over RGB|`` maps;
    ``signed_similarity``: of the signed sums. Near 1: the map shows the network's shape;
    near 0: training changed it."""

    trained: WindowExplanation
    random: WindowExplanation
    magnitude_similarity: float
    signed_similarity: float
    seed: int


def random_weights_check(model: nn.Module, view: View, center: tuple[float, float] | None, method: str,
                         steps: int = DEFAULT_STEPS, side: int = WINDOW_SIDES[1], seed: int = 0,
                         progress: Progress = None, trained: WindowExplanation | None = None) -> RandomisationCheck:
    """:func:`explain.window.explain_window` of the same window with ``model`` (or reuse ``trained``,
    a result for that window) and with :func:`randomized_copy` ``(model, seed)``; same strength,
    same crop, same method and steps."""
    if trained is None:
        trained = explain_window(model, view, center, method, steps, side, progress)
    if trained.attribution is None:
        return RandomisationCheck(trained, trained, 1.0, 1.0, int(seed))
    x0, y0, s, _ = trained.window
    random = explain_window(randomized_copy(model, seed), view, (x0 + s / 2, y0 + s / 2), trained.method,
                            steps, s, progress)
    if random.window != trained.window or random.attribution is None:
        raise ValueError(f"the window moved from {trained.window} to {random.window}")
    a, b = trained.attribution.sum(0), random.attribution.sum(0)
    return RandomisationCheck(trained, random, spearman(np.abs(a), np.abs(b)), spearman(a, b), int(seed))
