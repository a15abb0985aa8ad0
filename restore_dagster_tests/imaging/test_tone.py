"""Tone and colour restoration: faded prints improve, unfaded ones are left alone, a print's tone is kept."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from restore_dagster.imaging import colourfulness
from restore_dagster.imaging.dye_fade import fade_colour_print
from restore_dagster.imaging.midtones import APPLIED_SHARE, estimate_midtone_powers
from restore_dagster.imaging.dye_fade import linear_to_srgb, srgb_to_linear
from restore_dagster.imaging.tone import TARGET_BLACK, TARGET_WHITE, _veil_levels, levels_curve, measure, restore_tone
from restore_dagster_tests.conftest import FIXTURES

PHOTOS = ["astronaut_128x128.png", "coffee_150x100.png", "chelsea_150x100.png"]


def photo(name: str) -> Image.Image:
    return Image.open(FIXTURES / "imaging" / name).convert("RGB")


def clipped_share(image: Image.Image) -> float:
    rgb = np.asarray(image)
    return float(((rgb == 0) | (rgb == 255)).any(axis=-1).mean())


def delta_e(a: Image.Image, b: Image.Image) -> float:
    return float(deltaE_ciede2000(rgb2lab(np.asarray(a.convert("RGB"))), rgb2lab(np.asarray(b.convert("RGB")))).mean())


@pytest.mark.parametrize("cast", ["magenta", "green", "cyan"])
def test_faded_colour_prints_come_closer_to_the_photographs(cast):
    errors = []
    for name in PHOTOS:
        clean = photo(name)
        faded = fade_colour_print(clean, 0.75, cast)
        restored, result = restore_tone(faded, grey=False, mode="auto")
        assert result.applied and "blacks lifted" in result.summary
        assert restored.size == faded.size and restored.mode == "RGB"
        errors.append((delta_e(clean, faded), delta_e(clean, restored)))
        assert errors[-1][1] < errors[-1][0], (name, errors[-1])  # every print improves
        assert colourfulness(restored) > colourfulness(faded) + 3  # the dyes' saturation comes back...
        assert clipped_share(restored) <= clipped_share(clean) + 0.005  # ...without flattening skin at 0 or 255
    before, after = (float(np.mean(e)) for e in zip(*errors))
    # Levels alone leave 0.67× (the mid-tones keep the dyes' lost density); with the mid-tone powers
    # 0.45–0.58× here (0.47–0.55× before the veil), bench/bench_tone.py measures more photographs and dye orders.
    assert after < 0.6 * before, errors


def test_a_print_whose_magenta_faded_first_is_corrected_around_its_own_least_faded_dye():
    """Light fading and other papers lose the dyes in another order than dark storage's: the mid-tone
    reference is the dye the picture shows least faded, not magenta by assumption."""
    clean = photo(PHOTOS[0])
    faded = fade_colour_print(clean, 0.75, "green", losses=(0.2, 0.5, 0.3))  # magenta fastest, cyan slowest
    restored, result = restore_tone(faded, grey=False, mode="auto")
    powers = result.details["midtone_powers"]
    assert result.details["midtone_reference"] != "G" and powers[1] > 1.15, result.details
    assert delta_e(clean, restored) < 0.45 * delta_e(clean, faded)  # 0.36×; levels alone: 0.61×


def test_levels_in_linear_light_take_an_added_veil_off_exactly():
    """A stain or veil adds light to every level: levelled in linear light a grey ramp comes back to
    its own levels, while the same ends levelled in sRGB levels leave its mid-tones far too dark."""
    ramp = np.linspace(TARGET_BLACK, TARGET_WHITE, 200)
    # 6 % of light added over the print (its own light dimmed as much, so the whites do not clip);
    # unrounded, so that only the veil is measured, not the quantisation of the dark levels
    veiled = linear_to_srgb(0.94 * srgb_to_linear(ramp / 255.0) + 0.06) * 255.0
    black, white = veiled.min(), veiled.max()
    plain = levels_curve(black, white, TARGET_WHITE, black, white)
    linear = _veil_levels(plain, black, white, share=1.0)
    got = np.interp(veiled, np.arange(256), linear)
    assert np.abs(got - ramp).max() < 1.0  # the curve is a table of 256 levels, interpolated
    assert np.abs(np.interp(veiled, np.arange(256), plain) - ramp).max() > 25
    # A share keeps the ends, stays continuous and rising, and share 0 is the plain levels exactly.
    half = _veil_levels(plain, black, white, share=0.5)
    assert np.array_equal(_veil_levels(plain, black, white, share=0.0), plain)
    assert np.all(np.diff(half) >= 0) and abs(half[int(black)] - plain[int(black)]) < 1e-9
    assert np.abs(np.diff(half)).max() < 3 * np.abs(np.diff(plain)).max()


def test_a_lightly_faded_print_whose_blacks_a_stain_lifted_is_not_left_too_dark():
    """At the lightest fade the lifted blacks are mostly stain (light added): a share of the levels in
    linear light takes it off without darkening the mid-tones (0.34× the faded error; 0.50× before)."""
    clean = photo(PHOTOS[0])
    faded = fade_colour_print(clean, 0.25, "magenta")
    restored, result = restore_tone(faded, grey=False, mode="auto")
    assert result.applied and delta_e(clean, restored) < 0.42 * delta_e(clean, faded)
    assert result.details["veil_share"] > 0


def test_a_strongly_faded_print_gets_its_mid_tone_power_beyond_the_veil():
    """The bound on a channel's mid-tone power is on its darkening from the plain levels, so the
    lightening the veil's share gave is not taken out of it: the strongest fade under a cyan cast
    gets its powers (0.40× the faded error; 0.69× before, with no power at all)."""
    clean = photo(PHOTOS[0])
    faded = fade_colour_print(clean, 1.0, "cyan")
    restored, result = restore_tone(faded, grey=False, mode="auto")
    assert result.details["midtone_powers"][0] > 1.3, result.details
    assert delta_e(clean, restored) < 0.5 * delta_e(clean, faded)


def test_a_print_without_grey_surfaces_keeps_the_plain_levels():
    """No grey surface, no mid-tone powers to darken what the veil's share lightens: the plain levels."""
    faded = fade_colour_print(photo("coffee_150x100.png"), 0.75, "magenta")
    _, result = restore_tone(faded, grey=False, mode="auto")
    assert result.details["veil_share"] == 0.0 and result.details["grey_share"] < 0.01


