"""Grey detection calls toned monochrome grey and real colour photographs colour; colourfulness orders them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import GREY_THRESHOLD, colourfulness, is_grey_image

from .helpers import fixture_photo, jpeg_roundtrip, tint

PHOTOS = ["coffee_150x100.png", "chelsea_150x100.png", "astronaut_128x128.png"]


def sepia(photo: Image.Image) -> Image.Image:
    return tint(photo, dark=(40, 26, 16), light=(245, 228, 196))


def split_toned(photo: Image.Image) -> Image.Image:
    """Cool shadows, warm highlights: the tint changes with brightness, still one tint per brightness."""
    level = np.asarray(photo.convert("L"), dtype=np.float32)[..., None] / 255.0
    toned = np.array([20, 30, 55]) * (1 - level) ** 2 + np.array([250, 236, 205]) * level
    return Image.fromarray(np.clip(np.rint(toned), 0, 255).astype(np.uint8), "RGB")


def lit_unevenly(photo: Image.Image) -> Image.Image:
    """A phone photographing a print by a window: warm light on the left, cool on the right."""
    grey = np.asarray(photo.convert("RGB").convert("L"), dtype=np.float32)[..., None]
    across = np.linspace(0.0, 1.0, grey.shape[1], dtype=np.float32)[None, :, None]
    cast = (1 - across) * np.array([1.0, 0.96, 0.86]) + across * np.array([0.92, 0.96, 1.0])
    return Image.fromarray(np.clip(grey * cast, 0, 255).astype(np.uint8), "RGB")


@pytest.mark.parametrize("name", PHOTOS)
def test_real_colour_photographs_are_colour(name):
    grey, measure = is_grey_image(fixture_photo(name))

    assert not grey
    assert measure > 2 * GREY_THRESHOLD


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize(
    "variant",
    [
        lambda photo: photo.convert("L").convert("RGB"),
        sepia,
        lambda photo: jpeg_roundtrip(sepia(photo), 30),
        split_toned,
        lit_unevenly,
        lambda photo: tint(photo, dark=(10, 25, 60), light=(215, 235, 250)),  # cyanotype blue
    ],
    ids=["neutral", "sepia", "sepia-jpeg30", "split-toned", "uneven-light", "cyanotype"],
)
def test_monochrome_prints_are_grey_whatever_their_tone(name, variant):
    grey, measure = is_grey_image(variant(fixture_photo(name)))

    assert grey, f"measure {measure:.2f}"


@pytest.mark.parametrize("name", PHOTOS)
def test_the_margin_between_toned_and_colour_is_wide_without_jpeg_damage(name):
    photo = fixture_photo(name)
    toned = max(is_grey_image(variant(photo))[1] for variant in (sepia, split_toned, lit_unevenly))

    assert toned < GREY_THRESHOLD / 2 < 2 * GREY_THRESHOLD < is_grey_image(photo)[1]


def test_a_neutral_grey_photo_measures_zero():
    assert is_grey_image(fixture_photo("coffee_150x100.png").convert("L"))[1] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_coloured_stamp_on_a_grey_print_is_not_enough_to_make_it_colour(name):
    print_ = np.array(sepia(fixture_photo(name)))
    print_[:8, :12] = (220, 30, 30)  # a red date stamp: under 1 % of the picture

    assert is_grey_image(Image.fromarray(print_))[0]


def test_a_grey_print_with_a_large_coloured_area_is_colour():
    print_ = np.array(sepia(fixture_photo("coffee_150x100.png")))
    print_[:, :20] = (40, 160, 60)  # an album page's green card beside the print: 13 % of the picture

    assert not is_grey_image(Image.fromarray(print_))[0]


def test_degenerate_pictures_do_not_break_the_measure():
    grey, measure = is_grey_image(Image.new("RGB", (1, 1), (200, 10, 10)))
    assert grey and measure == pytest.approx(0.0, abs=1e-6)
    assert is_grey_image(Image.new("L", (3, 500), 7))[0]


def test_colourfulness_orders_grey_sepia_and_colour():
    photo = fixture_photo("coffee_150x100.png")

    grey = colourfulness(photo.convert("L"))
    toned = colourfulness(sepia(photo))
    colour = colourfulness(photo)

    assert grey == pytest.approx(0.0, abs=1e-9)
    assert 0 < toned < colour
    assert colour > 33, "Hasler & Süsstrunk: a colour photograph is at least 'moderately colourful'"


def test_colourfulness_of_flat_colours_follows_the_formula():
    # One flat colour has no spread: M = 0.3 · |(R − G, (R + G)/2 − B)|.
    red = colourfulness(Image.new("RGB", (8, 8), (200, 0, 0)))
    assert red == pytest.approx(0.3 * np.hypot(200.0, 100.0))


def _scratched_sepia_print(name: str, scratches: int = 60, worn_edges: bool = True):
    """A sepia print with white scratches (and the mask a detector would give) and worn edges: a
    24-pixel band mottled with a yellow-brown stain of varying strength."""
    from PIL import ImageDraw

    photo = sepia(fixture_photo(name).convert("L").resize((800, 600)).convert("RGB"))
    mask = Image.new("L", photo.size, 0)
    draw, draw_mask = ImageDraw.Draw(photo), ImageDraw.Draw(mask)
    rng = np.random.default_rng(1)
    for _ in range(scratches):
        line = tuple(int(v) for v in (rng.integers(0, 800), rng.integers(0, 600), rng.integers(0, 800), rng.integers(0, 600)))
        draw.line(line, fill=(255, 255, 255), width=3)
        draw_mask.line(line, fill=255, width=3)
    if worn_edges:
        pixels = np.asarray(photo).astype(np.float32)
        edge = np.zeros(pixels.shape[:2], dtype=bool)
        edge[:24], edge[-24:], edge[:, :24], edge[:, -24:] = True, True, True, True
        strength = (rng.uniform(0.2, 0.9, edge.shape) * edge)[..., None]
        pixels = pixels * (1 - strength) + np.array([235, 215, 110], np.float32) * strength
        photo = Image.fromarray(pixels.astype(np.uint8))
    return photo, mask


@pytest.mark.parametrize("name", ["astronaut_128x128.png", "coffee_150x100.png"])
def test_a_scratched_sepia_print_is_grey_once_its_damage_is_left_out(name):
    photo, mask = _scratched_sepia_print(name)
    assert not is_grey_image(photo)[0]  # white scratches on sepia read as colour when counted...
    grey, measure = is_grey_image(photo, ignore=mask)  # ...and not once the detected damage is left out
    assert grey and measure < GREY_THRESHOLD / 2, f"measure {measure:.2f}"


@pytest.mark.parametrize("name", PHOTOS)
def test_worn_stained_edges_do_not_make_a_sepia_print_colour(name):
    photo, _ = _scratched_sepia_print(name, scratches=0)
    grey, measure = is_grey_image(photo)
    assert grey and measure < GREY_THRESHOLD / 2, f"measure {measure:.2f}"


@pytest.mark.parametrize("name", PHOTOS)
def test_colour_photos_stay_colour_with_a_damage_mask(name):
    photo = fixture_photo(name)
    mask = Image.new("L", photo.size, 0)
    mask.paste(255, (photo.width // 3, 0, photo.width // 3 + 3, photo.height))  # a long scratch
    assert is_grey_image(photo, ignore=mask)[1] > 2 * GREY_THRESHOLD


def test_an_ignore_mask_of_another_size_is_refused_and_a_full_one_measures_everything():
    photo = fixture_photo("coffee_150x100.png")
    with pytest.raises(ValueError, match="ignore mask is 10x10"):
        is_grey_image(photo, ignore=Image.new("L", (10, 10)))
    assert is_grey_image(photo, ignore=Image.new("L", photo.size, 255))[1] == pytest.approx(is_grey_image(photo)[1], rel=0.2)
