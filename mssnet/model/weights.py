"""Load and save MSSNet weights.

Accepted files (the format is recognised by content, not by the file extension):

* an original MSSNet checkpoint (``model_03000E.pt``): a ``torch.save`` dict whose
  ``model_state_dict`` entry holds the weights, keys possibly prefixed ``module.``;
* a bare state dict saved with ``torch.save``;
* a training checkpoint of ours: a dict with one of the entries ``model_state_dict``,
  ``state_dict``, ``model`` or ``params``;
* the project's export format, ``.safetensors`` (usually fp16; cast to fp32 on load).

PyTorch files are read with ``torch.load(..., weights_only=True)`` only, so a file
can never run code while it loads. Every problem with a file's content raises one
exception, :class:`CheckpointError`, whose one-line message names the file.

Foreign keys go through one pure function, :func:`checkpoint_filter` (timm's
``checkpoint_filter_fn``): strip ``module.``, check every key and shape, and name
the first mismatch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from ..image.io import first_line
from .network import MSSNet, MSSNetConfig
from .strength import LEVEL_KEY, METADATA_KEY, decode_levels, decode_table, encode_table

__all__ = [
    "BUNDLED_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "WEIGHTS_DIR",
    "WEIGHT_SUFFIXES",
    "CheckpointError",
    "checkpoint_filter",
    "infer_config",
    "list_weights",
    "load_model",
    "read_state_dict",
    "save_safetensors",
]

#: Folder of the bundled weights (``assets/weights`` at the repository root).
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "weights"
#: The project's own trained weights per preset (model card: ``assets/weights/README.md``).
BUNDLED_WEIGHTS = {
    "small": WEIGHTS_DIR / "mssnet-small-zoom.safetensors",
    "tiny": WEIGHTS_DIR / "mssnet-tiny-zoom.safetensors",
}
#: The weights :func:`load_model` uses when neither a path nor a preset is given.
DEFAULT_WEIGHTS = BUNDLED_WEIGHTS["small"]
#: File name endings that :func:`list_weights` reports.
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth")

# Entries of a checkpoint dict that may hold the state dict, in order of preference
# (``ema`` first: a training checkpoint of ours scores and exports its EMA weights).
_STATE_DICT_ENTRIES = ("ema", "model_state_dict", "state_dict", "model", "params")
# Prefixes added by DataParallel / DistributedDataParallel and by torch.compile.
_PREFIXES = ("module.", "_orig_mod.")
# Keys whose shapes give the widths: (wf, 12, 3, 3), (wf + scale, wf, 1, 1), (wf + scale + vscale, ...).
_KEY_WF = "shallow_feat1.0.weight"
_KEY_SCALE = "E1_1.down12.down.1.weight"
_KEY_VSCALE = "E1_1.down23.down.1.weight"
_SAVE_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


class CheckpointError(ValueError):
    """A weights file that cannot be used: not a checkpoint, corrupt, or another architecture."""


# --------------------------------------------------------------------------- reading


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read the tensors of a weights file, without checking them against MSSNet.

    Returns ``(state_dict, metadata)``: tensor names with ``module.`` stripped, and
    the safetensors metadata (empty for PyTorch files). Raises ``FileNotFoundError``
    for a missing file and :class:`CheckpointError` for anything that is not a
    readable dict of tensors.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such weights file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a weights file")
    with open(path, "rb") as f:
        head = f.read(9)
    if not head:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")

    if _looks_like_safetensors(head):
        tensors, metadata = _read_safetensors(path)
    else:
        tensors, metadata = _read_torch(path, head), {}
    return _strip_prefixes(tensors), metadata


def _looks_like_safetensors(head: bytes) -> bool:
    """A safetensors file starts with a little-endian u64 header length, then ``{``."""
    return len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < 1 << 30


def _read_safetensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (not iterable)
    except Exception as exc:  # noqa: BLE001 (SafetensorError, OSError, ...: any of them means a bad file)
        raise CheckpointError(f"{path}: truncated or corrupt safetensors file ({first_line(exc)})") from None
    if not tensors:
        raise CheckpointError(f"{path}: the safetensors file holds no tensors")
    return tensors, metadata


def _read_torch(path: Path, head: bytes) -> dict[str, Tensor]:
    is_zip = head.startswith(b"PK")
    is_legacy_pickle = head[:1] == b"\x80"  # pickle protocol >= 2: torch.save before 1.6
    if not (is_zip or is_legacy_pickle):
        raise CheckpointError(f"{path}: not a checkpoint (expected a PyTorch zip file or a safetensors file)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (pickle, zip, EOF, RuntimeError...: any of them means a bad file)
        text = first_line(exc)
        if "weights_only" in text or "Unsupported global" in text or "Weights only load failed" in text:
            raise CheckpointError(
                f"{path}: refused to load: the file holds Python objects other than tensors "
                "(only plain weights are read, never arbitrary pickles)"
            ) from None
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({text})") from None
    return _find_state_dict(obj, path)


def _find_state_dict(obj: object, path: Path) -> dict[str, Tensor]:
    """Pick the state dict out of a loaded checkpoint object."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(obj).__name__}, expected a dict)")
    for entry in _STATE_DICT_ENTRIES:
        if isinstance(obj.get(entry), Mapping):
            obj = obj[entry]
            break
    if not obj:
        raise CheckpointError(f"{path}: empty state dict")
    bad = next((k for k, v in obj.items() if not isinstance(v, Tensor)), None)
    if bad is not None:
        raise CheckpointError(
            f"{path}: no state dict found (entry {bad!r} is a {type(obj[bad]).__name__}, not a tensor; "
            f"looked for the entries {', '.join(_STATE_DICT_ENTRIES)})"
        )
    return dict(obj)


