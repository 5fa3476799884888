"""The guided lesson: its text, numbered steps with "Try it" payloads, and the workflow figure.

The text (``lesson.md`` next to this file) answers three things, citing only the four sources
listed at its end: the task the user performs; how the app goes from input through
MSSNet to output; the papers and code it builds on, with their links. :data:`LESSON_STEPS`
are short numbered steps, each with a :class:`TryIt` (example image, zoom, centre, tab) that
the app turns into a button; :func:`lesson_markdown` puts them into the text.
:func:`plot_workflow` draws input region → bicubic enlargement → MSSNet's stages → the view
with the current image's own pixels, sizes and times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .plots import _new_figure, _to_numpy, readable_text

__all__ = ["EXAMPLES_DIR", "LESSON_PATH", "LESSON_STEPS", "REQUIRED_LINKS", "TABS", "LessonStep", "TryIt",
           "lesson_markdown", "plot_workflow", "workflow_figure"]

#: Where the lesson text lives, and the examples its steps open.
LESSON_PATH = Path(__file__).with_name("lesson.md")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
#: Where the numbered steps go in the text.
STEPS_MARKER = "<!-- steps -->"

#: The links the lesson must contain (and the only ones it may contain).
REQUIRED_LINKS = (
    "https://cg.postech.ac.kr/Research/MSSNet/MSSNet.pdf",
    "https://github.com/kky7/MSSNet",
    "http://arxiv.org/pdf/2502.16025v1.pdf",
    "http://arxiv.org/pdf/2404.18772v1.pdf",
    "https://github.com/gucioopielka/saliency-semantic-rsa",
    "http://arxiv.org/pdf/2304.05538v4.pdf",
)

#: The app's tabs a step may open: id -> label.
TABS = {"explore": "Explore", "attribution": "Attribution", "stages": "Stages", "sweep": "Every zoom level",
        "simulate": "Simulate", "lesson": "Lesson"}


@dataclass(frozen=True)
class TryIt:
    """What a "Try it" button sets: an example of ``assets/examples``, the zoom, the zoom centre
    ((x, y) source px; None: the image's centre) and the tab (an id of :data:`TABS`)."""

    example: str
    zoom: float
    center: tuple[float, float] | None
    tab: str

    @property
    def path(self) -> Path:
        return EXAMPLES_DIR / self.example

    @property
    def label(self) -> str:
        return f"Try it: {self.example.removesuffix('.png').replace('_', ' ')} at ×{self.zoom:g} ({TABS[self.tab]})"


@dataclass(frozen=True)
class LessonStep:
    """One numbered step: a title, two or three sentences, and what to try."""

    number: int
    title: str
    text: str
    try_it: TryIt


LESSON_STEPS: list[LessonStep] = [
    LessonStep(1, "Zoom in and compare",
               "Drag the divider of the comparison: left is what any viewer shows, right is MSSNet. The spokes "
               "of the star get finer towards the centre, so each zoom blurs a different ring.",
               TryIt("siemens_star.png", 3.0, None, "explore")),
    LessonStep(2, "See where the edges changed",
               "The two edge-strength maps share one colour scale: the brighter one has the stronger edges. In the "
               "change map red marks edges MSSNet made stronger, blue edges it weakened.",
               TryIt("astronaut.png", 4.0, (200.0, 150.0), "explore")),
    LessonStep(3, "Where it adds sharpness",
               "Pixels are sorted into edges and lines, corners and fine texture, and flat areas. The bars show "
               "each kind's share of the sharpness MSSNet added; the coloured bars add up to 100 %.",
               TryIt("fine_text.png", 3.0, None, "explore")),
    LessonStep(4, "Which pixels drove one window",
               "Click an edge, then *Explain this window*. Red pixels raised the gradient MSSNet added in the window, "
               "blue lowered "
               "it. Then press *Same window, random weights*: what stays the same was not learned.",
               TryIt("chelsea.png", 3.0, (240.0, 120.0), "attribution")),
    LessonStep(5, "Coarse to fine",
               "Each panel shows what one stage changed, amplified on one scale, and the plot its edge strength: "
               "see which stage did the most for this view.",
               TryIt("zone_plate.png", 2.0, None, "stages")),
    LessonStep(6, "Every zoom level",
               "Bicubic and MSSNet side by side at each zoom: the further you zoom, the more bicubic smears and the "
               "more MSSNet has to put back.",
               TryIt("coffee.png", 2.0, None, "sweep")),
    LessonStep(7, "Check against the truth",
               "Simulate shrinks a crop, enlarges it back both ways and measures which result is closer to the "
               "original: the honest test of any sharpening.",
               TryIt("astronaut.png", 2.0, None, "simulate")),
]


def steps_markdown(steps: Sequence[LessonStep] = LESSON_STEPS) -> str:
    """The numbered steps as Markdown, each with its "Try it" line."""
    return "\n".join(f"{s.number}. **{s.title}.** {s.text}  \n   *{s.try_it.label}*" for s in steps)


def lesson_markdown() -> str:
    """The lesson as Markdown (read fresh from ``lesson.md`` on every call, steps filled in)."""
    return LESSON_PATH.read_text(encoding="utf-8").replace(STEPS_MARKER, steps_markdown())


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}×{image.shape[0]}"


