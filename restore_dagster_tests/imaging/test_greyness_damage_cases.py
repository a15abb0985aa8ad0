"""More damage cases for grey detection's ``ignore`` mask and border (helper H3's cases, run on main's
implementation): soft-edged white scratches with worn edges, 0/1 and mode-"1" masks, a coloured
mount along the edges, colour photographs under a scratch mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import GREY_THRESHOLD, is_grey_image

from .helpers import fixture_photo, tint

PHOTOS = ["coffee_150x100.png", "chelsea_150x100.png", "astronaut_128x128.png"]


def sepia(photo: Image.Image) -> Image.Image:
    return tint(photo, dark=(40, 26, 16), light=(245, 228, 196))


def scratched_worn_sepia(name: str, seed: int = 0) -> tuple[Image.Image, Image.Image]:
    """A sepia print crossed by soft-edged white scratches, its edges worn to the paper base; and the
    scratch mask a detector would give (the scratches' cores only, not their anti-aliased fringes)."""
    px = np.asarray(sepia(fixture_photo(name)), dtype=np.float32)
    height, width = px.shape[:2]
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(8):
        top, bottom = rng.integers(0, width, 2)
        cv2.line(mask, (int(top), 0), (int(bottom), height - 1), 255, 2, lineType=cv2.LINE_AA)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (5, 5), 1.0)[..., None]
    px = px * (1 - alpha) + 255 * alpha
    rows, columns = np.mgrid[0:height, 0:width]
    inside = np.minimum.reduce([rows, columns, height - 1 - rows, width - 1 - columns]).astype(np.float32)
    wear = np.clip((max(3, width // 25) + rng.normal(0, 1.5, (height, width)) - inside) / 2, 0, 1)[..., None]
    px = px * (1 - wear) + np.array([236, 236, 232]) * wear
    return Image.fromarray(np.clip(np.rint(px), 0, 255).astype(np.uint8)), Image.fromarray(mask)


@pytest.mark.parametrize("name", ["coffee_150x100.png", "astronaut_128x128.png"])
def test_a_scratched_sepia_print_with_worn_edges_is_grey_once_its_scratches_are_ignored(name):
    damaged, scratches = scratched_worn_sepia(name)
    assert not is_grey_image(damaged)[0], "the damage alone should read as colour (the issue's 7.2 > 6.0)"

    grey, measure = is_grey_image(damaged, ignore=scratches)

    assert grey and measure < GREY_THRESHOLD / 2, f"measure {measure:.2f}"


def test_the_ignore_mask_counts_any_non_zero_value_and_any_mode():
    damaged, scratches = scratched_worn_sepia("coffee_150x100.png")
    ones = Image.fromarray((np.asarray(scratches) > 0).astype(np.uint8))

    assert is_grey_image(damaged, ignore=ones)[0]
    assert is_grey_image(damaged, ignore=scratches.convert("1"))[0]


@pytest.mark.parametrize("name", PHOTOS)
def test_colour_photographs_stay_colour_with_a_scratch_mask(name):
    _, scratches = scratched_worn_sepia(name)

    grey, measure = is_grey_image(fixture_photo(name), ignore=scratches)

    assert not grey and measure > 2 * GREY_THRESHOLD


def test_a_colour_border_alone_does_not_make_a_grey_print_colour():
    print_ = np.array(sepia(fixture_photo("coffee_150x100.png")))
    print_[:4] = (30, 160, 40)  # a green mount showing along the top edge
    print_[-4:] = (200, 40, 160)

    assert is_grey_image(Image.fromarray(print_))[0]
