"""Tests for the lesson text: required sections, the links, and only those links."""

import re

from explain import lesson_markdown
from explain.lesson import REQUIRED_LINKS


def test_lesson_has_all_required_links_and_no_others():
    text = lesson_markdown()
    for link in REQUIRED_LINKS:
        assert link in text, link
    found = set(re.findall(r"https?://[^\s)\]]+", text))
    assert found <= set(REQUIRED_LINKS), found - set(REQUIRED_LINKS)


def test_lesson_covers_task_workflow_papers_and_caveats():
    text = lesson_markdown()
    lower = text.lower()
    for needle in [
        "bicubic",
        "half resolution, 1 stage",
        "pixel-unshuffled, 2 stages",
        "full resolution, 3 stages",
        "correction",
        "input + correction",
        "what the maps can and cannot tell",
        "randomisation",
        "saliency",
        "gopro",
        "featsharp",
        "imagenet-hard",
        "2502.16025",
        "2404.18772",
        "2304.05538",
    ]:
        assert needle in lower, needle
    assert text.startswith("# ")
