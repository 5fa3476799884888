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
    assert _majority(d.labels[:, 72:120]) == "texture"
    assert _majority(d.labels[:, 140:]) == "flat"
    assert sum(s.share for s in d.structure.values()) == pytest.approx(1.0)
    assert d.orientation["vertical"].pixels > 10 * d.orientation["horizontal"].pixels  # the step runs vertically
    edges, texture, flat = (d.structure[n] for n in STRUCTURES)
    assert edges.mean_added > texture.mean_added > flat.mean_added == 0
    assert edges.energy_ratio > 1.2 and flat.mean_change < 1e-4
    # whole edges keep their summed Sobel magnitude: the signed mean gain stays small
    assert abs(edges.mean_gain) < 0.2 * edges.mean_added


def test_sentence_follows_the_numbers():
    bicubic, sharp = _scene()
    text = decision_sentence(decide(bicubic, sharp))
    assert text.startswith("Edges and lines") and "more edge strength per pixel than texture" in text
    assert "flat areas" in text and "almost unchanged" in text
    # texture sharpened hard, the edge barely: the sentence turns round
    bicubic, sharp = _scene(edge_blur_after=1.9, texture_gain=0.6)
    text = decision_sentence(decide(bicubic, sharp))
    assert text.startswith("Texture") and "than edges and lines" in text
    # nothing changed anywhere
    assert "no edge strength" in decision_sentence(decide(bicubic, bicubic))


def test_figure_report_and_bad_input():
    bicubic, sharp = _scene()
    d = decide(bicubic, sharp)
    fig = plot_decision(d, bicubic)
    assert isinstance(fig, Figure) and len(fig.axes) == 7 and decision_sentence(d) == fig.get_suptitle()
    text = report.decision_markdown(d)
    assert decision_sentence(d) in text and "| texture (structure) |" in text
    with pytest.raises(ValueError, match="same shape"):
        decide(bicubic, sharp[:10])
    with pytest.raises(ValueError, match="flat_below"):
        decide(bicubic, sharp, flat_below=0.5)
