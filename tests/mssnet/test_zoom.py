"""Zoom: whole-image enlargement and viewport views."""

import cv2
import numpy as np
import pytest

from mssnet.image.zoom import source_rect, zoom


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return (rng.random((40, 60, 3)) * 255).astype(np.uint8)


def test_whole_image_size_and_values(image):
    result = zoom(image, 2.5)
    assert result.view.shape == (100, 150, 3) and result.view.dtype == np.uint8
    assert result.rect == (0.0, 0.0, 60.0, 40.0)
    expected = cv2.resize(image, (120, 80), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(zoom(image, 2).view, expected)


def test_viewport_covering_image_equals_resize(image):
    result = zoom(image, 2.0, viewport=(120, 80))
    np.testing.assert_array_equal(result.view, cv2.resize(image, (120, 80), interpolation=cv2.INTER_CUBIC))


def test_viewport_region_is_clamped(image):
    result = zoom(image, 3.0, center=(0, 0), viewport=(30, 30))
    assert result.view.shape == (30, 30, 3)
    assert result.rect == (0.0, 0.0, 10.0, 10.0)
    # integer zoom of the corner region equals resizing that crop (interior, away from borders)
    crop = cv2.resize(image[:10, :10], (30, 30), interpolation=cv2.INTER_CUBIC)
    # (warpAffine's fixed-point weights may differ from resize's by one level)
    diff = np.abs(result.view[:24, :24].astype(int) - crop[:24, :24])
    assert diff.max() <= 1
    x0, y0, w, h = zoom(image, 3.0, center=(59, 39), viewport=(30, 30)).rect
    assert (x0 + w, y0 + h) == (60.0, 40.0)


def test_continuous_factor_and_layouts():
    img = np.linspace(0, 1, 20 * 30, dtype=np.float32).reshape(20, 30)
    assert zoom(img, 1.37, viewport=(64, 48)).view.shape == (48, 64)
    assert zoom(img[..., None], 1.5).view.shape == (30, 45, 1)
    rgba = np.zeros((20, 30, 4), np.uint16)
    assert zoom(rgba, 8.0, viewport=(16, 16)).view.dtype == np.uint16


def test_source_rect_larger_than_image_is_centred():
    assert source_rect((10, 10), 1.0, (20, 10)) == (-5.0, 0.0, 20.0, 10.0)


@pytest.mark.parametrize(
    "args, error",
    [
        ((np.zeros((4, 4, 3), np.uint8), 0), ValueError),
        ((np.zeros((4, 4, 3), np.uint8), float("nan")), ValueError),
        ((np.zeros((4, 4, 2), np.uint8), 2), ValueError),
        ((np.zeros((0, 4, 3), np.uint8), 2), ValueError),
        ((np.zeros((4, 4, 3), bool), 2), TypeError),
        (([[1, 2]], 2), TypeError),
    ],
)
def test_bad_input(args, error):
    with pytest.raises(error):
        zoom(*args)


def test_viewport_factor_range(image):
    with pytest.raises(ValueError, match="zoom must be between 1 and 8; got 9"):
        zoom(image, 9, viewport=(32, 32))
