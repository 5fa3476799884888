"""Tests for the lesson: its two parts, the steps (a prediction each, a *Try it* that opens a region with
structure on a tab that fills), the glossary, the links and only those, and the printable lesson plan."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explain import lesson_markdown
from explain.lesson import LESSON_STEPS, PART_1, PART_2, REQUIRED_LINKS, TABS

#: The printable plan of the 45-minute class.
LESSON_PLAN = Path(__file__).resolve().parents[2] / "LESSON_PLAN.md"
#: Terms the class meets that the glossary of part 1 explains.
GLOSSARY_TERMS = ("bicubic", "neural network", "edge strength", "added sharpness", "attribution", "stage",
                  "ground truth", "put back / invented")


def _part_1(text: str) -> str:
    return text[:text.index(PART_2)]


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


def test_lesson_keeps_its_three_answers_in_order_in_two_parts():
    text = lesson_markdown()
    assert len(text.split()) < 1700  # part 1 is the class; part 2 holds the deeper material
    part_1, part_2 = text.index(PART_1), text.index(PART_2)
    task, workflow, measures, maps, papers = (text.index(h) for h in (
        "**The task.**", "### Input → model → output", "### The measures, precisely",
        "### What the maps can and cannot tell", "### Papers and tools"))
    assert part_1 < task < part_2 < workflow < measures < maps < papers
    assert "<!--" not in text  # every marker was filled in
    for method in ("integrated gradients", "occlusion"):  # nothing the app does not offer
        assert method not in text.lower()


def test_part_1_is_short_and_plain_and_the_deep_material_is_in_part_2():
    text = lesson_markdown()
    part_1, part_2 = _part_1(text), text[text.index(PART_2):]
    assert len(part_1) <= 3800  # seven steps and a glossary for a 45-minute class (the whole text is ~9,800)
    assert "going deeper" in part_2.lower().splitlines()[0]
    for deep in ("Sobel", "luma", "structure tensor", "pixel-unshuffle", "α", "Diffusion Index", "randomisation",
                 "arXiv", "Saliency Suppressed"):  # the undergraduate material waits for part 2
        assert deep not in part_1 and deep in part_2, deep
    for link in REQUIRED_LINKS:
        assert link not in part_1


def test_glossary_in_part_1_explains_the_terms_that_remain():
    part_1 = _part_1(lesson_markdown())
    assert part_1.index("### Words to know") > part_1.index(f"#### {len(LESSON_STEPS)}.")  # after the steps
    glossary = part_1[part_1.index("### Words to know"):]
    defined = {m.lower() for m in re.findall(r"^- \*\*(.+?)\*\*:", glossary, re.MULTILINE)}
    assert set(GLOSSARY_TERMS) <= defined, set(GLOSSARY_TERMS) - defined
    # the page's own names for its measures, as the panels write them
    for name in ("edge strength", "added sharpness", "100 %", "put back", "invented"):
        assert name in glossary.lower(), name


def test_the_tabs_sections_and_the_steps_make_the_whole_text():
    from explain.lesson import steps_markdown

    before, middle, after = (lesson_markdown(k) for k in range(3))
    text = lesson_markdown()
    assert text.index(before) < text.index(steps_markdown()) < text.index(middle) < text.index(after)
    assert before.startswith("# ") and "### Words to know" in middle and "### Input → model → output" in middle
    assert after.startswith("### The measures, precisely") and "root mean square of the Sobel" in after
    with pytest.raises(ValueError, match="section"):
        lesson_markdown(3)


def test_steps_are_numbered_and_every_try_it_opens_something_real():
    text = lesson_markdown()
    assert [s.number for s in LESSON_STEPS] == list(range(1, len(LESSON_STEPS) + 1))
    assert 5 <= len(LESSON_STEPS) <= 8
    for step in LESSON_STEPS:
        assert step.markdown in text and step.try_it.label in text
        assert text.index(step.markdown) < text.index(PART_2)
        assert step.try_it.tab in TABS and step.try_it.tab != "lesson" and 1 <= step.try_it.zoom <= 8
        assert len(step.predict.split()) <= 30 and len(step.look.split()) <= 30  # short
        with Image.open(step.try_it.path) as im:
            w, h = im.size
        if step.try_it.center is not None:
            x, y = step.try_it.center
            assert 0 <= x <= w and 0 <= y <= h
    assert {s.try_it.tab for s in LESSON_STEPS} >= {"explore", "attribution", "stages", "sweep", "simulate"}


def test_every_step_asks_for_a_prediction_before_the_reveal():
    for step in LESSON_STEPS:
        block = step.markdown
        assert block.startswith(f"#### {step.number}. {step.title}\n")
        ask, look = block.index("**Before you press:**"), block.index("**Look:**")
        assert ask < look and "?" in block[ask:look], step.title  # a question, then what to look at


def _region(step, zoom: float) -> np.ndarray:
    """The source pixels the panels explain after the step's *Try it*: the middle square of the map, PANEL_SIDE
    screen px a side at ``zoom`` (luma in [0, 1])."""
    from explain.page import PANEL_SIDE

    with Image.open(step.try_it.path) as im:
        gray = np.asarray(im.convert("L"), np.float64) / 255
    h, w = gray.shape
    x, y = step.try_it.center or (w / 2, h / 2)
    half = PANEL_SIDE / zoom / 2
    return gray[max(0, round(y - half)):min(h, round(y + half)), max(0, round(x - half)):min(w, round(x + half))]


def test_every_try_it_lands_on_structure_on_a_tab_that_fills():
    from explain.measure import edge_strength
    from explain.page import MAPS, TAB_ACTIONS
    from mssnet.serve.session import SWEEP_FACTORS

    assert {"edges", "edge_gain", "sharpening"} <= set(MAPS)  # Explore's maps follow every view on their own
    for step in LESSON_STEPS:
        t = step.try_it
        assert t.tab in TAB_ACTIONS or t.tab == "explore", step.title  # no "press the button" on arrival
        zooms = [f for f in SWEEP_FACTORS if f >= t.zoom] if t.tab == "sweep" else [t.zoom]  # the sweep goes to ×8
        for zoom in zooms:
            region = _region(step, zoom)
            half = region.shape[1] // 2
            for side, part in (("whole", region), ("left", region[:, :half]), ("right", region[:, half:])):
                # both sides of the curtain show something: no blank page (a blank half had std 0.03)
                assert part.std() > 0.1 and edge_strength(np.repeat(part[..., None], 3, -1)) > 0.03, \
                    (step.title, zoom, side)


def test_lesson_plan_is_one_page_of_45_minutes_with_every_step():
    plan = LESSON_PLAN.read_text(encoding="utf-8")
    assert plan.startswith("# ") and len(plan.splitlines()) <= 80  # one printed page
    timing = plan[plan.index("## Timing"):]
    timing = timing[:timing.index("\n## ", 1)] if "\n## " in timing[1:] else timing
    minutes = [int(m) for m in re.findall(r"^\|\s*(\d+)\s*\|", timing, re.MULTILINE)]
    assert sum(minutes) == 45 and len(minutes) >= len(LESSON_STEPS) + 2, minutes  # opening, steps, wrap-up
    for step in LESSON_STEPS:
        assert step.title in plan, step.title
    assert "## Glossary" in plan and all(term in plan.lower() for term in GLOSSARY_TERMS)
    assert "## Materials" in plan and "app" in plan[plan.index("## Materials"):plan.index("## Timing")]
    assert not re.findall(r"https?://", plan)  # nothing to fetch: the app is all it needs


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
