"""Shared input handling for the functions that take one image as a tensor."""

from __future__ import annotations

from torch import Tensor


def single_image(image: Tensor, takes: str) -> Tensor:
    """Detach ``image``; a batch of one ``(1, C, H, W)`` becomes ``(C, H, W)``.

    Other ranks pass through unchanged (callers check them). ``takes`` starts the
    error for a larger batch, e.g. ``"metrics take"`` -> "metrics take one image; ...".
    """
    t = image.detach()
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"{takes} one image; got a batch of {t.shape[0]}")
        t = t[0]
    return t