def plot_workflow(region: np.ndarray, bicubic: np.ndarray, stages: Sequence[np.ndarray], view: np.ndarray,
                  seconds: Mapping[str, float] | None = None, zoom: float | None = None,
                  stage_names: Sequence[str] | None = None) -> Figure:
    """The app's workflow drawn with the current image: input region → bicubic enlargement →
    MSSNet's stage outputs → the view, each panel titled with its size (and time where known).

    region: the source pixels the view shows; bicubic: the bicubic view; stages: MSSNet's stage
    outputs of the pass behind the view (any sizes); view: MSSNet's view; images (H, W, 3) in
    [0, 1] or uint8. ``seconds``: e.g. ``{"bicubic zoom": 0.01, "MSSNet": 0.8}``. One axis per
    panel (3 + number of stages).
    """
    seconds = dict(seconds or {})
    images = [_to_numpy(region, "region"), _to_numpy(bicubic, "bicubic")]
    images += [_to_numpy(s, f"stages[{i}]") for i, s in enumerate(stages)]
    images.append(_to_numpy(view, "view"))
    names = list(stage_names) if stage_names is not None else [f"stage {i + 1}" for i in range(len(stages))]
    if len(names) != len(stages):
        raise ValueError(f"need one name per stage; got {len(names)} names for {len(stages)} stages")
    bic_time = f", {_fmt_seconds(seconds['bicubic zoom'])}" if "bicubic zoom" in seconds else ""
    mss_time = f", {_fmt_seconds(seconds['MSSNet'])}" if "MSSNet" in seconds else ""
    titles = [f"1 input region\n{_size(images[0])} px", f"2 bicubic ×{zoom:g}\n{_size(images[1])}{bic_time}"
              if zoom else f"2 bicubic\n{_size(images[1])}{bic_time}"]
    titles += [f"3.{i + 1} {n.split(' (')[0]}\n{_size(im)}" for i, (n, im) in enumerate(zip(names, images[2:-1],
                                                                                          strict=True))]
    titles.append(f"4 the view\n{_size(images[-1])}{mss_time}")
    n = len(images)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = _new_figure((2.25 * cols, 2.6 * rows + 0.8))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        image = np.clip(images[k], 0, 1)
        ax.imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(titles[k] + ("  →" if k < n - 1 else ""))
    fig.suptitle("Input → bicubic enlargement →\nMSSNet, coarse to fine → the view")
    return readable_text(fig)


def workflow_figure(source, view, stage_names: Sequence[str] | None = None) -> Figure:
    """:func:`plot_workflow` for a studio view: the source region under ``view.rect``, the
    bicubic view, the stages of the MSSNet pass behind the view's centre, and the view."""
    x0, y0, w, h = view.rect
    H, W = source.rgb.shape[:2]
    xa, ya = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    xb, yb = min(W, max(xa + 1, int(np.ceil(x0 + w)))), min(H, max(ya + 1, int(np.ceil(y0 + h))))
    region = source.rgb[ya:yb, xa:xb]
    if stage_names is None:
        from mssnet.model.network import STAGE_NAMES

        stage_names = STAGE_NAMES
    stages = list(view.stages)
    return plot_workflow(region, view.bicubic, stages, view.sharpened, view.seconds, view.zoom,
                         stage_names[:len(stages)])
