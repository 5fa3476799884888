"""Explain what MSSNet sharpened: edge maps, attribution, spectra, metrics, plots, lesson.

Pure functions over tensors (NCHW float RGB in [0, 1]) or numpy images; nothing
here imports the app or Gradio, and nothing is loaded at import time. The names imported
below are the package's public API.
"""

from .attribution import IG_METHODS, blur_path_attribution, gaussian_blur, integrated_gradients, saliency, smoothgrad
from .edges import (
    edge_gain,
    edge_magnitude,
    edge_mask,
    luminance,
    mean_edge_energy,
    sharpening_map,
    strongest_edge_window,
)
from .gallery_plots import plot_stage_changes, plot_stage_gallery, plot_zoom_sweep, stage_changes
from .lesson import lesson_markdown
from .measure import change_text, edge_strength, edge_strength_map
from .metrics import psnr_y, rgb_to_y, ssim_y
from .objectives import correction_energy_objective, edge_gain_objective
from .plots import (
    MIN_TEXT_PT,
    edge_scale,
    figure_to_array,
    plot_attribution,
    plot_edge_gain,
    plot_edge_pair,
    plot_error_maps,
    plot_heatmap,
    plot_spectrum,
    save_png,
    symmetric_limit,
)
from .spectrum import radial_power_spectrum
from .spread import attribution_shares, diffusion_index, gini
