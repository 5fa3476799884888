"""The image room: pixels in and out, and the measures on them; no network here.

* :mod:`~mssnet.image.io` — reading and writing image files at the package's edges (RGB float32 in
  [0, 1] plus alpha), PNG by content, data URLs;
* :mod:`~mssnet.image.checks` — the one input checker: zoom factors, viewports, tile sides, RGB images,
  refused in one wording (``"zoom must be between 1 and 8; got 9"``) wherever they enter;
* :mod:`~mssnet.image.tensors` — the input check for functions that take one image as a tensor;
* :mod:`~mssnet.image.zoom` — the bicubic enlargement every viewer performs, the view geometry and
  resampling;
* :mod:`~mssnet.image.metrics` — Y-PSNR, Y-SSIM and the one edge-strength measure.

Import the modules themselves (``from mssnet.image.zoom import zoom``): the room re-exports nothing,
so ``mssnet.image.zoom`` stays the module (the function is also ``mssnet.zoom``).
"""
