"""The guided lesson: its text, numbered steps with "Try it" payloads, and the workflow figure.

The text (``lesson.md`` next to this file) is in two parts. Part 1 is a 45-minute class for 16-year-olds:
what the user does, the numbered steps (:data:`LESSON_STEPS`: each asks for a prediction, then says what to
look at, and names a :class:`TryIt` — example image, zoom, centre, tab — that the app turns into a button
beside the step) and a glossary. Part 2, "Going deeper", answers how the app goes from input through MSSNet
to output, defines the measures (quoting :mod:`explain.measure`), says what attribution and its sanity check
can and cannot tell, and lists the papers and code it builds on, citing only the links of
:data:`REQUIRED_LINKS`. :func:`lesson_markdown` gives the whole text, or the sections the Lesson tab lays
out around the steps' buttons and the workflow figure. ``LESSON_PLAN.md`` at the repository root is the
printable plan of the class. :func:`plot_workflow` draws input region → bicubic enlargement → MSSNet's
stages → the view with the current image's own pixels, sizes and times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .measure import ADDED_DEFINITION, DEFINITION
from .plots import _new_figure, _to_numpy, readable_text

__all__ = ["EXAMPLES_DIR", "LESSON_PATH", "LESSON_STEPS", "REQUIRED_LINKS", "TABS", "LessonStep", "TryIt",
           "lesson_markdown", "plot_workflow", "steps_markdown", "workflow_figure"]

#: Where the lesson text lives, and the examples its steps open.
LESSON_PATH = Path(__file__).with_name("lesson.md")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
#: Where the numbered steps go in the text, where the Lesson tab puts the workflow figure, and where the
#: measures' definitions (as every panel states them) go.
STEPS_MARKER, WORKFLOW_MARKER, MEASURES_MARKER = "<!-- steps -->", "<!-- workflow -->", "<!-- measures -->"
#: The headings of the lesson's two parts.
PART_1, PART_2 = "## Part 1", "## Part 2"

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
    """One numbered step: a title, the question to answer before pressing (``predict``), what to look at
    once the button has opened the view (``look``), and what the button opens (``try_it``)."""

    number: int
    title: str
    predict: str
    look: str
    try_it: TryIt

    @property
    def markdown(self) -> str:
        """The step as the Lesson tab shows it beside its button: heading, prediction, what to look at."""
        return f"#### {self.number}. {self.title}\n**Before you press:** {self.predict}  \n**Look:** {self.look}"


LESSON_STEPS: list[LessonStep] = [
    LessonStep(1, "Bigger is not sharper",
               "zoomed ×4, will small print get sharper, or just bigger and blurrier?",
               "Drag the divider across a word (bicubic left, MSSNet right). Which side has crisper strokes?",
               TryIt("fine_text.png", 4.0, (115.0, 185.0), "explore")),
    LessonStep(2, "Which parts get sharpened?",
               "will the network sharpen the whole face evenly? If not, where most: skin, background, or eyes, "
               "teeth and hair?",
               "Tick *Edge gain* on the map: red where MSSNet made edges stronger, blue weaker. Below it, the "
               "brighter edge map has the stronger edges.",
               TryIt("astronaut.png", 4.0, (225.0, 130.0), "explore")),
    LessonStep(3, "Where the network added sharpness",
               "fur looks like fine texture. Which kind of pixel gets most of the added sharpness: edges and "
               "lines, corners and fine texture, or flat areas?",
               "Scroll to *Where the network added sharpness*: the coloured bars add up to 100 %.",
               TryIt("chelsea.png", 3.0, (175.0, 115.0), "explore")),
    LessonStep(4, "What did the network look at?",
               "to sharpen the small green window, does the network use pixels from all over the picture, or "
               "only those next to it?",
               "Middle map: red pixels raised the sharpness added in the window, blue lowered it. Are they near "
               "it? The text says how much comes from inside.",
               TryIt("coffee.png", 3.0, (245.0, 280.0), "attribution")),
    LessonStep(5, "Coarse to fine",
               "MSSNet works in six stages, from a half-size copy to full size. Which stages change the picture "
               "most: the first ones or the last ones?",
               "In *What each stage changed* each panel is one stage. Where is the colour? The text names the "
               "stage that changed the image most.",
               TryIt("chelsea.png", 4.0, (175.0, 115.0), "stages")),
    LessonStep(6, "Zoom further and further",
               "the more you zoom, the more detail is lost. Will MSSNet put back more or less of it at ×8 than "
               "at ×2?",
               "The same spot from ×1 to ×8, bicubic beside MSSNet. At which zoom does MSSNet help most? The plot "
               "and the table give the numbers.",
               TryIt("coffee.png", 2.0, (240.0, 270.0), "sweep")),
    LessonStep(7, "Check against the truth",
               "Simulate shrinks a piece of the photo and zooms it back, so the real picture is known. Will "
               "MSSNet beat bicubic? Will it invent detail?",
               "Compare *Ground truth* with both results; the text says how much lost detail MSSNet put back and "
               "how much it invented.",
               TryIt("astronaut.png", 3.0, (225.0, 130.0), "simulate")),
]


def steps_markdown(steps: Sequence[LessonStep] = LESSON_STEPS) -> str:
    """The numbered steps as Markdown, each with its "Try it" line (the whole text; the tab shows buttons)."""
    return "\n\n".join(f"{s.markdown}  \n*{s.try_it.label}*" for s in steps)


def _text() -> str:
    """``lesson.md`` (read fresh on every call) with the measures' definitions filled in."""
    measures = f"- {DEFINITION}\n- {ADDED_DEFINITION}"
    return LESSON_PATH.read_text(encoding="utf-8").replace(MEASURES_MARKER, measures)


def lesson_markdown(section: int | None = None) -> str:
    """The lesson as Markdown: the whole text with the steps filled in (``section`` None), or one of the three
    sections the Lesson tab lays out around the steps' buttons and the workflow figure: 0 before the steps,
    1 between the steps and the workflow figure, 2 after it."""
    head, rest = _text().split(STEPS_MARKER)
    middle, tail = rest.split(WORKFLOW_MARKER)
    if section is None:
        return re.sub(r"\n{3,}", "\n\n", head + steps_markdown() + middle + tail)
    sections = (head, middle, tail)
    if section not in range(len(sections)):
        raise ValueError(f"section must be None, 0, 1 or 2; got {section!r}")
    return sections[section].strip()


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
