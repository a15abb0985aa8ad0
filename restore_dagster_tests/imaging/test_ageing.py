"""age_photo is deterministic, grey (toned), and visibly worn."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import age_photo, colourfulness, is_grey_image, ssim

from .helpers import fixture_photo


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return fixture_photo("chelsea_150x100.png")


def test_the_same_seed_gives_the_same_pixels(photo):
    first, again = age_photo(photo, seed=4), age_photo(photo, seed=4)
    other = age_photo(photo, seed=5)

    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_the_result_is_a_toned_monochrome_print_of_the_same_size(photo):
    aged = age_photo(photo, seed=1)

    assert aged.mode == "RGB" and aged.size == photo.size
    assert is_grey_image(aged)[0]
    assert 3 < colourfulness(aged) < colourfulness(photo), "sepia-toned, not neutral, not colour"
    red, _, blue = np.asarray(aged, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    assert red > blue + 10, "warm paper"


def test_the_print_is_faded_and_damaged(photo):
    grey = photo.convert("L")
    aged = age_photo(photo, seed=2)

    assert np.asarray(aged.convert("L"), dtype=np.float64).std() < np.asarray(grey, dtype=np.float64).std()
    assert 0.2 < ssim(grey, aged) < 0.9


def test_strength_zero_is_a_lightly_compressed_neutral_grey(photo):
    aged = age_photo(photo, seed=3, strength=0.0)

    pixels = np.asarray(aged, dtype=np.int16)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).max() <= 3
    assert ssim(photo.convert("L"), aged) > 0.9


def test_strength_is_bounded(photo):
    with pytest.raises(ValueError, match="between 0 and 1"):
        age_photo(photo, seed=0, strength=1.5)
