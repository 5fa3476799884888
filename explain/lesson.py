"""The teaching text the app shows (``lesson.md`` next to this file).

It answers, using only the sources in the project's REFERENCES.md: what task the
user performs, how the app goes from input through MSSNet to output, which papers
and code it builds on, and what the maps can and cannot tell.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LESSON_PATH", "REQUIRED_LINKS", "lesson_markdown"]

#: Where the lesson text lives.
LESSON_PATH = Path(__file__).with_name("lesson.md")

#: The links the lesson must contain (and the only ones it may contain).
REQUIRED_LINKS = (
    "https://cg.postech.ac.kr/Research/MSSNet/MSSNet.pdf",
    "https://github.com/kky7/MSSNet",
    "http://arxiv.org/pdf/2502.16025v1.pdf",
    "http://arxiv.org/pdf/2404.18772v1.pdf",
    "https://github.com/gucioopielka/saliency-semantic-rsa",
    "http://arxiv.org/pdf/2304.05538v4.pdf",
)


def lesson_markdown() -> str:
    """The lesson as Markdown text (read fresh from ``lesson.md`` on every call)."""
    return LESSON_PATH.read_text(encoding="utf-8")
