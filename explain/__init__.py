"""Explain what MSSNet sharpened: edge maps, attribution, spectra, metrics, plots, lesson.

Pure functions over tensors (NCHW float RGB in [0, 1]) or numpy images; nothing
here imports the app or Gradio, and nothing is loaded at import time.
"""

from .attribution import (
    IG_METHODS,
    blur_path_attribution,
    correction_energy_objective,
    diffusion_index,
    edge_gain_objective,
    gaussian_blur,
    gini,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from .edges import edge_gain, edge_magnitude, edge_mask, luminance, mean_edge_energy, sharpening_map
from .lesson import lesson_markdown
from .metrics import psnr_y, rgb_to_y, ssim_y
from .plots import (
    figure_to_array,
    plot_attribution,
    plot_error_maps,
    plot_heatmap,
    plot_spectrum,
    plot_stage_gallery,
    plot_zoom_sweep,
)
from .spectrum import radial_power_spectrum

__all__ = [
    "IG_METHODS",
    "blur_path_attribution",
    "correction_energy_objective",
    "diffusion_index",
    "edge_gain",
    "edge_gain_objective",
    "edge_magnitude",
    "edge_mask",
    # plots
    "figure_to_array",
    "gaussian_blur",
    "gini",
    "integrated_gradients",
    # lesson
    "lesson_markdown",
    # edges
    "luminance",
    "mean_edge_energy",
    "plot_attribution",
    "plot_error_maps",
    "plot_heatmap",
    "plot_spectrum",
    "plot_stage_gallery",
    "plot_zoom_sweep",
    "psnr_y",
    # spectrum, metrics
    "radial_power_spectrum",
    "rgb_to_y",
    # attribution
    "saliency",
    "sharpening_map",
    "smoothgrad",
    "ssim_y",
]
