"""Every panel's figure is readable on a 1280x720 projector: text >= 14 px at the app's 96 dpi, width <= 940 px."""

from __future__ import annotations

import numpy as np
import pytest

from explain import gallery_plots, plots, studio
from explain.decision import decide, plot_decision
from explain.lesson import plot_workflow
from explain.saliency_pair import SaliencyCheck, plot_saliency_check
from explain.visual import compare_saliency, plot_visual_saliency

DPI = 96  # app.py's FIGURE_DPI


class _View:  # what the figure builders read of a view
    def __init__(self, bicubic):
        self.bicubic = bicubic


def _figures():
    rng = np.random.default_rng(0)
    img = rng.random((48, 48, 3)).astype(np.float32)
    sharp = np.clip(img * 1.1 - 0.05, 0, 1)
    stages = [img[::2, ::2]] + [img] * 5
    m = rng.standard_normal((48, 48)).astype(np.float32)
    check = SaliencyCheck(m, m[::-1], 0.1, 0.1, -0.6, 0.0, 1.0, 1.0, 2, 0, 0.1)
    names = [f"scale {i} · stage {i} (half res.)" for i in range(6)]
    return {
        "decision": plot_decision(decide(img, sharp), img),
        "saliency pair": plot_saliency_check(_View(img), check),
        "visual saliency": plot_visual_saliency(img, compare_saliency(img, sharp)),
        "edge pair": plots.plot_edge_pair(img, sharp),
        "edge gain": plots.plot_edge_gain(img, m),
        "heat map": plots.plot_heatmap(img, m, title="t", caption="a caption"),
        "attribution": plots.plot_attribution(img, m, (8, 8, 16, 16), di=12.0),
        "error maps": plots.plot_error_maps(img, {"bicubic": img, "MSSNet": sharp}),
        "spectrum": plots.plot_spectrum(img, sharp, img, 2.0),
        "stage gallery": gallery_plots.plot_stage_gallery(stages, names),
        "stage changes": gallery_plots.plot_stage_changes(stages, img, names),
        "stage checks": gallery_plots.plot_stage_checks(
            names, {label: (list(np.linspace(10, 60, 6)), colour)
                    for label, (_, colour) in studio.STAGE_CURVES.items()},
            "Stage by stage, checked on 192 px of the photo"),
        "sweep": gallery_plots.plot_zoom_sweep(
            [1.5, 2, 4], {label: ([10, 30, 50], colour) for label, (_, colour) in studio.SWEEP_CURVES.items()},
            "% (same crop at every zoom)", "The same 192 px of the photo at every zoom"),
        "workflow": plot_workflow(img, img, stages, sharp, {"bicubic zoom": 0.01, "MSSNet": 0.5}, 2.0, names),
    }


@pytest.mark.parametrize("name", list(_figures()))
def test_figure_text_and_width(name):
    fig = _figures()[name]
    assert fig.get_size_inches()[0] * DPI <= 940, f"{name}: {fig.get_size_inches()[0] * DPI:.0f} px wide"
    sizes = plots.text_sizes_px(fig, DPI)
    assert sizes, f"{name} has no text"
    small = [(t, round(px, 1)) for t, px in sizes if px < 14]
    assert not small, f"{name}: text under 14 px: {small[:3]}"
