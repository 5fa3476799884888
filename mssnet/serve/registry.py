"""The studio's models: :class:`ModelRegistry`, weights files by label (the bundled ones, the other files in
``assets/weights`` and uploads), loaded on first use, at most :data:`MAX_MODELS` kept (least recently used
first out).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from torch import nn

from ..model.weights import BUNDLED_WEIGHTS, DEFAULT_WEIGHTS, list_weights, load_model
from ..runtime import speed
from ..runtime.speed import PresetChoice

__all__ = ["MAX_MODELS", "ModelRegistry", "weights_label"]


#: How many loaded models are kept.
MAX_MODELS = 2


def weights_label(path: Path) -> str:
    """``name · preset`` for a weights file (preset read from safetensors metadata when cheap)."""
    preset = None
    if path.suffix.lower() == ".safetensors":
        with contextlib.suppress(Exception):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                preset = (f.metadata() or {}).get("preset")
    return f"{path.name} · {preset}" if preset else path.name


class ModelRegistry:
    """Weights files by label; models loaded on first use, at most ``max_models`` kept (LRU).

    ``default_path``: the default weights (None: the bundled file); other files in
    ``assets/weights`` are offered too. The default is loaded now, so a missing or broken
    file fails at start-up.
    """

    def __init__(self, default_path: str | os.PathLike | None = None, max_models: int = MAX_MODELS):
        self.max_models = max_models
        self.paths: dict[str, Path] = {}
        self._loaded: OrderedDict[str, nn.Module] = OrderedDict()
        self._lock = threading.Lock()
        self.choice: PresetChoice | None = None
        if default_path is not None:
            self.default_label = self._register(Path(default_path))
        else:  # the bundled "quality" and "fast" weights; the default measured on this CPU
            bundled = {p: path for p, path in BUNDLED_WEIGHTS.items() if path.exists()}
            if "small" not in bundled:
                raise FileNotFoundError(f"no bundled weights are present ({DEFAULT_WEIGHTS} does not exist)")
            labels = {p: self._register(path, name=f"MSSNet-{p} · {speed.LABELS[p]}", bundled=True)
                      for p, path in bundled.items()}
            self.choice = speed.choose_preset(self.get(labels["small"])) if "tiny" in bundled else None
            self.default_label = labels[self.choice.preset if self.choice else "small"]
        known = {p.resolve() for p in self.paths.values()}
        for path in list_weights():
            if path.resolve() not in known:
                self._register(path)
        self.get(self.default_label)

    @property
    def labels(self) -> list[str]:
        return list(self.paths)

    def why(self, label: str | None) -> str | None:
        """Why ``label`` (None: the default) is the default when the speed test chose it, else None."""
        chosen = self.choice is not None and (label or self.default_label) == self.default_label
        return self.choice.reason if chosen else None

    def _register(self, path: Path, name: str | None = None, bundled: bool = False, uploaded: bool = False) -> str:
        label = name or weights_label(path)
        if bundled:
            label += " (bundled)"
        if uploaded:
            label = f"uploaded: {label}"
        base, n = label, 2
        while label in self.paths and self.paths[label].resolve() != path.resolve():
            label, n = f"{base} #{n}", n + 1
        self.paths[label] = path
        return label

    def _keep(self, label: str, model: nn.Module) -> None:
        """Remember a loaded model as the most recent one; forget the oldest beyond the limit."""
        self._loaded[label] = model
        self._loaded.move_to_end(label)
        while len(self._loaded) > self.max_models:
            self._loaded.popitem(last=False)

    def get(self, label: str | None) -> nn.Module:
        """The MSSNet for a label (None: the default), loaded on first use."""
        label = label or self.default_label
        if label not in self.paths:
            raise ValueError(f"unknown model {label!r}; choose one of {', '.join(self.paths)}")
        with self._lock:
            model = self._loaded.get(label)
            self._keep(label, model if model is not None else load_model(self.paths[label]))
            return self._loaded[label]

    def add(self, path: str | os.PathLike) -> tuple[str, nn.Module]:
        """An uploaded weights file -> (its new label, the loaded model). Bad files raise ``CheckpointError``."""
        model = load_model(path)
        label = self._register(Path(path), uploaded=True)
        with self._lock:
            self._keep(label, model)
        return label, model

    def is_loaded(self, label: str) -> bool:
        return label in self._loaded
