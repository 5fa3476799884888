"""Gradio's own round trip for a call shaped like ``/zoom_sharpen``: the floor under any view.

    python bench/echo_app.py PORT          # serves /zoom_sharpen_echo and /deep_zoom on 127.0.0.1:PORT

The endpoint takes the same inputs as the studio's ``/zoom_sharpen`` (an uploaded image, zoom,
centre, viewport, model) and returns the same outputs (two PNG views and a JSON dict), but
does no work: the two views are fixed PNGs of the requested viewport, made once. What a client
waits for here is upload, queue, file hand-over and download — the part of a view's latency
the app cannot remove. ``bench/pyramid_latency.py`` measures it in the same run as the views.
``/deep_zoom`` here takes an uploaded image and a model like the studio's and answers a fixed map
description, queued like the studio's (4 at a time): ``bench/classroom.py`` times a class opening on it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def build(viewport: int = 384):
    """The echo app: one endpoint, ``/zoom_sharpen_echo``, same inputs and outputs as ``/zoom_sharpen``."""
    import gradio as gr

    folder = Path(tempfile.mkdtemp(prefix="zs-echo-"))
    noise = np.random.default_rng(0).integers(0, 256, (viewport, viewport, 3), dtype=np.uint8)  # no easy PNGs
    paths = []
    for i in range(2):
        paths.append(str(folder / f"view{i}.png"))
        Image.fromarray(noise if i == 0 else noise[::-1]).save(paths[-1])

    def echo(image, zoom, center_x, center_y, viewport, model):
        return paths[0], paths[1], {"zoom": zoom, "viewport": viewport}

    with gr.Blocks() as demo:
        image = gr.Image(type="filepath", label="image")
        zoom = gr.Number(2.0, label="zoom")
        cx, cy = gr.Number(None, label="center_x"), gr.Number(None, label="center_y")
        size, model = gr.Number(viewport, label="viewport", precision=0), gr.Textbox(label="model")
        outputs = [gr.Image(format="png", label="bicubic"), gr.Image(format="png", label="mssnet"), gr.JSON()]
        gr.Button().click(echo, [image, zoom, cx, cy, size, model], outputs, api_name="zoom_sharpen_echo")
        map_image, map_model = gr.Image(type="filepath", label="image"), gr.Dropdown(["quality"], label="model")
        gr.Button().click(lambda image, model: {"id": "echo", "width": viewport, "height": viewport},
                          [map_image, map_model], gr.JSON(), api_name="deep_zoom", concurrency_limit=4)
    return demo.queue(max_size=128, default_concurrency_limit=1)


def main(argv: list[str]) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    build().launch(server_name="127.0.0.1", server_port=int(argv[0]), quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
