"""SSIM equals the reference formulation and behaves as a similarity measure should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from restore_dagster.imaging import SSIM_MAX_PIXELS, ssim
from restore_dagster.imaging.ssim import SsimReference

from .helpers import fixture_photo, jpeg_roundtrip, noisy_rgb


def reference_ssim(a: Image.Image, b: Image.Image) -> float:
    """Wang et al. 2004 written out: every 11×11 window wholly inside the image, Gaussian σ 1.5."""
    x = np.asarray(a.convert("L"), dtype=np.float64)
    y = np.asarray(b.convert("L"), dtype=np.float64)
    offsets = np.arange(11) - 5
    weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
    weights /= weights.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for top in range(x.shape[0] - 10):
        for left in range(x.shape[1] - 10):
            wx, wy = x[top : top + 11, left : left + 11], y[top : top + 11, left : left + 11]
            mx, my = (weights * wx).sum(), (weights * wy).sum()
            vx, vy = (weights * (wx - mx) ** 2).sum(), (weights * (wy - my) ** 2).sum()
            cov = (weights * (wx - mx) * (wy - my)).sum()
            scores.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(scores))


def test_matches_the_reference_formulation():
    photo = fixture_photo("chelsea_150x100.png").crop((40, 20, 80, 52))
    damaged = jpeg_roundtrip(photo, 15)

    assert ssim(photo, damaged) == pytest.approx(reference_ssim(photo, damaged), abs=1e-9)


def test_identical_images_score_one():
    photo = fixture_photo("coffee_150x100.png")

    assert ssim(photo, photo.copy()) == pytest.approx(1.0, abs=1e-12)


def test_more_damage_scores_lower():
    photo = fixture_photo("astronaut_128x128.png")

    light = ssim(photo, jpeg_roundtrip(photo, 90))
    heavy = ssim(photo, jpeg_roundtrip(photo, 10))
    blurred = ssim(photo, photo.filter(ImageFilter.GaussianBlur(2)))

    assert 1.0 > light > heavy
    assert blurred < light


def test_sizes_must_match():
    with pytest.raises(ValueError, match="sizes differ: 10×10 vs 10×11"):
        ssim(Image.new("RGB", (10, 10)), Image.new("RGB", (10, 11)))


def test_large_images_are_compared_at_about_two_megapixels():
    big = noisy_rgb((2000, 1500))
    reference = SsimReference(big)

    compared = round(2000 * reference.scale) * round(1500 * reference.scale)
    assert reference.scale < 1 and compared <= SSIM_MAX_PIXELS * 1.01
    assert reference.score(big) == pytest.approx(1.0, abs=1e-12)
    assert reference.score(jpeg_roundtrip(big, 20)) < 0.99


def test_grey_and_rgb_inputs_agree():
    photo = fixture_photo("coffee_150x100.png")
    damaged = jpeg_roundtrip(photo, 40)

    assert ssim(photo.convert("L"), damaged.convert("L")) == pytest.approx(ssim(photo, damaged), abs=1e-12)
