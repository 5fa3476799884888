"""Shared test settings: one torch thread.

Tiny tensors gain nothing from a second thread, and on a busy two-core machine
OpenMP threads competing with another process make small forward passes many
times slower."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
