"""Run the app on a free loopback port in this process (benchmarks; the browser, MCP and
client tests import it as ``bench.serving``)."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

#: Chromium's flags here: no sandbox (root), no GPU, no calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: The classroom's screen.
PROJECTOR = {"width": 1280, "height": 720}


@contextlib.contextmanager
def projector_page(playwright, url: str, chromium: str, timeout_ms: int) -> Iterator[object]:
    """``with projector_page(p, url, chromium, timeout_ms) as page:`` a Chromium page at 1280×720 on ``url``
    (its DOM loaded), the browser closed afterwards. ``p``: a ``sync_playwright()`` instance."""
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport=PROJECTOR)
        page.set_default_timeout(timeout_ms)
        page.goto(url, wait_until="domcontentloaded")
        yield page
    finally:
        browser.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(demo, timeout: float = 120.0) -> None:
    """Wait until the app's queue has no waiting or running events (a worker thread still in
    torch when the interpreter exits aborts the process)."""
    queue = getattr(demo, "_queue", None)
    deadline = time.monotonic() + timeout
    while queue is not None and time.monotonic() < deadline:
        if len(queue) == 0 and queue.get_active_worker_count() == 0:
            break
        time.sleep(0.1)
    time.sleep(0.5)


@contextlib.contextmanager
def running(weights: str | Path | None = None, **launch) -> Iterator[tuple[str, object]]:
    """``with running(weights) as (url, demo):`` the studio served on loopback, closed afterwards.
    ``launch``: more keyword arguments for ``demo.launch`` (e.g. ``mcp_server=True``)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import app  # only here: callers that just need free_port() do not load torch and gradio

    demo = app.build_demo(weights)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **app.launch_options(demo), **launch)
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        wait_idle(demo)
        demo.close()
        demo.studio_page.close()
