"""The model room: the network and everything that says which weights it runs with.

* :mod:`~mssnet.model.network` — MSSNet itself (:class:`MSSNet`), its frozen config and named presets;
* :mod:`~mssnet.model.weights` — loading (original checkpoints through one remapping function,
  our safetensors) and saving weights, the bundled files and the weights folder;
* :mod:`~mssnet.model.strength` — the calibrated correction strength per zoom step and pyramid level
  stored in a weights file's metadata (codec and lookup);
* :mod:`~mssnet.model.keys` — content keys that tell images and weights apart in caches.

Only the weights loader reaches outside the room, for :func:`mssnet.image.io.first_line` (one-line messages).
"""

from .keys import fingerprint, weights_key
from .network import PRESETS, STAGE_NAMES, MSSNet, MSSNetConfig
from .strength import LIMITS, level_strengths, model_strength
from .weights import (
    BUNDLED_WEIGHTS,
    DEFAULT_WEIGHTS,
    WEIGHTS_DIR,
    CheckpointError,
    checkpoint_filter,
    infer_config,
    list_weights,
    load_model,
    read_state_dict,
    save_safetensors,
)

__all__ = [
    "MSSNet", "MSSNetConfig", "PRESETS", "STAGE_NAMES",
    "load_model", "save_safetensors", "list_weights", "read_state_dict", "checkpoint_filter", "infer_config",
    "CheckpointError", "DEFAULT_WEIGHTS", "BUNDLED_WEIGHTS", "WEIGHTS_DIR",
    "LIMITS", "level_strengths", "model_strength",
    "fingerprint", "weights_key",
]
