"""Tests for explain.decision: structure classes, per-class numbers, the sentence, the figure."""

import cv2
import numpy as np
import pytest
from matplotlib.figure import Figure

from explain import report
from explain.decision import STRUCTURES, decide, decision_sentence, plot_decision, structure_tensor

H, W = 96, 192


def _scene(edge_blur_after: float = 0.7, texture_gain: float = 0.05):
    """Three vertical bands: a step edge (x 0-63), a noise texture (x 64-127), flat (x 128-191).
    bicubic: the step blurred with sigma 2; sharpened: the step blurred less, the texture's
    contrast raised by ``texture_gain``, the flat band untouched. -> (bicubic, sharpened) RGB."""
    rng = np.random.default_rng(0)
    img = np.full((H, W), 0.5, np.float32)
    img[:, :32], img[:, 32:64] = 0.2, 0.8
    img[:, 64:128] = cv2.GaussianBlur(rng.random((H, 64)).astype(np.float32), (0, 0), 0.7) * 1.2 - 0.1
    bicubic, sharp = img.copy(), img.copy()
    bicubic[:, :64] = cv2.GaussianBlur(img[:, :64], (0, 0), 2.0, borderType=cv2.BORDER_REPLICATE)
    sharp[:, :64] = cv2.GaussianBlur(img[:, :64], (0, 0), edge_blur_after, borderType=cv2.BORDER_REPLICATE)
    sharp[:, 64:128] = 0.5 + (bicubic[:, 64:128] - 0.5) * (1 + texture_gain)
    return np.repeat(bicubic[..., None], 3, 2), np.repeat(sharp[..., None], 3, 2)


def _majority(labels: np.ndarray) -> str:
    return STRUCTURES[int(np.bincount(labels.ravel(), minlength=3).argmax())]


def test_structure_tensor_of_a_ramp_and_of_flat():
    x = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (32, 1))  # rises 1/63 per pixel along x
    strength, coherence, angle = structure_tensor(x)
    inner = (slice(8, -8), slice(8, -8))
    assert strength[inner] == pytest.approx(1 / 63, rel=1e-3)
    assert coherence[inner] == pytest.approx(1.0, abs=1e-4) and np.abs(angle[inner]).max() < 1e-3  # vertical edge
    strength, coherence, _ = structure_tensor(np.full((16, 16, 3), 0.3, np.float32))
    assert strength.max() < 1e-6 and coherence.max() == 0


def test_classes_of_step_texture_and_flat():
    bicubic, sharp = _scene()
    d = decide(bicubic, sharp)
    assert _majority(d.labels[:, 24:40]) == "edges and lines"
    assert _majority(d.labels[:, 72:120]) == "corners and fine texture"
    assert _majority(d.labels[:, 140:]) == "flat areas"
    assert sum(s.share for s in d.structure.values()) == pytest.approx(1.0)
    assert d.orientation["vertical edges"].pixels > 10 * d.orientation["horizontal edges"].pixels
    edges, texture, flat = (d.structure[n] for n in STRUCTURES)
    # the narrower step has more edge strength (RMS gradient), though its summed gradient is its contrast
    assert edges.pct > 10 and 0 < texture.pct < edges.pct and flat.pct is None and flat.mean_change < 1e-4
    # shares of the added sharpness: absolute, they add up to 100 %, and the edges carry the most here
    shares = d.shares()
    assert sum(shares.values()) == 100 and shares["flat areas"] == 0
    assert shares["edges and lines"] > shares["corners and fine texture"]
    assert sum(s.added for s in d.structure.values()) == pytest.approx(1.0)


def test_sentence_follows_the_numbers():
    bicubic, sharp = _scene()
    d = decide(bicubic, sharp)
    text = decision_sentence(d)
    shares = d.shares()
    assert text.startswith(f"Of the added sharpness MSSNet gave this view, {shares['edges and lines']} % went to "
                           "edges and lines (14 % of the view)")
    assert "0 % to flat areas (53 % of the view)" in text and "raised edge strength by" in text
    assert "more" not in text and "×" not in text  # no ratios
    # nothing changed anywhere: none added, said as such
    text = decision_sentence(decide(bicubic, bicubic))
    assert "added no sharpness" in text and "left edge strength unchanged" in text
    # softened overall: the fall is said, and the little that was added still splits into 100 %
    d = decide(sharp, bicubic)
    assert "lowered edge strength by" in decision_sentence(d) and sum(d.shares().values()) == 100


def test_tiny_classes_are_marked_in_the_figure():
    import dataclasses

    d = decide(*_scene())
    d.structure["flat areas"] = dataclasses.replace(d.structure["flat areas"], pixels=10, share=0.001,
                                                    before=0.01, after=0.05)
    assert "(few px)" in [t.get_text() for t in plot_decision(d).axes[1].texts][2]


def test_figure_report_and_bad_input():
    bicubic, sharp = _scene()
    d = decide(bicubic, sharp)
    fig = plot_decision(d, bicubic)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.get_size_inches()[0] * 96 <= 940
    bars = fig.axes[1].patches
    assert len(bars) == 9 and bars[0].get_width() == d.shares()["edges and lines"]
    assert sum(b.get_width() for b in bars[:3]) == 100  # the structure bars add up
    text = report.decision_markdown(d)
    assert decision_sentence(d) in text and "| corners and fine texture (structure) |" in text
    assert "edge energy" not in text and "+" in d.structure["edges and lines"].text
    with pytest.raises(ValueError, match="same shape"):
        decide(bicubic, sharp[:10])
    with pytest.raises(ValueError, match="flat_below"):
        decide(bicubic, sharp, flat_below=0.5)
