"""MSSNet: model, weights, inference and zoom pipeline (no UI code here)."""

from .model import PRESETS, STAGE_NAMES, MSSNet, MSSNetConfig

__all__ = ["MSSNet", "MSSNetConfig", "PRESETS", "STAGE_NAMES"]
