"""Tests for explain.plots, explain.gallery_plots and explain.spectrum: figures, axes, rendering."""

import gc
import weakref

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from explain import (
    MIN_TEXT_PT,
    edge_gain,
    edge_scale,
    figure_to_array,
    plot_attribution,
    plot_edge_gain,
    plot_edge_pair,
    plot_error_maps,
    plot_heatmap,
    plot_spectrum,
    plot_stage_changes,
    plot_stage_gallery,
    plot_zoom_sweep,
    radial_power_spectrum,
    stage_changes,
)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    sharp = rng.random((32, 32, 3)).astype(np.float32)
    blurry = (sharp + np.roll(sharp, 1, 0) + np.roll(sharp, 1, 1) + np.roll(sharp, 1, (0, 1))) / 4
    return blurry, sharp


def test_spectrum_shapes_and_blur_loses_high_frequencies(images):
    blurry, sharp = images
    f, p_sharp = radial_power_spectrum(sharp)
    _, p_blur = radial_power_spectrum(torch.from_numpy(blurry).permute(2, 0, 1))
    assert f.shape == p_sharp.shape == (16,) and 0 < f[0] < f[-1] < 0.5
    assert p_blur[-4:].mean() < p_sharp[-4:].mean() - 0.5  # the blur removed the top octave
    with pytest.raises(ValueError):
        radial_power_spectrum(np.zeros((4, 4)))


