"""The colour fix's pixels (imaging/colour_fix.py): the region a tap gives, and chroma replaced under kept lightness.

The scene is a grainy black-and-white "photo": a wall, a dress whose folds shade it, an arm across
the dress of the dress's own grey but drawn with a thin dark outline, and a dark floor. A tap on the
dress must find the dress and stop at its edges (the wall, the arm's outline, the floor).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import colour_fix as cf
from restore_dagster_tests.imaging.colour_fix_scene import scene


def at_working(mask: np.ndarray, luminance: np.ndarray) -> np.ndarray:
    return cv2.resize(mask.astype(np.uint8), (luminance.shape[1], luminance.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def lab(rgb: np.ndarray) -> np.ndarray:
    return cf._lab(rgb)


@pytest.fixture(scope="module")
def dress_scene():
    rgb, dress, arm = scene()
    image = Image.fromarray(rgb)
    return image, cf.working_luminance(image), dress, arm


def test_a_tap_on_the_dress_finds_the_dress_and_stops_at_its_edges(dress_scene):
    image, luminance, dress, arm = dress_scene
    region = cf.segment(luminance, 0.45, 0.8, tolerance=16)
    dress_w, arm_w = at_working(dress, luminance), at_working(arm, luminance)
    assert cf.overlap(region.mask, dress_w) > 0.95, "the region is the dress"
    assert not (region.mask & arm_w).any(), "the arm of the dress's own grey stays out: its outline stops the fill"
    wall = at_working(~cv2.dilate(dress.astype(np.uint8), np.ones((15, 15))).astype(bool), luminance) & ~arm_w
    assert (region.mask & wall).sum() == 0, "nothing of the wall or the floor"
    assert 0.1 < region.area < 0.3 and region.seed is not None
    left, top, right, bottom = region.box
    assert left == pytest.approx(0.25, abs=0.02) and top == pytest.approx(0.3, abs=0.02)
    assert right == pytest.approx(0.75, abs=0.02) and bottom == pytest.approx(0.9, abs=0.02)


def test_the_tolerance_widens_the_area_and_the_arm_is_found_on_its_own(dress_scene):
    _, luminance, dress, arm = dress_scene
    narrow = cf.segment(luminance, 0.45, 0.8, tolerance=4)
    wide = cf.segment(luminance, 0.45, 0.8, tolerance=16)
    assert narrow.area < wide.area, "a narrow tolerance keeps to the tones closest to the tap"
    arm_region = cf.segment(luminance, 0.7, 0.55, tolerance=16)
    assert cf.overlap(arm_region.mask, at_working(arm, luminance)) > 0.85
    assert not (arm_region.mask & at_working(dress, luminance)).any()


def test_a_tap_on_an_outline_moves_to_the_nearest_inside_or_says_so():
    grey = np.full((100, 100), 200, np.uint8)
    grey[:, 40:] = 20  # light on the left, dark on the right
    luminance = cf.working_luminance(Image.fromarray(grey).convert("RGB"))
    region = cf.segment(luminance, 0.395, 0.5, tolerance=8)  # right on the edge, on its light side
    assert region.mask[:, :38].all() and not region.mask[:, 41:].any(), "the light side, nothing of the dark"
    ramp = np.tile(np.clip((np.arange(100) - 40) * 12, 0, 240).astype(np.uint8), (100, 1))  # steep everywhere near 0.5
    with pytest.raises(cf.ColourFixError, match="outline"):
        cf.segment(cf.working_luminance(Image.fromarray(ramp).convert("RGB")), 0.5, 0.5, tolerance=4)


@pytest.mark.parametrize("x, y, tolerance", [(-0.1, 0.5, 16), (0.5, 1.5, 16), (float("nan"), 0.5, 16), (0.5, 0.5, 3),
                                             (0.5, 0.5, 81), (0.5, 0.5, True), ("0.5", 0.5, 16)])
def test_bad_taps_and_tolerances_are_refused_with_a_reason(dress_scene, x, y, tolerance):
    with pytest.raises(cf.ColourFixError):
        cf.segment(dress_scene[1], x, y, tolerance)


@pytest.mark.parametrize("text, rgb", [("#1f5fbf", (31, 95, 191)), ("1F5FBF", (31, 95, 191)), (" #ffffff ", (255, 255, 255))])
def test_colours_are_read_as_rrggbb(text, rgb):
    assert cf.parse_colour(text) == rgb


@pytest.mark.parametrize("text", ["", "#fff", "#12345g", "red", "#1234567", "<script>"])
def test_other_colours_are_refused(text):
    with pytest.raises(cf.ColourFixError, match="#RRGGBB"):
        cf.parse_colour(text)


def test_the_working_size_is_the_same_for_every_size_of_one_shape_and_never_enlarges():
    assert cf.working_size((3840, 2880)) == (2048, 1536)
    assert cf.working_size((1920, 1440)) == (1920, 1440)  # smaller than the working side: its own size
    assert cf.working_size((7680, 5760)) == (2048, 1536)


def test_the_chroma_is_replaced_and_the_lightness_kept(dress_scene):
    image, luminance, dress, _ = dress_scene
    region = cf.segment(luminance, 0.45, 0.8, tolerance=16)
    blue = (43, 79, 158)
    fixed = cf.recolour(image, cf.soft_mask(region.mask, image.size), blue)
    before, after = lab(np.asarray(image)), lab(np.asarray(fixed))
    assert np.abs(after[..., 0] - before[..., 0]).max() < 0.6, "L is the scan's, to within 8-bit rounding"
    inner = cv2.erode(dress.astype(np.uint8), np.ones((9, 9))).astype(bool)
    target = lab(np.array([blue], np.uint8))[0]
    hue = np.degrees(np.arctan2(after[inner][:, 2], after[inner][:, 1]))
    target_hue = np.degrees(np.arctan2(target[2], target[1]))
    # Everywhere, folds included (8-bit rounding moves the hue of the darkest grains by a few degrees).
    assert np.percentile(np.abs(hue - target_hue), 99.9) < 2 and np.abs(hue - target_hue).max() < 10
    chroma = np.hypot(after[inner][:, 1], after[inner][:, 2])
    assert np.median(chroma) == pytest.approx(np.hypot(target[1], target[2]), rel=0.05)
    outside = ~cv2.dilate(dress.astype(np.uint8), np.ones((21, 21))).astype(bool)
    assert (np.asarray(fixed)[outside] == np.asarray(image)[outside]).all(), "nothing else changes, to the bit"
    # The edge is feathered: some pixels right at the dress's edge are only partly coloured.
    edge = cv2.dilate(dress.astype(np.uint8), np.ones((5, 5))).astype(bool) & ~cv2.erode(dress.astype(np.uint8), np.ones((5, 5))).astype(bool)
    edge_chroma = np.hypot(after[edge][:, 1], after[edge][:, 2])
    assert ((edge_chroma > 2) & (edge_chroma < np.hypot(target[1], target[2]) - 5)).any()


def test_a_colour_that_does_not_exist_at_a_lightness_gives_way_in_saturation_not_in_lightness():
    # A saturated yellow on a near-black and a near-white patch: out of sRGB at those lightnesses.
    grey = np.zeros((20, 40, 3), np.uint8)
    grey[:, :20], grey[:, 20:] = 25, 245
    weights = np.ones((20, 40), np.float32)
    fixed = cf.recolour(Image.fromarray(grey), weights, (240, 220, 0))
    before, after = lab(grey), lab(np.asarray(fixed))
    assert np.abs(after[..., 0] - before[..., 0]).max() < 0.6
    hue = np.degrees(np.arctan2(after[..., 2], after[..., 1]))
    target = lab(np.array([(240, 220, 0)], np.uint8))[0]
    assert np.abs(hue - np.degrees(np.arctan2(target[2], target[1]))).max() < 6, "still yellow"
    assert (np.hypot(after[..., 1], after[..., 2]) < np.hypot(target[1], target[2])).all(), "less saturated"


def test_the_stored_region_round_trips_and_overlap_is_intersection_over_union():
    mask = np.zeros((30, 40), bool)
    mask[5:20, 10:30] = True
    assert (cf.mask_from_text(cf.mask_to_text(mask), (40, 30)) == mask).all()
    assert cf.mask_from_text(cf.mask_to_text(mask), (80, 60)).sum() == 4 * mask.sum()
    other = np.zeros_like(mask)
    other[5:20, 20:40] = True
    assert cf.overlap(mask, other) == pytest.approx(150 / 450)
    assert cf.overlap(np.zeros_like(mask), np.zeros_like(mask)) == 0.0
