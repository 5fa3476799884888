"""The serving room: what the app, the API and the command line hand out, without a user interface.

* :mod:`~mssnet.serve.deepzoom` — Deep Zoom (DZI) geometry of a sharpened pyramid, tile bytes per layer,
  the static-site writer;
* :mod:`~mssnet.serve.tile_service` — the tile service over HTTP (strict paths, fair queue, cache headers);
* :mod:`~mssnet.serve.session` — the studio's state (:class:`~mssnet.serve.session.Studio`): pyramids, the
  sweep and the download, over the modules below;
* :mod:`~mssnet.serve.source` — a loaded image and the view it opens at;
* :mod:`~mssnet.serve.registry` — the weights files by label, loaded on first use;
* :mod:`~mssnet.serve.views` — a view, its request (from the API or the map at rest), its cache;
* :mod:`~mssnet.serve.memory` — keeping a long-running server's heap small.

Import the modules themselves (``from mssnet.serve.session import Studio``); the room re-exports nothing.
"""
