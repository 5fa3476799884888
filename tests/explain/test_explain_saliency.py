"""The whole-view saliency shown as an explanation passes the model-randomisation check; visual saliency."""

from __future__ import annotations

import numpy as np
import pytest

from explain.saliency_pair import PASS_BELOW, saliency_caption, saliency_check
from explain.visual import compare_saliency, visual_saliency
from mssnet.serve.session import Studio
from mssnet.serve.source import load_source


@pytest.fixture(scope="module")
def astronaut_view():
    from explain.lesson import EXAMPLES_DIR
    from mssnet.model.weights import BUNDLED_WEIGHTS

    with Studio(BUNDLED_WEIGHTS["tiny"], fill=False) as studio:
        view, _ = studio.view(load_source(str(EXAMPLES_DIR / "astronaut.png")), 4.0, (200.0, 150.0), 64)
        yield view, studio.models.get(studio.default_label)


def test_shown_saliency_differs_from_random_weights(astronaut_view):
    """Trained vs random weights (bundled tiny, a 64² view of the astronaut's smile): the shown, signed form
    has a low rank correlation, and only the trained map runs opposite to the image's fine detail."""
    view, model = astronaut_view
    check = saliency_check(model, view, n=2, precision="fp32")
    assert check.passes and abs(check.signed_similarity) < PASS_BELOW
    assert check.detail_correlation < -0.3 < check.random_detail_correlation
    assert "darker than its surroundings" in saliency_caption(check).split("Random")[0]
    assert check.trained.shape == view.bicubic.shape[:2]


def test_visual_saliency_finds_the_odd_spot_and_compares():
    img = np.full((96, 96, 3), 0.5, np.float32)
    img[60:68, 20:28] = 1.0  # one bright square on gray
    sal = visual_saliency(img)
    assert sal.shape == (96, 96) and 0 <= sal.min() and sal.max() == pytest.approx(1.0)
    assert sal[64, 24] > 3 * np.median(sal)
    assert visual_saliency(np.full((32, 32, 3), 0.3, np.float32)).max() == 0  # flat: nothing stands out
    sharp = img.copy()
    sharp[58:70, 18:30] += 0.05  # "sharpened" around the square
    comparison = compare_saliency(img, np.clip(sharp, 0, 1))
    assert comparison.correlation > 0.3
    with pytest.raises(ValueError, match="same shape"):
        compare_saliency(img, img[:10])
