"""The owner's framing as a library: corners checked and ordered as fractions, crops, the warp onto the
picture's pixels and turns by 90° steps."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from restore_dagster.imaging import ImageError
from restore_dagster.imaging.framing import check_corners, corners_in_pixels, crop_corners, frame, parse_corners, rotate


def test_corners_are_ordered_from_the_top_left_and_rounded():
    assert check_corners([(0.95, 0.9), (0.1, 0.05), (0.05, 0.95), (0.9, 0.1)]) == (
        (0.1, 0.05), (0.9, 0.1), (0.95, 0.9), (0.05, 0.95))
    assert check_corners([(1 / 3, 0), (1, 0), (1, 1), (1 / 3, 1)])[0] == (0.33333, 0.0)


@pytest.mark.parametrize("corners, reason", [
    ([(0, 0), (1200, 0), (1200, 900), (0, 900)], "corner 1200,0 is outside the picture: corners are fractions"),
    ([(-0.2, 0), (1, 0), (1, 1), (0, 1)], "outside the picture"),
    ([(0, 0), (1, 0), (1, 1)], "four finite"),
    ([(0, 0), (1, 0), (float("nan"), 1), (0, 1)], "four finite"),
    ([("a", 0), (1, 0), (1, 1), (0, 1)], "pairs of numbers"),
    ([(0, 0), (1, 0), (0.5, 0.1), (0, 1)], "do not form a convex quadrilateral"),
    ([(0.1, 0.1), (0.12, 0.1), (0.12, 0.12), (0.1, 0.12)], "almost no area"),
])
def test_impossible_corners_are_refused_with_the_reason(corners, reason):
    with pytest.raises(ValueError, match=reason):
        check_corners(corners)


def test_a_corner_a_little_outside_is_allowed_for_a_print_cut_off_by_the_camera():
    assert check_corners([(-0.03, 0), (1, 0), (1, 1.04), (0, 1)])[0] == (-0.03, 0.0)


def test_a_crop_is_four_corners_and_must_have_its_sides_the_right_way_round():
    assert crop_corners(0.1, 0.2, 0.6, 1) == ((0.1, 0.2), (0.6, 0.2), (0.6, 1.0), (0.1, 1.0))
    with pytest.raises(ValueError, match="left must be less than right"):
        crop_corners(0.6, 0.2, 0.1, 1)


def test_fractions_are_on_the_pixels_outline():
    assert corners_in_pixels(((0, 0), (1, 0), (1, 1), (0, 1)), (200, 100)) == [(0, 0), (200, 0), (200, 100), (0, 100)]


def test_a_whole_picture_crop_is_the_picture_and_a_crop_is_exact():
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))
    same = frame(image, crop_corners(0, 0, 1, 1))
    assert same.size == image.size and (np.asarray(same) == np.asarray(image)).all()
    part = frame(image, crop_corners(0.25, 0.5, 0.75, 1))
    assert part.size == (40, 30)
    assert np.abs(np.asarray(part).astype(int) - np.asarray(image)[30:60, 20:60]).max() <= 1


def test_a_tilted_print_comes_out_straight():
    image = Image.new("RGB", (200, 160), (200, 30, 30))
    quad = [(50, 20), (180, 40), (160, 140), (30, 120)]
    ImageDraw.Draw(image).polygon(quad, fill=(255, 255, 255))
    framed = np.asarray(frame(image, [(x / 200, y / 160) for x, y in quad])).astype(int)
    inner = framed[3:-3, 3:-3]
    assert (inner.min(axis=2) > 230).mean() > 0.99, "only the white print is left"


def test_turns_are_clockwise_and_lossless():
    image = Image.new("RGB", (4, 2), (0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0))  # the top-left pixel
    assert rotate(image, 0) is image
    turned = rotate(image, 90)
    assert turned.size == (2, 4) and turned.getpixel((1, 0)) == (255, 0, 0), "turned right, top-left goes top-right"
    assert rotate(image, 180).getpixel((3, 1)) == (255, 0, 0)
    assert rotate(image, 270).getpixel((0, 3)) == (255, 0, 0)
    with pytest.raises(ValueError, match="90"):
        rotate(image, 45)


def test_corners_as_the_web_editor_sends_them():
    assert parse_corners(" 0.95,0.9 0.1,0.05\t0.05,0.95 0.9,0.1 ") == ((0.1, 0.05), (0.9, 0.1), (0.95, 0.9), (0.05, 0.95))
    for garbled in ("", "0.1,0.1 0.9,0.1 0.9,0.9", "0.1;0.1 0.9,0.1 0.9,0.9 0.1,0.9", "a,b c,d e,f g,h", "0.1,0.1,0.2 0.9,0.1 0.9,0.9 0.1,0.9"):
        with pytest.raises(ValueError, match="four x,y pairs separated by spaces"):
            parse_corners(garbled)


def test_a_framing_too_thin_for_the_scan_is_refused_with_the_reason():
    image = Image.new("RGB", (400, 20), (128, 128, 128))
    thin = check_corners([(0, 0.4), (1, 0.4), (1, 0.45), (0, 0.45)])  # 5% of the height: 1 pixel here
    with pytest.raises(ImageError, match=r"400×1 pixels of this 400×20 scan: its corners are too close together"):
        frame(image, thin)
