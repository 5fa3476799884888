"""Training MSSNet to undo zoom blur.

* :mod:`~mssnet.train.loop` — the options (:class:`TrainConfig`), loss, schedule, a run and its
  export: ``python -m mssnet.train``;
* :mod:`~mssnet.train.batches` — photographs held on the training device, crops and the zoom
  degradation made there;
* :mod:`~mssnet.train.photos` — the training and held-out photographs: built from the packages
  listed in ``assets/weights/images.csv``, packed into one file that travels to a GPU machine;
* :mod:`~mssnet.train.score` — gain over bicubic on held-out images, the command line's way;
* :mod:`~mssnet.train.gpu` — the prepared run for a GPU machine: ``python -m mssnet.train.gpu``;
* :mod:`~mssnet.train.data` — the photo lists (package photographs, held-out names) and their reader;
* :mod:`~mssnet.train.degrade` — the zoom degradation (shrink, enlarge back, 8-bit quantisation);
* :mod:`~mssnet.train.calibrate` — the correction strength per zoom step and pyramid level, calibrated
  on training crops: ``python -m mssnet.train.calibrate``.
"""

from ..image.metrics import psnr_y
from .batches import PhotoStore, degraded_batch
from .config import TrainConfig, parse_args
from .data import HOLDOUT
from .loop import export, lr_at, main, mssnet_loss, setup, train_loop
from .score import evaluate

__all__ = ["HOLDOUT", "PhotoStore", "TrainConfig", "degraded_batch", "evaluate", "export", "lr_at", "main",
           "mssnet_loss", "parse_args", "psnr_y", "setup", "train_loop"]
