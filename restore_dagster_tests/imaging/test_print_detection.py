"""Print detection: a print photographed at an angle comes out straight at its true aspect ratio; a
clean scan, a print filling the frame, and a picture with no print are left alone."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging.perspective import order_corners
from restore_dagster.imaging.print_detection import PrintDetection, detect_print, perspective_aspect, straighten
from restore_dagster_tests.imaging.helpers import fixture_photo, noisy_rgb
from restore_dagster_tests.imaging.phone_prints import clean_scan, phone_picture

SMALL = (480, 360)  # phone-shaped and small enough to keep the tests quick


def photo() -> np.ndarray:
    return np.asarray(fixture_photo("astronaut_128x128.png"))


def corner_error(found, truth) -> float:
    ordered, expected = order_corners(found).astype(np.float64), order_corners(truth).astype(np.float64)
    return float(np.linalg.norm(ordered - expected, axis=1).mean() / np.linalg.norm(expected[2] - expected[0]))


@pytest.mark.parametrize("seed, scene", [(1, "wood"), (2, "sheet"), (3, "table"), (4, "hand")])
def test_a_print_photographed_at_an_angle_is_found_and_straightened(seed, scene):
    shot = phone_picture(photo(), seed, size=SMALL, scene=scene, format_name="4x6")
    detection = detect_print(shot.image)
    assert detection.cropped, detection.reason
    assert detection.confidence >= 0.7 and "found" in detection.reason
    assert corner_error(detection.corners, shot.corners) < 0.015
    width, height = detection.size
    assert width / height == pytest.approx(shot.aspect, rel=0.02)  # 4x6 upright or lying, from the perspective
    assert detection.aspect_name == "4x6"
    straight = straighten(shot.image, detection)
    assert straight.size == detection.size


def test_the_straightened_print_matches_the_print_itself():
    """Not just the right size: the picture inside is square to the output, as the print was."""
    shot = phone_picture(photo(), 7, size=SMALL, scene="wood", format_name="4x6", border=True, corner_style="square")
    detection = detect_print(shot.image)
    assert detection.cropped, detection.reason
    straight = np.asarray(straighten(shot.image, detection).convert("L"), np.float32)
    expected = np.asarray(shot.flat.convert("L").resize(detection.size, Image.Resampling.BOX), np.float32)
    inner = (slice(6, -6), slice(6, -6))  # the lighting differs; the layout must not
    assert float(np.corrcoef(straight[inner].ravel(), expected[inner].ravel())[0, 1]) > 0.9
    # The white border is kept: the straightened print's outer rows are paper, lighter than its middle.
    assert straight[:3].mean() > straight.mean() and straight[-3:].mean() > straight.mean()


@pytest.mark.parametrize("seed", range(4))
def test_a_clean_scan_is_untouched(seed):
    scan = clean_scan(photo(), seed, long_side=480)
    detection = detect_print(scan)
    assert not detection.cropped and detection.size is None
    assert straighten(scan, detection) is scan


@pytest.mark.parametrize("seed", range(3))
def test_a_print_filling_the_frame_is_untouched(seed):
    shot = phone_picture(photo(), seed, size=SMALL, fill=(1.4, 1.6))
    detection = detect_print(shot.image)
    assert not detection.cropped, detection.reason
    assert straighten(shot.image, detection) is shot.image


def test_a_picture_without_a_print_is_untouched_with_the_reason():
    picture = noisy_rgb((320, 240), seed=2)
    detection = detect_print(picture)
    assert not detection.cropped and detection.reason
    tiny = detect_print(Image.new("RGB", (20, 15), "white"))
    assert tiny == PrintDetection(None, 0.0, False, None, "", tiny.reason) and "too small" in tiny.reason


def test_the_aspect_ratio_comes_from_the_perspective_not_the_side_lengths():
    """A 4x6 print tilted 40° away from the camera looks nearly square; the homography knows better."""
    width, height, focal = 1200, 900, 900.0  # a phone's focal length: 0.6 × the diagonal
    tilt = np.deg2rad(40)
    rotation = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    print_corners = np.array([[-3, -2, 0], [3, -2, 0], [3, 2, 0], [-3, 2, 0]], np.float64) @ rotation.T + [0.4, 0.3, 12]
    image = np.c_[focal * print_corners[:, 0] / print_corners[:, 2] + width / 2, focal * print_corners[:, 1] / print_corners[:, 2] + height / 2]
    sides = np.linalg.norm(image[1] - image[0]) / np.linalg.norm(image[3] - image[0])
    assert abs(sides - 1.5) > 0.2  # the naive estimate is far off
    # Tilted about one axis, top and bottom stay parallel: the focal length cannot be measured and
    # the phone's usual one is assumed.
    assert perspective_aspect(image, (width, height)) == pytest.approx(1.5, rel=0.005)
    # Tilted about both axes (and turned), it is measured, whatever the focal length.
    for focal, yaw, roll in ((700.0, 25, 10), (1500.0, -20, -15)):
        turn = np.deg2rad(yaw)
        about_y = np.array([[np.cos(turn), 0, np.sin(turn)], [0, 1, 0], [-np.sin(turn), 0, np.cos(turn)]])
        spin = np.deg2rad(roll)
        about_z = np.array([[np.cos(spin), -np.sin(spin), 0], [np.sin(spin), np.cos(spin), 0], [0, 0, 1]])
        seen = np.array([[-3, -2, 0], [3, -2, 0], [3, 2, 0], [-3, 2, 0]], np.float64) @ (about_y @ rotation @ about_z).T + [0.4, 0.3, 12]
        image = np.c_[focal * seen[:, 0] / seen[:, 2] + width / 2, focal * seen[:, 1] / seen[:, 2] + height / 2]
        assert perspective_aspect(image, (width, height)) == pytest.approx(1.5, rel=0.005)


def test_a_flat_patch_inside_a_photograph_is_not_taken_for_a_print():
    """A stain, a label or tape is a sharp-edged rectangle too, but has no picture inside it: cropping
    the photograph to it would lose everything else (a wrong crop is worse than none)."""
    picture = np.asarray(Image.fromarray(photo()).resize(SMALL)).copy()
    picture[150:250, 260:400] = (40, 160, 230)  # a flat blue label on the photograph
    detection = detect_print(Image.fromarray(picture))
    assert not detection.cropped, detection.reason