def grey_chart(size: int = 96) -> np.ndarray:
    """A levelled picture of neutral surfaces under shading (every level from black to white) beside
    saturated ones (a red, a green, a blue patch under the same shading), as floats."""
    ramp = np.linspace(TARGET_BLACK, TARGET_WHITE, size)[None, :].repeat(size, axis=0)
    grey = np.repeat(ramp[..., None], 3, axis=-1)
    colours = [TARGET_BLACK + (ramp[..., None] - TARGET_BLACK) * np.array(tint)
               for tint in ((1.0, 0.3, 0.2), (0.3, 0.9, 0.3), (0.2, 0.3, 1.0))]
    return np.concatenate([grey, *colours], axis=0)


@pytest.mark.parametrize("lost", [(1.6, 1.0, 1.3), (1.0, 1.5, 1.2)])
def test_the_mid_tone_powers_put_the_neutral_surfaces_back_on_the_grey_axis(lost):
    """Channels lightened by a power 1/p (density lost) on a chart with grey and coloured surfaces: the
    estimate finds p for each channel relative to the least faded one, whichever that is."""
    chart = grey_chart()
    span = TARGET_WHITE - TARGET_BLACK
    faded = TARGET_BLACK + span * ((chart - TARGET_BLACK) / span) ** (1.0 / np.array(lost))
    estimate = estimate_midtone_powers(faded, TARGET_BLACK, TARGET_WHITE)
    assert "RGB"[estimate.reference] == "RGB"[int(np.argmin(lost))]
    assert estimate.grey_share > 0.15
    expected = np.array(lost) ** APPLIED_SHARE  # the share of the power applied (see midtones.py)
    assert np.allclose(estimate.powers, expected, rtol=0.05), (estimate.powers, expected)


def test_a_print_without_grey_surfaces_gets_levels_only():
    """No neutral surface (a cup of coffee on an orange cloth), no evidence: no mid-tone power."""
    faded = fade_colour_print(photo("coffee_150x100.png"), 0.75, "magenta")
    _, result = restore_tone(faded, grey=False, mode="auto")
    assert result.details["midtone_powers"] == [1.0, 1.0, 1.0] and result.details["grey_share"] < 0.01


def test_the_dye_fade_model_refuses_impossible_losses():
    with pytest.raises(ValueError, match="losses"):
        fade_colour_print(photo(PHOTOS[0]), 0.5, "none", losses=(0.5, 1.2, 0.3))
    default = fade_colour_print(photo(PHOTOS[0]), 0.5, "none")
    assert default.tobytes() == fade_colour_print(photo(PHOTOS[0]), 0.5, "none", losses=(0.55, 0.15, 0.45)).tobytes()


@pytest.mark.parametrize("name", PHOTOS)
def test_auto_leaves_an_unfaded_photograph_as_it_is(name):
    clean = photo(name)
    restored, result = restore_tone(clean, grey=False, mode="auto")
    assert not result.applied and result.summary.startswith("auto: not faded")
    assert delta_e(clean, restored) < 0.5
    assert restored is clean  # not even re-encoded


