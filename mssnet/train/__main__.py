"""``python -m mssnet.train``: see :mod:`mssnet.train.loop`."""

import sys

from .loop import main

sys.exit(main())
