"""The bundled test charts: regenerated exactly, and the fine-text chart shows whole small text at its centre."""

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


def _charts():
    spec = importlib.util.spec_from_file_location("make_charts", EXAMPLES / "make_charts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fine_text_is_whole_and_its_centre_is_small_text():
    charts = _charts()
    image = charts.fine_text()
    np.testing.assert_array_equal(image, np.asarray(Image.open(EXAMPLES / "fine_text.png")))  # the file is current
    h, w = image.shape
    ink = image < 128
    m = charts.FINE_TEXT_MARGIN - 2
    assert not ink[:m].any() and not ink[-m:].any() and not ink[:, :m].any() and not ink[:, -m:].any()  # nothing cut
    rows = np.nonzero(ink.any(axis=1))[0]
    # the text lines: runs of inked rows; the centre row of the chart lies in or between small lines
    runs = np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1)
    heights = [len(r) for r in runs]
    assert len(runs) == len(charts.FINE_TEXT_LINES) and heights[0] == max(heights)
    near = [hgt for r, hgt in zip(runs, heights, strict=True) if abs((r[0] + r[-1]) / 2 - h / 2) < 40]
    assert near and max(near) <= heights[0] / 2  # the default view shows body text, not the heading
