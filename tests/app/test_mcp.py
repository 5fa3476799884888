"""The opt-in MCP server (``python app.py --mcp``): needs ``gradio[mcp]``."""

import pytest


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_mcp_server_lists_the_three_tools(tiny_weights):
    """``python app.py --mcp``: the three API endpoints become MCP tools, nothing else does."""
    pytest.importorskip("mcp", reason="gradio[mcp] is not installed")
    import json
    import urllib.request

    from bench.serving import running

    with running(tiny_weights, mcp_server=True) as (url, _demo):
        with urllib.request.urlopen(url + "gradio_api/mcp/schema", timeout=60) as response:
            tools = {t["name"]: t for t in json.loads(response.read())}
    assert set(tools) == {"api_zoom_sharpen", "api_zoom_sharpen_full", "api_deep_zoom"}
    view = tools["api_zoom_sharpen"]["inputSchema"]
    assert view["required"] == ["image"]
    assert {"zoom", "center_x", "center_y", "viewport", "model"} <= set(view["properties"])
    assert "MSSNet" in tools["api_zoom_sharpen_full"]["description"]
    assert "DZI" in tools["api_deep_zoom"]["description"]
