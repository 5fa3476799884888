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


def test_lesson_is_short_and_keeps_its_three_answers_in_order():
    text = lesson_markdown()
    assert len(text.split()) < 1100  # was a dense 1,300-word page
    task, workflow, papers = (text.index(h) for h in ("## 1. The task", "## 2. Input → model → output",
                                                      "## 3. Papers and tools"))
    assert task < workflow < papers
    assert "<!--" not in text  # the steps marker was filled in
    for method in ("integrated gradients", "occlusion"):  # nothing the app does not offer
        assert method not in text.lower()


def test_steps_are_numbered_and_every_try_it_opens_something_real():
    from PIL import Image

    from explain.lesson import LESSON_STEPS, TABS

    text = lesson_markdown()
    assert [s.number for s in LESSON_STEPS] == list(range(1, len(LESSON_STEPS) + 1))
    assert 5 <= len(LESSON_STEPS) <= 8
    for step in LESSON_STEPS:
        assert f"{step.number}. **{step.title}.**" in text and step.try_it.label in text
        assert step.try_it.tab in TABS and 1 <= step.try_it.zoom <= 8
        assert len(step.text.split()) <= 45  # short
        with Image.open(step.try_it.path) as im:
            w, h = im.size
        if step.try_it.center is not None:
            x, y = step.try_it.center
            assert 0 <= x <= w and 0 <= y <= h
    assert {s.try_it.tab for s in LESSON_STEPS} >= {"explore", "attribution", "stages", "sweep", "simulate"}


def test_workflow_figure_draws_the_current_image(tiny_weights):
    import numpy as np
    from matplotlib.text import Text

    from explain.lesson import EXAMPLES_DIR, plot_workflow, workflow_figure
    from mssnet.serve.session import Studio
    from mssnet.serve.source import load_source

    source = load_source(str(EXAMPLES_DIR / "siemens_star.png"))
    with Studio(tiny_weights) as studio:
        view, _ = studio.view(source, 2.0, None, 64)
    fig = workflow_figure(source, view)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 + len(view.stages) == 9
    titles = [ax.get_title() for ax in panels]
    assert titles[0].startswith("1 input region") and "32×32" in titles[0]  # ×2 of a 64 px view
    assert "64×64" in titles[1] and titles[-1].startswith("4 the view")
    x0, y0, w, h = (int(v) for v in view.rect)
    np.testing.assert_allclose(panels[0].images[0].get_array(), source.rgb[y0:y0 + h, x0:x0 + w])
    fig.set_dpi(72)
    assert min(t.get_fontsize() for t in fig.findobj(Text) if t.get_text()) >= 12
    small = plot_workflow(np.zeros((8, 8, 3)), np.zeros((16, 16, 3)), [np.zeros((8, 8, 3))], np.zeros((16, 16, 3)),
                          {"bicubic zoom": 0.002, "MSSNet": 1.5}, zoom=2)
    titles = [ax.get_title() for ax in small.axes if ax.images]
    assert titles == ["1 input region\n8×8 px  →", "2 bicubic ×2\n16×16, 2 ms  →", "3.1 stage 1\n8×8  →",
                      "4 the view\n16×16, 1.5 s"]
