"""The serving room: what the app, the API and the command line hand out, without a user interface.

* :mod:`~mssnet.serve.deepzoom` — Deep Zoom (DZI) geometry of a sharpened pyramid, tile bytes per layer,
  the static-site writer and the tile service (fair queue, cache headers);
* :mod:`~mssnet.serve.session` — the studio's state: loaded images, models, views and their cache, the
  opening view, the sweep and the download;
* :mod:`~mssnet.serve.memory` — keeping a long-running server's heap small.

Import the modules themselves (``from mssnet.serve.session import Studio``); the room re-exports nothing.
"""
