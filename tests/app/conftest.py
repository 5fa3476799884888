"""Fixtures of the page's tests: the studio served on a free port with the tiny random weights."""

import pytest


@pytest.fixture(scope="module")
def server(tiny_weights):
    """(url, demo) of the app running in this process (``bench.serving.running``), for one test module."""
    from bench.serving import running

    with running(tiny_weights) as (url, demo):
        yield url, demo
