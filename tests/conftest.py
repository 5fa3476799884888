"""Shared test settings: one torch thread.

Tiny tensors gain nothing from a second thread, and on a busy two-core machine
OpenMP threads competing with another process make small forward passes many
times slower."""

import sys
from pathlib import Path

import pytest
import torch

# the shared stand-ins (fakes.py, corpus.py) sit beside this file; the tests are in sub-folders
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mssnet  # noqa: E402 (after the path above)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A tiny random MSSNet (widths 4/4/4) saved as .safetensors: fast stand-in weights."""
    torch.manual_seed(0)
    return mssnet.save_safetensors(mssnet.MSSNet(mssnet.MSSNetConfig(4, 4, 4)),
                                   tmp_path_factory.mktemp("weights") / "tiny.safetensors")


@pytest.fixture(scope="module")
def studio(tiny_weights):
    """A Studio on the tiny weights without a background fill: tile counts are the views' own."""
    from mssnet.serve.session import Studio

    studio = Studio(tiny_weights, fill=False)
    yield studio
    studio.close()
