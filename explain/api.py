"""The studio's API endpoints (gradio_client, MCP); the docstrings of :class:`ApiEvents` are their descriptions.

:class:`ApiEvents` is part of :class:`explain.page.Page`: it uses the page's ``open``, ``studio``, ``save``,
``download``, ``deep_zoom`` and ``runtime_name``.
"""

from __future__ import annotations

from .contracts import Progress, need
from .studio import view_summary

__all__ = ["DEFAULT_VIEWPORT", "DEFAULT_ZOOM", "ApiEvents"]

#: The API's zoom and view side when none is given.
DEFAULT_ZOOM, DEFAULT_VIEWPORT = 2.0, 256


class ApiEvents:
    """The three endpoints with stable API names."""

    def api_zoom_sharpen(self, image: str | None, zoom: float = DEFAULT_ZOOM, center_x: float | None = None,
                         center_y: float | None = None, viewport: int = DEFAULT_VIEWPORT, model: str | None = None):
        """Zoom into an image: the view as an image viewer shows it (bicubic) and sharpened by MSSNet.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8.
            center_x: zoom centre, x in image pixels (empty: the image centre).
            center_y: zoom centre, y in image pixels (empty: the image centre).
            viewport: side of the square view in pixels (16 to 1024; 256, 384 and 512 are cached best).
            model: weights to use (empty: the bundled default).

        Returns:
            The bicubic and MSSNet views (PNG) and a dict: source rectangle, level, strength, tiles, timings.
        """
        need(image, "No image given.")
        source = self.open(image)
        view, cached = self.studio.view(source, zoom, source.center_at(center_x, center_y), viewport, model or None)
        info = {**view_summary(view, cached), "backend": self.runtime_name(view.model_label)}
        return self.save(view.bicubic), self.save(view.sharpened), info

    def api_zoom_sharpen_full(self, image: str | None, zoom: float = DEFAULT_ZOOM, model: str | None = None,
                              progress: Progress = None):
        """Enlarge a whole image and sharpen it with MSSNet; returns a PNG.

        Args:
            image: the image (file path or URL).
            zoom: zoom factor, 1 to 8; the output may have at most 4.2 megapixels.
            model: weights to use (empty: the bundled default).

        Returns:
            The zoomed and sharpened image as a PNG file (alpha kept; 16-bit for 16-bit input).
        """
        need(image, "No image given.")
        return self.download(self.open(image), zoom, model or None, progress)["download_file"]

    def api_deep_zoom(self, image: str | None, model: str | None = None) -> dict:
        """Open an image as a deep-zoom map: DZI layers (bicubic, MSSNet, edge gain) whose tiles the server
        sharpens on request.

        Args:
            image: the image (file path or URL).
            model: weights to use (empty: the bundled default).

        Returns:
            {"id", "width", "height", "scale" (the top level's zoom, 8), "layers": {"bicubic", "mssnet",
            "edge_gain"}: DZI descriptor URLs, "view_url": the exact view at rest, ...}; the id expires with the
            image (least recently used first).
        """
        need(image, "No image given.")
        return self.deep_zoom(self.open(image), model or None)