def _strip_prefixes(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out = {}
    for key, value in state_dict.items():
        for prefix in _PREFIXES:
            while key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


# ------------------------------------------------------------------ checking, config


def infer_config(state_dict: Mapping[str, Tensor]) -> MSSNetConfig:
    """Read the widths ``(wf, scale, vscale)`` of MSSNet from tensor shapes.

    Uses ``shallow_feat1.0.weight: (wf, 12, 3, 3)``, ``E1_1.down12.down.1.weight:
    (wf + scale, wf, 1, 1)`` and ``E1_1.down23.down.1.weight: (wf + scale + vscale,
    wf + scale, 1, 1)``. Returns the named preset when the widths match one, else a
    custom :class:`MSSNetConfig`. Raises :class:`CheckpointError` when these tensors
    are missing or inconsistent (not an MSSNet state dict).
    """
    state_dict = _strip_prefixes(state_dict)
    missing = [k for k in (_KEY_WF, _KEY_SCALE, _KEY_VSCALE) if k not in state_dict]
    if missing:
        sample = ", ".join(list(state_dict)[:3]) or "none"
        raise CheckpointError(
            f"not an MSSNet state dict: missing key {missing[0]!r} (first keys: {sample})"
        )
    s1, s2, s3 = (tuple(state_dict[k].shape) for k in (_KEY_WF, _KEY_SCALE, _KEY_VSCALE))
    if len(s1) != 4 or s1[1:] != (12, 3, 3) or len(s2) != 4 or len(s3) != 4:
        raise CheckpointError(f"not an MSSNet state dict: {_KEY_WF} has shape {list(s1)}, expected [wf, 12, 3, 3]")
    wf = s1[0]
    scale, vscale = s2[0] - wf, s3[0] - s2[0]
    if s2[1] != wf or s3[1] != s2[0] or scale <= 0 or vscale <= 0:
        raise CheckpointError(
            f"not an MSSNet state dict: inconsistent widths ({_KEY_SCALE} {list(s2)}, {_KEY_VSCALE} {list(s3)})"
        )
    return MSSNetConfig(wf, scale, vscale)


def checkpoint_filter(state_dict: Mapping[str, Tensor], config: MSSNetConfig) -> dict[str, Tensor]:
    """Map a foreign state dict onto ``MSSNet(config)``'s keys, or fail on the first mismatch.

    Strips ``module.`` (and ``_orig_mod.``) prefixes, then checks every key and shape
    against ``MSSNet(config).state_dict()``. Returns a new dict of float32 tensors in
    the model's key order. Raises :class:`CheckpointError` naming the first missing
    key, shape mismatch (expected vs actual) or unexpected key. Pure: the input is
    not modified.
    """
    if not isinstance(config, MSSNetConfig):
        raise TypeError(f"config must be an MSSNetConfig; got {type(config).__name__}")
    if not state_dict:
        raise CheckpointError("empty state dict")
    state_dict = _strip_prefixes(state_dict)
    expected = _expected_shapes(config)
    out = {}
    for key, shape in expected.items():
        if key not in state_dict:
            raise CheckpointError(f"missing key {key!r} (expected for {_describe(config)})")
        value = state_dict[key]
        if not isinstance(value, Tensor):
            raise CheckpointError(f"key {key!r} holds a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != shape:
            raise CheckpointError(
                f"shape mismatch for {key!r}: expected {list(shape)} for {_describe(config)}, "
                f"got {list(value.shape)}"
            )
        if not value.is_floating_point():
            raise CheckpointError(f"key {key!r} holds {value.dtype} values, expected floating point")
        out[key] = value.float()
    unexpected = next((k for k in state_dict if k not in expected), None)
    if unexpected is not None:
        raise CheckpointError(f"unexpected key {unexpected!r} (not part of {_describe(config)})")
    _check_shared_prelu(out)
    return out


def _check_shared_prelu(state_dict: Mapping[str, Tensor]) -> None:
    """MSSNet shares one PReLU: its 87 one-element keys must hold one value, or loading would pick one."""
    prelu = [(k, v) for k, v in state_dict.items() if v.shape == (1,) and not v.is_meta]
    if not prelu:
        return
    first_key, first = prelu[0]
    for key, value in prelu[1:]:
        if not torch.equal(value, first):
            raise CheckpointError(
                f"PReLU weights differ ({first_key!r} = {first.item():g}, {key!r} = {value.item():g}); "
                "MSSNet shares one PReLU, so this checkpoint is from another architecture"
            )


_SHAPE_CACHE: dict[MSSNetConfig, dict[str, tuple[int, ...]]] = {}


def _expected_shapes(config: MSSNetConfig) -> dict[str, tuple[int, ...]]:
    """Key -> shape of ``MSSNet(config).state_dict()``, built on the meta device (no memory)."""
    if config not in _SHAPE_CACHE:
        with torch.device("meta"):
            model = MSSNet(config)
        _SHAPE_CACHE[config] = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return _SHAPE_CACHE[config]


def _describe(config: MSSNetConfig) -> str:
    widths = f"wf={config.wf}, scale={config.scale}, vscale={config.vscale}"
    return f"MSSNet-{config.name} ({widths})" if config.name else f"MSSNet ({widths})"


# -------------------------------------------------------------------------- loading


def load_model(
    path: str | os.PathLike | None = None,
    preset: str | None = None,
    device: str | torch.device | None = None,
) -> MSSNet:
    """Build MSSNet from a weights file and return it in eval mode.

    ``path=None`` loads the bundled weights of ``preset`` (:data:`BUNDLED_WEIGHTS`:
    ``"small"``, the default, and ``"tiny"``). ``preset`` (``"tiny"``, ``"small"``,
    ``"base"``, ``"large"``) states the architecture; it must agree with the tensor shapes.
    Without it the widths are read from the shapes, and a consistent custom width is accepted.
    ``device`` defaults to the CPU.
    The zoom-step strength table in the file's metadata (:mod:`mssnet.model.strength`), if
    any, is attached as ``model.zoom_strength`` (None without one), the per-level table of the
    zoom pyramid as ``model.level_strength``.

    Raises ``FileNotFoundError`` (no such file, or no bundled weights yet),
    :class:`CheckpointError` (unreadable file or wrong architecture), ``ValueError``
    (unknown preset or device).
    """
    if preset is not None:
        config = MSSNetConfig.preset(preset)  # ValueError for an unknown name
    dev = _device(device)
    if path is None:
        if preset is not None and preset not in BUNDLED_WEIGHTS:
            raise FileNotFoundError(f"no bundled weights for preset {preset!r} (bundled: {sorted(BUNDLED_WEIGHTS)}); "
                                    "pass a checkpoint with path=... (CLI: --weights PATH)")
        path = DEFAULT_WEIGHTS if preset is None else BUNDLED_WEIGHTS[preset]
        if not Path(path).exists():
            raise FileNotFoundError(
                f"no bundled weights are present ({path} does not exist); "
                "pass a checkpoint with path=... (CLI: --weights PATH), e.g. an original "
                "MSSNet model_03000E.pt or a .safetensors file"
            )
    path = Path(path)
    state_dict, metadata = read_state_dict(path)
    try:
        found = infer_config(state_dict)
        if preset is not None and found != config:
            raise CheckpointError(f"the checkpoint is {_describe(found)}, but preset {preset!r} was requested")
        config = found
        weights = checkpoint_filter(state_dict, config)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    model = MSSNet(config)
    model.load_state_dict(weights)
    model.zoom_strength = decode_table(metadata.get(METADATA_KEY))
    model.level_strength = decode_levels(metadata.get(LEVEL_KEY))
    return model.to(dev).eval()


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device; got {type(device).__name__}")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}: {first_line(exc)}") from None


# --------------------------------------------------------------------------- saving


def save_safetensors(
    model_or_state_dict: MSSNet | Mapping[str, Tensor],
    path: str | os.PathLike,
    dtype: torch.dtype = torch.float16,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write weights in the project's export format and return the path.

    Tensors are cast to ``dtype`` (fp16 by default; bf16 and fp32 allowed) and each
    is cloned, because safetensors refuses the shared PReLU tensor. The header
    metadata holds ``preset``, ``wf``, ``scale``, ``vscale`` plus the caller's
    ``metadata`` (strings; the architecture entries win on a clash) and a model's
    ``zoom_strength`` and ``level_strength`` tables (:mod:`mssnet.model.strength`) unless ``metadata``
    has them. A state dict
    is checked with :func:`checkpoint_filter` first. The file is written to a
    temporary name and then renamed, so readers never see half a file.
    """
    from safetensors.torch import save_file

    if dtype not in _SAVE_DTYPES:
        raise ValueError(f"dtype must be one of {[str(d) for d in _SAVE_DTYPES]}; got {dtype}")
    if isinstance(model_or_state_dict, MSSNet):
        config = model_or_state_dict.config
        state_dict = checkpoint_filter(model_or_state_dict.state_dict(), config)
    elif isinstance(model_or_state_dict, Mapping):
        config = infer_config(model_or_state_dict)
        state_dict = checkpoint_filter(model_or_state_dict, config)
    else:
        raise TypeError(f"expected an MSSNet or a state dict; got {type(model_or_state_dict).__name__}")
    extra = dict(metadata or {})
    bad = next(((k, v) for k, v in extra.items() if not (isinstance(k, str) and isinstance(v, str))), None)
    if bad is not None:
        raise TypeError(f"metadata keys and values must be str; got {bad[0]!r}: {type(bad[1]).__name__}")
    table = getattr(model_or_state_dict, "zoom_strength", None)
    if table and METADATA_KEY not in extra:
        extra[METADATA_KEY] = encode_table(table)
    levels = getattr(model_or_state_dict, "level_strength", None)
    if levels and LEVEL_KEY not in extra:
        extra[LEVEL_KEY] = encode_table(levels)
    extra.update(
        preset=config.name or "custom", wf=str(config.wf), scale=str(config.scale), vscale=str(config.vscale)
    )
    tensors = {k: v.detach().to("cpu", dtype).contiguous().clone() for k, v in state_dict.items()}

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata=extra)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def list_weights(folder: str | os.PathLike | None = None) -> list[Path]:
    """Weights files (``*.safetensors``, ``*.pt``, ``*.pth``) in ``folder``, sorted by name.

    ``folder`` defaults to :data:`WEIGHTS_DIR`; a missing folder gives ``[]``.
    """
    folder = Path(WEIGHTS_DIR if folder is None else folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)
