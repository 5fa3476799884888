"""Training MSSNet to undo zoom blur.

* :mod:`~mssnet.train.loop` — the options (:class:`TrainConfig`), loss, schedule, a run and its
  export: ``python -m mssnet.train``;
* :mod:`~mssnet.train.batches` — photographs held on the training device, crops and the zoom
  degradation made there;
* :mod:`~mssnet.train.photos` — the training and held-out photographs: built from the packages
  listed in ``assets/weights/images.csv``, packed into one file that travels to a GPU machine;
* :mod:`~mssnet.train.score` — gain over bicubic on held-out images, the command line's way;
* :mod:`~mssnet.train.gpu` — the prepared run for a GPU machine: ``python -m mssnet.train.gpu``.
"""

from ..data import HOLDOUT
from ..image.metrics import psnr_y
from .batches import PhotoStore, degraded_batch
from .loop import TrainConfig, evaluate, export, lr_at, main, mssnet_loss, parse_args, setup, train_loop

__all__ = ["HOLDOUT", "PhotoStore", "TrainConfig", "degraded_batch", "evaluate", "export", "lr_at", "main",
           "mssnet_loss", "parse_args", "psnr_y", "setup", "train_loop"]