def test_off_passes_the_picture_through_and_still_records_the_measure():
    faded = fade_colour_print(photo(PHOTOS[0]), 1.0, "magenta")
    restored, result = restore_tone(faded, grey=False, mode="off")
    assert restored is faded and not result.applied and result.summary.startswith("off")
    record = result.to_json()
    assert record["toned"] is False and record["tone_measure"]["fog"] > 16


def test_on_corrects_even_what_auto_would_leave():
    clean = photo(PHOTOS[0])
    _, result = restore_tone(clean, grey=False, mode="on")
    assert result.applied and "tone on" in result.summary


def sepia_print(grey: np.ndarray, fog: float = 0.25, dull: float = 0.15) -> Image.Image:
    """A sepia print whose blacks are fogged and whites dull: paper × (fogged grey)."""
    level = fog + grey / 255.0 * (1.0 - fog - dull)
    paper, ink = np.array([1.0, 0.86, 0.66]), np.array([0.2, 0.12, 0.07])
    rgb = ink + level[..., None] * (paper - ink)
    return Image.fromarray(np.rint(rgb * 255).astype(np.uint8), "RGB")


def hue_of(rgb: np.ndarray) -> np.ndarray:
    lab = rgb2lab(rgb)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def test_a_fogged_sepia_print_gets_its_range_back_and_stays_sepia():
    grey = np.asarray(photo(PHOTOS[0]).convert("L"), np.float64)
    faded = sepia_print(grey)
    before = measure(faded, grey=True)
    assert before.fog > 40 and before.dull > 20
    restored, result = restore_tone(faded, grey=True, mode="auto")
    assert result.applied and result.summary.startswith("black-and-white print")
    after = measure(restored, grey=True)
    assert after.fog < 8 and after.dull < 8  # black and white points recovered
    old, new = np.asarray(faded, np.float64), np.asarray(restored, np.float64)
    mid = (grey > 80) & (grey < 180)  # the tone is kept where it shows: hue in the mid-tones
    assert abs(np.median(hue_of(new / 255)[mid]) - np.median(hue_of(old / 255)[mid])) < 4
    assert new[..., 0][mid].mean() > new[..., 2][mid].mean() + 15  # still warm, not neutral grey
    assert np.abs(new - new.mean(axis=-1, keepdims=True)).max() > 10  # not turned grey


def test_real_highlights_are_compressed_not_clipped():
    grey = np.tile(np.linspace(20, 200, 200), (100, 1))
    grey[:2, :20] = [[205 + i for i in range(20)]] * 2  # a small specular highlight above the 99.5th percentile
    faded = Image.fromarray(np.rint(grey).astype(np.uint8)).convert("RGB")
    restored, result = restore_tone(faded, grey=True, mode="on")
    top = np.asarray(restored)[:2, :20, 0].astype(int)
    assert result.applied
    body = np.asarray(restored)[2:, :, 0]
    assert np.percentile(body, 99.5) >= 230  # the picture's own white is brought up...
    assert top.max() == 255 and top.min() > np.percentile(body, 99.5)  # ...and the highlight stays above it
    assert len(np.unique(top)) >= 10  # in gradations: compressed at most 2×, not clipped flat
    assert (np.asarray(restored)[..., 0] == 255).sum() <= 2


def test_alpha_is_kept():
    faded = fade_colour_print(photo(PHOTOS[0]), 0.5, "green").convert("RGBA")
    alpha = Image.linear_gradient("L").resize(faded.size)
    faded.putalpha(alpha)
    restored, result = restore_tone(faded, grey=False, mode="auto")
    assert result.applied and restored.mode == "RGBA"
    assert restored.getchannel("A").tobytes() == alpha.tobytes()


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="tone mode"):
        restore_tone(photo(PHOTOS[0]), grey=False, mode="sometimes")


def test_a_toned_print_colourises_from_its_luminance(artistic_weights):
    """The colouriser reads luminance only: a sepia print colourises as the grey print with its luma."""
    from restore_dagster.models.deoldify import colorize, load_generator

    grey = np.asarray(photo(PHOTOS[0]).convert("L"), np.float64)
    sepia = sepia_print(grey, fog=0.0, dull=0.0)
    neutral = sepia.convert("L").convert("RGB")
    generator = load_generator("artistic", artistic_weights, device="cpu")
    a = np.asarray(colorize(sepia, generator, render_factor=8), np.int16)
    b = np.asarray(colorize(neutral, generator, render_factor=8), np.int16)
    assert np.abs(a - b).max() <= 3
