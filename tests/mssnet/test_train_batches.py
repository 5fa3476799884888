"""Batches cut on the training device (mssnet.train.batches): where crops come from, how often, and the
zoom degradation."""

import numpy as np
import pytest
import torch

from mssnet.train.batches import PhotoStore, degraded_batch
from mssnet.train.degrade import DegradeConfig


def coordinate_image(h: int, w: int, ident: int) -> np.ndarray:
    """uint8 (h, w, 3) whose pixel (y, x) is (y, x, ident): a crop tells where it came from."""
    y, x = np.mgrid[:h, :w]
    return np.stack([y, x, np.full_like(y, ident)], -1).astype(np.uint8)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_unaugmented_crop_is_a_window_of_its_photo():
    store = PhotoStore.from_images([coordinate_image(40, 60, 7)], crop=16)
    crops = store.crops(5, 16, generator(), augment=False)  # (5, 3, 16, 16)
    assert crops.shape == (5, 3, 16, 16) and crops.dtype == torch.float32
    px = (crops * 255).round().long()
    for c in px:
        y0, x0 = int(c[0, 0, 0]), int(c[1, 0, 0])
        assert 0 <= y0 <= 40 - 16 and 0 <= x0 <= 60 - 16
        assert torch.equal(c[0], torch.arange(y0, y0 + 16).view(16, 1).expand(16, 16))
        assert torch.equal(c[1], torch.arange(x0, x0 + 16).view(1, 16).expand(16, 16))
        assert (c[2] == 7).all()


def test_augmented_crops_are_the_eight_symmetries_of_a_window():
    store = PhotoStore.from_images([coordinate_image(50, 50, 1)], crop=8)
    crops = (store.crops(400, 8, generator(1)) * 255).round().long()  # (400, 3, 8, 8)
    seen = set()
    for c in crops:
        ys, xs = c[0], c[1]
        y0, x0 = int(ys.min()), int(xs.min())
        window = torch.stack([torch.arange(y0, y0 + 8).view(8, 1).expand(8, 8),
                              torch.arange(x0, x0 + 8).view(1, 8).expand(8, 8)])  # (2, 8, 8)
        matches = [k for k in range(8) if torch.equal(c[:2], symmetry(window, k))]
        assert len(matches) == 1, "a crop must be one flip/rotation of an 8×8 window"
        seen.add(matches[0])
    assert seen == set(range(8))


def symmetry(t: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 symmetries of the square, applied to the last two axes."""
    t = torch.rot90(t, k % 4, dims=(-2, -1))
    return t.flip(-1) if k >= 4 else t


def test_photos_are_picked_in_proportion_to_their_area():
    store = PhotoStore.from_images([coordinate_image(20, 20, 1), coordinate_image(40, 40, 2)], crop=8)
    ids = (store.crops(4000, 8, generator(2))[:, 2, 0, 0] * 255).round()
    assert abs(float((ids == 2).float().mean()) - 0.8) < 0.03  # 1600 / (400 + 1600)


def test_nearly_flat_crops_are_mostly_redrawn():
    rng = np.random.default_rng(0)
    flat = np.full((64, 64, 3), 120, np.uint8)
    busy = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    store = PhotoStore.from_images([flat, busy], crop=16)
    batch = store.batch(400, 16, generator(3))
    flat_share = float((batch.std(dim=(1, 2, 3)) == 0).float().mean())
    plain = store.crops(400, 16, generator(3))
    assert float((plain.std(dim=(1, 2, 3)) == 0).float().mean()) > 0.4  # half the pixels are flat
    assert 0 < flat_share < 0.3


def test_degraded_batch_is_the_zoom_blur_rounded_to_8_bits():
    rng = np.random.default_rng(4)
    store = PhotoStore.from_images([(rng.random((64, 80, 3)) * 255).astype(np.uint8)], crop=32)
    sharp, blurred, scale = degraded_batch(store, 3, 32, generator(4), np.random.default_rng(5),
                                           DegradeConfig((1.9, 2.1)))
    assert sharp.shape == blurred.shape == (3, 3, 32, 32) and 1.9 <= scale <= 2.1
    assert blurred.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(blurred * 255, (blurred * 255).round(), atol=1e-4)
    assert (blurred - sharp).abs().mean() > 0.01  # blurred, not a copy


def test_store_rejects_bad_photos():
    with pytest.raises(ValueError, match="at least 32×32"):
        PhotoStore.from_images([np.zeros((20, 40, 3), np.uint8)], crop=32)
    with pytest.raises(ValueError, match="uint8 \\(H, W, 3\\)"):
        PhotoStore.from_images([np.zeros((40, 40), np.uint8)], crop=8)
    store = PhotoStore.from_images([np.zeros((20, 40, 3), np.uint8), np.zeros((40, 40, 3), np.uint8)], crop=32)
    assert len(store) == 1  # the small one is left out
    with pytest.raises(ValueError, match="batch must be at least 1"):
        store.batch(0, 32, generator())
