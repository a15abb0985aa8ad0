"""keep_levels: an upscaling's tonal drift is undone, a real change is not."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging.keep_levels import keep_levels
from restore_dagster_tests.conftest import FIXTURES


def photo(name: str = "astronaut_128x128.png") -> Image.Image:
    return Image.open(FIXTURES / "imaging" / name).convert("RGB")


def drifted(image: Image.Image, per_channel=(1.0, 1.0, 1.0)) -> Image.Image:
    """``image`` 3× larger, darkened like three waifu2x passes: about v/256 a pass, more in one channel."""
    big = np.asarray(image.resize((image.width * 3, image.height * 3), Image.Resampling.LANCZOS), np.float64)
    loss = 3 * big / 256 * np.asarray(per_channel)
    return Image.fromarray(np.clip(np.rint(big - loss), 0, 255).astype(np.uint8))


def highlights(image: Image.Image) -> float:
    values = np.sort(np.asarray(image.convert("L"), np.float64), axis=None)
    return float(values[-values.size // 50:].mean())


def mean(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), np.float64).mean())


@pytest.mark.parametrize("name", ["astronaut_128x128.png", "coffee_150x100.png", "chelsea_150x100.png"])
def test_a_drifted_upscaling_gets_the_sources_levels_back(name):
    source = photo(name)
    result = drifted(source, per_channel=(1.0, 1.2, 0.8))
    reference = source.resize(result.size, Image.Resampling.LANCZOS)  # the same scale, no drift
    assert mean(result) < mean(reference) - 1.0  # the defect the correction is for
    fixed, correction = keep_levels(result, source)
    assert correction.applied and correction.mean_shift < -1.0
    assert fixed.size == result.size and fixed.mode == "RGB"
    assert abs(mean(fixed) - mean(reference)) < 0.2
    assert abs(highlights(fixed) - highlights(reference)) < 0.5
    per_channel = np.asarray(fixed, np.float64).mean((0, 1)) - np.asarray(reference, np.float64).mean((0, 1))
    assert np.abs(per_channel).max() < 0.3


def test_a_real_upscaling_by_waifu2x_keeps_a_flat_grey():
    from restore_dagster.models import waifu2x

    source = Image.new("RGB", (48, 40), (200, 200, 200))
    result = waifu2x.upscale_to(source, long_side=192, noise_level=1, device="cpu")  # two passes
    assert np.asarray(result).mean() < 199.5  # the networks' drift, today
    fixed, correction = keep_levels(result, source)
    assert correction.applied
    assert abs(np.asarray(fixed, np.float64).mean() - 200) <= 0.5


def test_a_real_change_is_not_taken_for_drift():
    source = photo()
    different = Image.fromarray(255 - np.asarray(source.resize((256, 256))))  # a negative: no drift explains it
    fixed, correction = keep_levels(different, source)
    assert not correction.applied and "not a drift" in correction.reason
    assert fixed is different
    assert correction.to_json()["applied"] is False


def test_alpha_and_grey_sources_are_kept():
    source = photo().convert("L")
    result = drifted(source.convert("RGB")).convert("RGBA")
    alpha = Image.linear_gradient("L").resize(result.size)
    result.putalpha(alpha)
    fixed, correction = keep_levels(result, source)
    assert correction.applied and fixed.mode == "RGBA"
    assert fixed.getchannel("A").tobytes() == alpha.tobytes()
    grey = np.asarray(fixed.convert("RGB"), np.int16)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1  # a grey picture stays grey


def test_the_record_says_what_was_moved():
    source = photo()
    _, correction = keep_levels(drifted(source), source)
    record = correction.to_json()
    assert set(record["correction_at"]) == {"0", "128", "255"}
    assert all(value > 0 for value in record["correction_at"]["128"])  # darkened, so brightened back
    assert record["mean_shift_before"] < 0
