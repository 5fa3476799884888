"""Tests for explain.truth: put-back and invented detail against a known truth."""

import cv2
import numpy as np
import pytest

from explain.truth import truth_check, truth_sentence


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(a, 0, 1)[..., None], 3, 2).astype(np.float32)


@pytest.fixture(scope="module")
def step():
    """A vertical step edge (the truth) and its zoom blur (what bicubic gives back)."""
    truth = np.full((64, 64), 0.2, np.float32)
    truth[:, 32:] = 0.8
    blurred = cv2.GaussianBlur(truth, (0, 0), 2.0, borderType=cv2.BORDER_REPLICATE)
    return truth, blurred


def test_a_perfect_restoration_puts_everything_back_and_invents_nothing(step):
    truth, blurred = step
    check = truth_check(_rgb(truth), _rgb(blurred), _rgb(truth), 3.0, shave=4)
    assert check.put_back == pytest.approx(1.0) and check.invented == pytest.approx(0.0, abs=1e-9)
    assert check.lost > 0 and check.added == pytest.approx(check.lost)


def test_a_partial_restoration_puts_back_part_and_ringing_counts_as_invented(step):
    truth, blurred = step
    partial = cv2.GaussianBlur(truth, (0, 0), 1.0, borderType=cv2.BORDER_REPLICATE)
    half = truth_check(_rgb(truth), _rgb(blurred), _rgb(partial), 3.0, shave=4)
    assert 0.1 < half.put_back < 0.9 and half.invented < 0.01
    # an unsharp mask rings: overshoot beside the edge, where the truth is flat
    ringing = blurred + 2.0 * (blurred - cv2.GaussianBlur(blurred, (0, 0), 3.0, borderType=cv2.BORDER_REPLICATE))
    rung = truth_check(_rgb(truth), _rgb(blurred), _rgb(ringing), 3.0, shave=4)
    assert rung.invented > 0.1 and rung.put_back > half.put_back
    text = truth_sentence(rung)
    assert f"put back {100 * rung.put_back:.0f} % of the detail the zoom removed" in text
    assert f"{100 * rung.invented:.0f} % of what it added is not in the photo" in text and "×3 " in text


def test_nothing_added_nothing_lost_and_bad_input(step):
    truth, blurred = step
    none = truth_check(_rgb(truth), _rgb(blurred), _rgb(blurred), 2.5, shave=4)
    assert none.added == 0 and none.put_back == 0 and "added nothing" in truth_sentence(none)
    flat = np.full((32, 32), 0.4, np.float32)
    same = truth_check(_rgb(flat), _rgb(flat), _rgb(flat), 2.0)
    assert same.lost == 0 and "removed almost no detail" in truth_sentence(same)
    with pytest.raises(ValueError, match="same shape"):
        truth_check(_rgb(truth), _rgb(blurred[:10]), _rgb(truth), 2.0)
    with pytest.raises(ValueError, match="shave"):
        truth_check(_rgb(flat), _rgb(flat), _rgb(flat), 2.0, shave=16)
