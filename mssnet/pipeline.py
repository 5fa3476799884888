"""Zoom and sharpen: enlarge with bicubic interpolation, then let MSSNet remove the blur.

One bicubic enlargement by a large factor smears every edge over ``factor`` pixels;
a small network undoes a 2× smear far better than a 4× one. So a zoom above
:data:`MAX_STEP` is done in steps of that factor and a last, smaller one, each enlarged
with bicubic interpolation and sharpened by MSSNet: ×3 is ×2 then ×1.5, ×4 two steps
of ×2, ×8 three. Zooms up to ×2 are one step (plain bicubic + MSSNet). The model
only sees blur of the kind it was trained on, and the earlier passes are cheap
because they run on fewer pixels (the first pass of a ×4 zoom on a quarter of them).
Measured gains are in the model card (``assets/weights/README.md``).

Each step applies MSSNet's correction with the strength calibrated for its factor
(:mod:`mssnet.model.strength`): ``x + α(s)·(MSSNet(x) − x)``, so weights trained on 2× blur
do not overshoot the edges of a 1.25× zoom.

* :func:`zoom_steps` — the step factors for a zoom;
* :func:`zoom_sharpen_view` — a ``viewport`` window zoomed around a centre by these steps,
  with the plain bicubic view beside MSSNet's (the earlier per-view rule, kept for comparison);
* :func:`zoom_sharpen_image` — the whole image by these steps (``bench/quality.py --steps``
  and ``bench/pyramid_quality.py`` compare it with the pyramid, which the app and CLI use);
* :func:`pyramid_zoom_image` — the whole image by the pyramid rule (:mod:`mssnet.pyramid.pyramid`):
  sharpened to level ⌈log2 factor⌉ in 2× steps, then downsampled (antialiased) to the
  zoom; it beats the steps above between powers of two (``bench/pyramid_quality.py``).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import cv2
import numpy as np
from torch import nn

from .image.zoom import MAX_FACTOR, MIN_FACTOR, check_rgb_float, resample, source_rect
from .model.strength import LIMITS, model_strength
from .pyramid.pyramid import pyramid_zoom_image
from .runtime.inference import Progress, sharpen, sharpen_stages, tile_count

__all__ = ["MAX_STEP", "ZoomedView", "zoom_steps", "step_strengths", "zoom_sharpen_view", "zoom_sharpen_image",
           "pyramid_zoom_image"]

#: Largest enlargement done in one bicubic + MSSNet step.
MAX_STEP = 2.0
#: Context kept around a viewport's source region in the earlier steps, in pixels of the
#: first step's output (the later steps see it enlarged): MSSNet pads at image borders,
#: so without it the edges of the view would be sharpened from padding.
CONTEXT_PX = 24
#: A last step smaller than this is folded into the step before it (which grows by < 1 %).
FOLD = 1.01


class ZoomedView(NamedTuple):
    """One zoomed viewport. Images are (h, w, 3) float32 in [0, 1].

    ``bicubic``: the plain one-step bicubic view (what any image viewer shows);
    ``sharpened``: MSSNet's result; ``model_input``: the input of the last MSSNet
    step (``bicubic`` itself for a one-step zoom; otherwise the bicubic enlargement
    of the previous step's sharpened image); ``stages``: the last step's six stage
    outputs (or None); ``rect``: source rectangle (x0, y0, w, h) in input pixels;
    ``steps``: the step factors; ``seconds``: wall time of the ``"bicubic"`` view and of
    the ``"mssnet"`` steps; ``strengths``: the strength α applied at each step
    (``sharpened = model_input + α·(MSSNet(model_input) − model_input)``, clipped; the
    stages are MSSNet's own outputs).
    """

    bicubic: np.ndarray
    sharpened: np.ndarray
    model_input: np.ndarray
    stages: list[np.ndarray] | None
    rect: tuple[float, float, float, float]
    steps: tuple[float, ...]
    seconds: dict[str, float]
    strengths: tuple[float, ...] = ()


def step_strengths(model: nn.Module, steps: list[float], strength: float | None = None) -> list[float]:
    """α per step: ``strength`` for every step when given, else the model's calibrated table."""
    if strength is not None:
        strength = float(strength)
        lo, hi = LIMITS
        if not lo <= strength <= hi:  # also refuses NaN
            raise ValueError(f"strength must be between {lo:g} and {hi:g}; got {strength}")
        return [strength] * len(steps)
    return [model_strength(model, s) for s in steps]


def _apply(x: np.ndarray, sharpened: np.ndarray, alpha: float) -> np.ndarray:
    """x + α·(sharpened − x), clipped to [0, 1]: (h, w, 3) float32."""
    if alpha == 1.0:
        return sharpened
    return _clip(x + alpha * (sharpened - x))


def zoom_steps(factor: float, max_step: float = MAX_STEP) -> list[float]:
    """Step factors whose product is ``factor``: steps of ``max_step``, then the remainder
    (one step up to max_step; a remainder under :data:`FOLD` joins the last full step).
    The bundled weights are trained on 2× steps, and a 2× step
    followed by a smaller one, at its calibrated strength, beat equal steps on the held-out
    photographs (model card).

    >>> zoom_steps(1.5), zoom_steps(3.0), zoom_steps(4.0), len(zoom_steps(8.0))
    ([1.5], [2.0, 1.5], [2.0, 2.0], 3)
    """
    factor, max_step = float(factor), float(max_step)
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"zoom factor must be a positive number; got {factor}")
    if not max_step > 1:
        raise ValueError(f"max_step must be above 1; got {max_step}")
    if factor <= max_step:
        return [factor]
    # a remainder of under 1 % is folded into the last full step instead of costing a pass
    n = max(1, math.ceil(math.log(factor / FOLD) / math.log(max_step)))
    return [max_step] * (n - 1) + [factor / max_step ** (n - 1)]


def _clip(image: np.ndarray) -> np.ndarray:
    """Bicubic overshoot clipped, as a displayed image is: -> float32."""
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def zoom_sharpen_view(
    model: nn.Module,
    image: np.ndarray,
    factor: float,
    viewport: tuple[int, int],
    center: tuple[float, float] | None = None,
    *,
    max_step: float = MAX_STEP,
    precision: str = "auto",
    stages: bool = False,
    strength: float | None = None,
) -> ZoomedView:
    """The ``viewport = (w, h)`` window of ``image`` (H, W, 3) float zoomed ``factor`` times
    around ``center`` ((x, y) input pixels, default the centre; the region is clamped to
    the image like :func:`mssnet.zoom`), bicubic and sharpened. ``factor`` in [1, 8].
    ``strength``: α for every step (None: the model's calibrated strengths).
    """
    check_rgb_float(image)
    factor = float(factor)
    if not MIN_FACTOR <= factor <= MAX_FACTOR:
        raise ValueError(f"viewport zoom factor must be in [{MIN_FACTOR:g}, {MAX_FACTOR:g}]; got {factor}")
    vw, vh = (int(v) for v in viewport)
    if vw < 1 or vh < 1:
        raise ValueError(f"viewport must be (w, h) ≥ 1 px; got {viewport}")
    height, width = image.shape[:2]
    rect = source_rect((width, height), factor, (vw, vh), center)
    steps = zoom_steps(factor, max_step)
    alphas = step_strengths(model, steps, strength)
    t0 = time.perf_counter()
    bicubic = _clip(resample(image, rect[0], rect[1], factor, (vw, vh)))
    t1 = time.perf_counter()
    model_input = bicubic
    if len(steps) > 1:
        # earlier steps: the source region plus some context, enlarged and sharpened step by step
        margin = CONTEXT_PX / steps[0]
        ex0, ey0, ew, eh = rect[0] - margin, rect[1] - margin, rect[2] + 2 * margin, rect[3] + 2 * margin
        x, origin, done = image, (ex0, ey0), 1.0
        for step, alpha in zip(steps[:-1], alphas[:-1], strict=True):
            done *= step
            x = _clip(resample(x, origin[0], origin[1], step, (math.ceil(ew * done), math.ceil(eh * done))))
            x = _apply(x, sharpen(model, x, precision=precision), alpha)
            origin = (0.0, 0.0)  # later steps start at this image's corner
        model_input = _clip(resample(x, (rect[0] - ex0) * done, (rect[1] - ey0) * done, steps[-1], (vw, vh)))
    if stages:
        sharpened, stage_images = sharpen_stages(model, model_input, precision=precision)
    else:
        sharpened, stage_images = sharpen(model, model_input, precision=precision), None
    sharpened = _apply(model_input, sharpened, alphas[-1])
    seconds = {"bicubic": t1 - t0, "mssnet": time.perf_counter() - t1}
    return ZoomedView(bicubic, sharpened, model_input, stage_images, rect, tuple(steps), seconds, tuple(alphas))


def zoom_sharpen_image(
    model: nn.Module,
    image: np.ndarray,
    factor: float,
    size: tuple[int, int] | None = None,
    *,
    max_step: float = MAX_STEP,
    precision: str = "auto",
    tile: int | None = None,
    progress: Progress | None = None,
    strength: float | None = None,
) -> np.ndarray:
    """The whole ``image`` (H, W, 3) float enlarged ``factor`` times and sharpened, in steps.

    Output ``(round(H·f), round(W·f), 3)`` float32 in [0, 1], or ``size = (w, h)`` when
    given. Large steps run in tiles (``tile``, see :func:`mssnet.sharpen`);
    ``progress(done, total)`` counts the tiles of all steps together; ``strength`` as in
    :func:`zoom_sharpen_view`.
    """
    check_rgb_float(image)
    factor = float(factor)
    steps = zoom_steps(factor, max_step)
    alphas = step_strengths(model, steps, strength)
    height, width = image.shape[:2]
    out_w, out_h = size if size is not None else (max(1, round(width * factor)), max(1, round(height * factor)))
    sizes, done = [], 1.0
    for step in steps[:-1]:
        done *= step
        sizes.append((max(1, round(width * done)), max(1, round(height * done))))
    sizes.append((int(out_w), int(out_h)))
    counts = [tile_count(h, w, tile) for w, h in sizes]
    x = image
    for i, (w, h) in enumerate(sizes):
        offset = sum(counts[:i])

        def report(n: int, _total: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + n, sum(counts))

        x = _clip(cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC))
        if alphas[i] == 0:  # no correction at this factor (e.g. ×1): the network need not run
            report(counts[i], counts[i])
            continue
        x = _apply(x, sharpen(model, x, precision=precision, tile=tile, progress=report), alphas[i])
    return x
