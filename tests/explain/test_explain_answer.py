"""Tests for explain.answer and the panels that give the answer, saliency pair and visual saliency."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from explain import panels
from explain.answer import answer_markdown, why_markdown, zoom_text
from explain.decision import decide
from explain.studio import view_summary
from mssnet.serve.session import Studio
from mssnet.serve.source import load_source


@pytest.fixture(scope="module")
def view(tiny_weights):
    from explain.lesson import EXAMPLES_DIR

    with Studio(tiny_weights, fill=False) as studio:
        v, cached = studio.view(load_source(str(EXAMPLES_DIR / "astronaut.png")), 2.0, (200.0, 150.0), 48)
        yield v


def _percents(text: str) -> list[int]:
    """The whole per cents of the answer's bold sentence (the shares)."""
    return [int(p) for p in re.findall(r"(\d+) % (?:of the sharpness MSSNet added went )?to ", text.split("**")[1])]


def test_answer_says_how_it_learned_and_where_the_added_sharpness_went(view):
    text = answer_markdown(view)
    assert "shrunk and enlarged again" in text or "not trained by the studio" in text
    d = decide(view.bicubic, view.sharpened)
    shares = d.shares()
    assert f"{shares['edges and lines']} % of the sharpness MSSNet added went to edges and lines" in text
    assert sum(_percents(text)) == 100 and len(_percents(text)) == 3  # absolute shares that add up
    assert text.startswith("**At ×2,") and "against bicubic" in text and "more edge strength" not in text
    why = why_markdown(view)
    assert why.startswith("- **The measures.**") and "decision panel" in why and "random-weights" in why


def test_truth_then_locality_come_after_the_shares(view):
    from explain.answer import Locality, locality_sentence
    from explain.truth import TruthCheck

    local, truth = Locality(0.83, 8), TruthCheck(2.0, 192, 0.01, 0.008, 0.41, 0.03, 0.05)
    text = answer_markdown(view, None, truth, local)
    lead, rest = text.split("**")[1], text.split("**")[2]
    assert sum(_percents("**" + lead + "**")) == 100
    assert rest.index("put back 41 %") < rest.index("83 % of what drove the change lies within 8 px")
    assert "3 % of what it added is not in the photo" in rest
    assert locality_sentence(Locality(0.3, 8)).startswith("It decides from what is far and near")


def test_the_zoom_is_written_as_the_slider_shows_it():
    assert (zoom_text(3.0), zoom_text(5.8594), zoom_text(2.5)) == ("×3", "×5.86", "×2.5")


def test_answer_ties_negative_near_zero_and_x1(view):
    flat = np.full_like(view.bicubic, 0.5)
    same = dataclasses.replace(view, bicubic=flat, sharpened=flat, rendered={})
    text = answer_markdown(same)
    assert "almost no edges" in text and "%" not in text
    tie = dataclasses.replace(view, sharpened=view.bicubic, rendered={})
    assert "made no edge steeper" in answer_markdown(tie) and "unchanged" in answer_markdown(tie)
    softer = dataclasses.replace(view, bicubic=view.sharpened, sharpened=view.bicubic, rendered={})
    assert "−" in answer_markdown(softer).split("Over the view: ")[1][:3]  # a fall, said as one
    assert sum(_percents(answer_markdown(softer))) == 100
    at1 = dataclasses.replace(view, level=0, strengths=(), rendered={})
    assert "no blur to undo" in answer_markdown(at1)


def test_view_summary_carries_the_one_measure(view):
    info = view_summary(view, False)
    assert set(info["edge_strength"]) == {"bicubic", "mssnet", "change"} and "edge_energy" not in info
    assert info["edge_strength"]["change"].endswith("edge strength") or "unchanged" in info["edge_strength"]["change"]


def test_new_panels(view, tmp_path, tiny_weights):
    import mssnet
    from explain import save_png

    def save(obj):
        return save_png(obj, tmp_path, 40)

    answer, why = panels.answer(view)
    assert panels.answer(view) == (answer, why)  # made once per view
    path, summary, table = panels.decision_chart(view, save)
    assert path.endswith(".png") and summary.startswith("**Of the added sharpness") and table.startswith("| class |")
    path, text = panels.visual_saliency(view, save)
    assert path.endswith(".png") and "rank correlation" in text
    model = mssnet.load_model(tiny_weights)
    path, text = panels.saliency_pair(view, model, save, n=1)
    assert path.endswith(".png") and "random-weights check" in text
