"""MSSNet: model, weights, inference and zoom pipeline (no UI code here)."""

from .image.io import ImageError, LoadedImage, load_image, save_image, to_uint8
from .image.zoom import ZoomResult, zoom
from .model.network import PRESETS, STAGE_NAMES, MSSNet, MSSNetConfig
from .model.weights import DEFAULT_WEIGHTS, CheckpointError, list_weights, load_model, save_safetensors
from .pyramid.cache import TileCache
from .pyramid.fill import FillWorker
from .pyramid.levels import pyramid_zoom_image
from .pyramid.pyramid import PyramidView, ZoomPyramid
from .pyramid.tiles import TileId
from .runtime.inference import resolve_precision, sharpen, sharpen_stages, sharpen_tensor, sharpen_tensor_stages

__all__ = [
    "MSSNet", "MSSNetConfig", "PRESETS", "STAGE_NAMES",
    "load_model", "save_safetensors", "list_weights", "CheckpointError", "DEFAULT_WEIGHTS",
    "sharpen", "sharpen_stages", "sharpen_tensor", "sharpen_tensor_stages", "resolve_precision",
    "zoom", "ZoomResult",
    "ZoomPyramid", "PyramidView", "TileCache", "TileId", "FillWorker", "pyramid_zoom_image",
    "load_image", "save_image", "to_uint8", "ImageError", "LoadedImage",
]