def test_heatmap_signed_and_unsigned(images):
    blurry, sharp = images
    fig = plot_heatmap(sharp, edge_gain(blurry, sharp), "edge gain", caption="red: sharper", signed=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    fig = plot_heatmap(torch.from_numpy(sharp).permute(2, 0, 1), torch.rand(1, 1, 32, 32), "change")
    assert len(fig.axes) == 2
    with pytest.raises(ValueError):
        plot_heatmap(sharp, np.zeros((8, 8)), "wrong size")


def test_error_maps_share_one_scale(images):
    blurry, sharp = images
    fig = plot_error_maps(sharp, {"blurry": blurry, "perfect": sharp})
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and len(fig.axes) == 3  # two maps and a colour bar
    limits = {panel.images[0].get_clim() for panel in panels}
    assert len(limits) == 1 and limits.pop()[1] > 0  # the same scale for both
    assert "mean 0.0000" in panels[1].get_title()  # the truth against itself
    assert figure_to_array(fig).ndim == 3
    with pytest.raises(ValueError, match="at least one"):
        plot_error_maps(sharp, {})
    with pytest.raises(ValueError, match="match"):
        plot_error_maps(sharp, {"small": blurry[:16]})


def test_spectrum_plot(images):
    blurry, sharp = images
    assert len(plot_spectrum(blurry, sharp).axes) == 1
    assert len(plot_spectrum(blurry, sharp, original=sharp, factor=2).axes[0].lines) == 4


def test_stage_gallery_has_six_panels_and_colour_bar():
    stages = [torch.rand(3, 16, 16)] + [torch.rand(1, 3, 32, 32) for _ in range(5)]
    fig = plot_stage_gallery(stages, [f"s{i}" for i in range(6)])
    assert len(fig.axes) == 7
    with pytest.raises(ValueError):
        plot_stage_gallery(stages, ["only one"])


def test_zoom_sweep_and_attribution(images):
    curves = {"put back": ([10, 20, 30, 40], "tab:green"), "invented": ([1, 2, 3, 4], "tab:red")}
    fig = plot_zoom_sweep([1, 2, 4, 8], curves, "%", "same crop")
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2 and fig.axes[0].get_title() == "same crop"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["×1", "×2", "×4", "×8"]
    with pytest.raises(ValueError):
        plot_zoom_sweep([1, 2], {"short": ([0.1], "k")}, "%", "t")
    with pytest.raises(ValueError):
        plot_zoom_sweep([], {}, "%", "t")
    fig = plot_attribution(images[1], torch.randn(1, 3, 32, 32), (8, 8, 16, 16), di=42.0)
    assert len(fig.axes) == 5 and "42.0" in fig.get_suptitle()  # image, signed + bar, magnitude + bar
    lo, hi = fig.axes[1].images[0].get_clim()
    assert -lo == hi > 0 and fig.axes[1].images[0].get_cmap().name == "RdBu_r"
    assert len(plot_attribution(images[1], torch.randn(3, 32, 32), (8, 8, 16, 16), signed=False).axes) == 3


def test_figure_to_array_and_no_leak(images):
    fig = plot_spectrum(*images)
    arr = figure_to_array(fig)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    assert arr.shape[:2] == (int(fig.get_figheight() * fig.dpi), int(fig.get_figwidth() * fig.dpi))
    ref = weakref.ref(fig)
    del fig
    gc.collect()
    assert ref() is None  # no pyplot registry keeps figures alive
    with pytest.raises(TypeError):
        figure_to_array("figure")


def _text_px(fig) -> list[float]:
    """Rendered height (px at the app's 72 dpi) of every visible text in ``fig``."""
    from matplotlib.text import Text

    fig.set_dpi(72)
    figure_to_array(fig)
    return [t.get_fontsize() * fig.dpi / 72 for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def test_edge_pair_shares_one_scale_and_one_colour_bar(images):
    blurry, sharp = images
    fig = plot_edge_pair(blurry, sharp)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 2 and len(fig.axes) == 3  # two maps, one colour bar
    (lo0, hi0), (lo1, hi1) = (ax.images[0].get_clim() for ax in maps)
    assert lo0 == lo1 == 0 and hi0 == hi1 == pytest.approx(edge_scale(blurry, sharp))
    # the sharper image has the brighter map on that scale
    assert maps[1].images[0].get_array().mean() > maps[0].images[0].get_array().mean()
    assert plot_edge_pair(blurry, sharp, vmax=0.5).axes[0].images[0].get_clim() == (0, 0.5)
    with pytest.raises(ValueError, match="same size"):
        plot_edge_pair(blurry, sharp[:16])


def test_edge_gain_is_diverging_and_centred_on_zero(images):
    blurry, sharp = images
    fig = plot_edge_gain(sharp, edge_gain(blurry, sharp))
    image = fig.axes[0].images[0]
    lo, hi = image.get_clim()
    assert lo == -hi and hi > 0 and image.get_cmap().name == "RdBu_r" and image.get_alpha() is None
    assert plot_edge_gain(sharp, np.zeros((32, 32)), limit=0.1).axes[0].images[0].get_clim() == (-0.1, 0.1)


def test_stage_changes(images):
    blurry, sharp = images
    stages = [torch.rand(3, 16, 16)] + [0.9 * sharp + 0.01 * k for k in range(5)]
    changes = stage_changes(stages, blurry)
    assert len(changes) == 6 and all(c.shape == (32, 32) for c in changes)
    np.testing.assert_allclose(changes[2], 0.01 * 0.299 + 0.01 * 0.587 + 0.01 * 0.114, atol=2e-3)
    fig = plot_stage_changes(stages, blurry, [f"s{i}" for i in range(6)])
    panels = [ax for ax in fig.axes if ax.images]
    limits = {ax.images[0].get_clim() for ax in panels}
    assert len(panels) == 6 and len(limits) == 1 and limits.pop()[0] < 0  # one symmetric scale
    assert "s0 − input" in panels[0].get_title()


def test_every_caption_is_at_least_12_px(images):
    blurry, sharp = images
    figures = [plot_heatmap(sharp, edge_gain(blurry, sharp), "t", caption="a caption", signed=True),
               plot_edge_pair(blurry, sharp), plot_edge_gain(sharp, edge_gain(blurry, sharp)),
               plot_stage_gallery([torch.rand(3, 16, 16)] * 6),
               plot_attribution(sharp, torch.randn(3, 32, 32), (8, 8, 16, 16))]
    for fig in figures:
        sizes = _text_px(fig)
        assert sizes and min(sizes) >= MIN_TEXT_PT == 12


def test_save_png_writes_arrays_and_figures_once(tmp_path):
    from matplotlib.figure import Figure
    from PIL import Image

    from explain import save_png

    image = np.linspace(0, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)
    path = save_png(image, tmp_path)
    assert path == save_png(image.copy(), tmp_path) and Image.open(path).size == (8, 8)
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1])
    assert Image.open(save_png(fig, tmp_path, dpi=50)).size == (100, 50)  # rendered at the given dpi
    assert save_png(None, tmp_path) is None
