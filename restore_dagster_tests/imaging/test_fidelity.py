"""The two measures of the floor: SSIM on a screen, and the share of fine texture kept at 1:1."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from restore_dagster.imaging import Fidelity, Floors, fidelity, ssim

from .helpers import film_grain, fixture_photo, jpeg_roundtrip


@pytest.fixture(scope="module")
def grainy() -> Image.Image:
    return film_grain(fixture_photo("coffee_150x100.png").resize((600, 400), Image.Resampling.LANCZOS), 4.0)


def test_identical_pictures_keep_everything(grainy):
    assert fidelity(grainy, grainy.copy()) == Fidelity(pytest.approx(1.0, abs=1e-12), pytest.approx(1.0, abs=1e-9))


def test_smoothing_the_grain_loses_detail_in_proportion(grainy):
    light = fidelity(grainy, grainy.filter(ImageFilter.GaussianBlur(0.6))).detail
    heavy = fidelity(grainy, grainy.filter(ImageFilter.GaussianBlur(2))).detail

    assert 1.0 > light > heavy
    assert heavy < 0.6, "grain blurred away is mostly gone"


def test_texture_added_is_not_counted_as_detail_kept(grainy):
    """Noise on top of the picture keeps its detail but adds none: the score stops at 1 (a few
    pixels where the new noise happens to cancel the grain lose a little)."""
    noisy = film_grain(grainy, 8.0, seed=3)

    assert 0.999 < fidelity(grainy, noisy).detail <= 1.0
    assert fidelity(grainy, noisy).screen < 1.0, "the screen SSIM judges what was added"


def test_a_picture_without_texture_scores_one():
    flat = Image.new("RGB", (64, 48), (120, 90, 60))
    shifted = Image.new("RGB", (64, 48), (125, 95, 65))

    assert fidelity(flat, shifted).detail == 1.0


def test_the_screen_score_is_the_projects_ssim(grainy):
    damaged = jpeg_roundtrip(grainy, 30)

    assert fidelity(grainy, damaged).screen == pytest.approx(ssim(grainy, damaged), abs=1e-12)


def test_flat_areas_do_not_dilute_a_blotch():
    """A smeared face is as visible beside a clear sky as beside more grain: the score is weighted
    by where the original has texture, not by area."""
    rng = np.random.default_rng(0)
    grain = np.clip(128 + rng.normal(0, 6, (64, 64)), 0, 255)
    half = np.full((64, 64), 128.0)
    small = Image.fromarray(grain.astype(np.uint8))
    wide = Image.fromarray(np.hstack([grain, half, half, half]).astype(np.uint8))
    small_smeared = Image.fromarray(np.full((64, 64), 128, np.uint8))
    wide_smeared = Image.fromarray(np.full((64, 256), 128, np.uint8))

    assert fidelity(wide, wide_smeared).detail == pytest.approx(fidelity(small, small_smeared).detail, abs=0.05)


def test_floors_are_met_only_by_both_scores():
    floors = Floors(screen=0.97, detail=0.9)

    assert Fidelity(0.98, 0.95).meets(floors)
    assert not Fidelity(0.96, 0.99).meets(floors)
    assert not Fidelity(0.99, 0.89).meets(floors)
    assert floors.lowered(Fidelity(0.01, -0.02)) == Floors(pytest.approx(0.96), pytest.approx(0.92))


def test_sizes_must_match(grainy):
    with pytest.raises(ValueError, match="sizes differ"):
        fidelity(grainy, grainy.resize((300, 200)))
