"""The options of a training run as one dataclass, and the command line built from it
(``python -m mssnet.train --help`` lists every field with its help text)."""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, dataclass, field, fields

from ..model.network import PRESETS, MSSNetConfig
from .data import HOLDOUT

__all__ = ["TrainConfig", "parse_args"]


@dataclass
class TrainConfig:
    """Every training option; ``python -m mssnet.train --help`` is built from these fields."""

    out: str = field(default="", metadata={"help": "run folder (checkpoints, log.csv, export)", "required": True})
    data: list[str] = field(default_factory=list, metadata={"help": "extra image folders to train on"})
    no_package_images: bool = field(default=False, metadata={"help": "skip scikit-image/matplotlib photos"})
    holdout: list[str] = field(default_factory=lambda: list(HOLDOUT), metadata={"help": "file names never trained on"})
    preset: str = field(default="small", metadata={"help": "network width", "choices": sorted(PRESETS)})
    width: str = field(default="", metadata={"help": "custom widths WF,SCALE,VSCALE instead of the preset"})
    init: str = field(default="", metadata={"help": "start from these weights (e.g. the bundled model)"})
    resume: bool = field(default=False, metadata={"help": "continue from OUT/last.pt"})
    steps: int = field(default=100_000, metadata={"help": "schedule length in steps"})
    minutes: float = field(default=float("inf"), metadata={"help": "schedule length in minutes of step time"})
    batch: int = field(default=8, metadata={"help": "crops per step"})
    crop: int = field(default=96, metadata={"help": "crop side in pixels"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate (Adam)"})
    lr_batch: int = field(default=0, metadata={"help": "the batch --lr is meant for: the rate is scaled by "
                                                "sqrt(batch / LR_BATCH) (0: used as given)"})
    min_lr: float = field(default=1e-6, metadata={"help": "learning rate at the end of the cosine"})
    warmup: int = field(default=100, metadata={"help": "linear warm-up steps"})
    clip: float = field(default=0.5, metadata={"help": "gradient-norm clip"})
    ema: float = field(default=0.998, metadata={"help": "EMA decay (0 disables)"})
    scale_min: float = field(default=1.0, metadata={"help": "smallest zoom factor of the degradation"})
    scale_max: float = field(default=4.0, metadata={"help": "largest zoom factor of the degradation"})
    realistic: bool = field(default=False, metadata={"help": "add lens blur, shake, noise, JPEG"})
    max_side: int = field(default=2048, metadata={"help": "training images are area-downscaled to this longer side"})
    eval_every: int = field(default=200, metadata={"help": "score the held-out images every N steps"})
    save_every: int = field(default=50, metadata={"help": "write OUT/last.pt every N steps"})
    log_every: int = field(default=1, metadata={"help": "a log.csv row (mean loss, crops/s) every N steps"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    calibrate_crops: int = field(default=24, metadata={"help": "training crops per factor for the export's "
                                                       "zoom-step strength (0: skip)"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: default)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda or cuda:N"})
    precision: str = field(default="fp32", metadata={"help": "fp32, or bf16 autocast (auto: bf16 where it is fast)",
                                                     "choices": ["fp32", "bf16", "auto"]})
    compile: bool = field(default=False, metadata={"help": "torch.compile the training forward pass"})

    def network(self) -> MSSNetConfig:
        """The widths to train: ``width`` when given, else the preset's."""
        if not self.width:
            return MSSNetConfig.preset(self.preset)
        try:
            wf, scale, vscale = (int(v) for v in self.width.split(","))
        except ValueError:
            raise ValueError(f"width must be three integers WF,SCALE,VSCALE; got {self.width!r}") from None
        if min(wf, scale, vscale) < 1:
            raise ValueError(f"widths must be positive; got {self.width!r}")
        return MSSNetConfig(wf, scale, vscale)

    def peak_lr(self) -> float:
        """``lr``, scaled by √(batch / lr_batch) when ``lr_batch`` is set."""
        return self.lr * math.sqrt(self.batch / self.lr_batch) if self.lr_batch else self.lr

    def export_name(self) -> str:
        name = self.network().name or "w{}-{}-{}".format(*self.width.split(","))
        return f"mssnet-{name}-zoom.safetensors"


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """Command line -> :class:`TrainConfig`; one option per field, defaults from the class."""
    p = argparse.ArgumentParser(prog="python -m mssnet.train", description="Train MSSNet to undo zoom blur.")
    for f in fields(TrainConfig):
        flag, meta = "--" + f.name.replace("_", "-"), dict(f.metadata)
        default = f.default_factory() if f.default is MISSING else f.default
        if f.type == "bool":
            p.add_argument(flag, action="store_true", help=meta["help"])
        elif f.type == "list[str]":
            p.add_argument(flag, nargs="*", default=default, help=meta["help"])
        else:
            kind = {"int": int, "float": float, "str": str}[f.type]
            p.add_argument(flag, type=kind, default=None if meta.get("required") else default, help=meta["help"],
                           required=meta.get("required", False), choices=meta.get("choices"))
    cfg = TrainConfig(**vars(p.parse_args(argv)))
    for name in ("batch", "crop", "eval_every", "save_every", "log_every"):
        if getattr(cfg, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1; got {getattr(cfg, name)}")
    if cfg.calibrate_crops < 0 or cfg.steps < 0 or cfg.lr_batch < 0:
        p.error("--calibrate-crops, --steps and --lr-batch must be 0 or more")
    if not 1.0 <= cfg.scale_min <= cfg.scale_max:
        p.error(f"need 1 <= --scale-min <= --scale-max; got {cfg.scale_min}, {cfg.scale_max}")
    try:
        cfg.network()
    except ValueError as exc:
        p.error(str(exc))
    return cfg
