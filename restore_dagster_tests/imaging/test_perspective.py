"""The shared four-corner warp: corner order, refusal of impossible quadrilaterals, and a rectangle
drawn in perspective coming back straight."""
import cv2
import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging.perspective import order_corners, side_lengths, warp_quad


def test_corners_are_ordered_whatever_order_they_come_in():
    square = [(10, 10), (110, 10), (110, 60), (10, 60)]
    for shuffled in ([square[2], square[0], square[3], square[1]], square[::-1]):
        assert order_corners(shuffled).tolist() == [[10, 10], [110, 10], [110, 60], [10, 60]]


def test_a_print_at_45_degrees_keeps_a_sensible_order():
    diamond = [(50, 0), (100, 50), (50, 100), (0, 50)]
    ordered = order_corners(diamond).tolist()
    assert ordered[0] in ([0, 50], [50, 0]) and len({tuple(p) for p in ordered}) == 4
    assert side_lengths(diamond) == pytest.approx((70.71, 70.71), abs=0.01)


@pytest.mark.parametrize("corners, reason", [
    ([(0, 0), (10, 0), (10, 10)], "four finite"),
    ([(0, 0), (10, 0), (float("nan"), 10), (0, 10)], "four finite"),
    ([(0, 0), (10, 0), (5, 1), (0, 10)], "convex"),
    ([(0, 0), (1, 0), (2, 0), (3, 0)], "convex"),
    ([(0, 0), (2, 0), (2, 2), (0, 2)], "no area"),
])
def test_impossible_corners_are_refused_with_the_reason(corners, reason):
    with pytest.raises(ValueError, match=reason):
        order_corners(corners)


def test_a_rectangle_in_perspective_comes_back_straight():
    rng = np.random.default_rng(3)
    flat = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    flat = cv2.GaussianBlur(flat, (0, 0), 2)  # smooth enough that bicubic resampling is nearly exact
    quad = np.float32([[40, 30], [260, 55], [245, 200], [30, 180]])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [200, 0], [200, 120], [0, 120]]) - 0.5, quad - 0.5)
    scene = cv2.warpPerspective(flat, matrix, (300, 240), flags=cv2.INTER_CUBIC)
    straight = np.asarray(warp_quad(Image.fromarray(scene), quad[[2, 0, 3, 1]], size=(200, 120)), np.float64)
    assert straight.shape == (120, 200, 3)
    inner = (slice(4, -4), slice(4, -4))  # edges mix in the scene's black background
    assert np.abs(straight[inner] - flat[inner]).mean() < 2.0


def test_grey_stays_grey_and_the_input_is_untouched():
    image = Image.new("L", (50, 40), 128)
    before = image.tobytes()
    out = warp_quad(image, [(5, 5), (45, 5), (45, 35), (5, 35)])
    assert out.mode == "L" and out.size == (40, 30) and image.tobytes() == before
    with pytest.raises(ValueError, match="at least 1"):
        warp_quad(image, [(5, 5), (45, 5), (45, 35), (5, 35)], size=(0, 10))
