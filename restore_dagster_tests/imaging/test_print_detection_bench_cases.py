"""Phone pictures from the print-detection bench that once went wrong, remade from their seeds
(``bench/bench_print_detection.py --count 100 --clean 0``, seed 0: picture i is seed i), so they stay right.

Three were cropped in the wrong place (worse than no crop): a side stopped at the picture's edge
inside the white border, on all four sides where the border is hardly lighter than the grey sheet
(89) or on one (39), and a side run past the print onto a coloured block in the room behind a
hand-held print (57). Three were not cropped: a light print on a light table whose faint sides need
steps nearer the noise (37), and hand-held prints whose outline joins the room, found only from
straight line segments (1, 88).
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from restore_dagster.imaging.perspective import order_corners
from restore_dagster.imaging.print_detection import detect_print
from restore_dagster_tests.imaging.phone_prints import bench_photographs, phone_picture

BENCH_SIZE = (960, 720)


@cache
def photographs() -> tuple[np.ndarray, ...]:
    return tuple(bench_photographs())


def corner_error(found, truth) -> float:
    """Mean distance between matching corners, as a share of the true print's diagonal (as the bench)."""
    ordered, expected = order_corners(found).astype(np.float64), order_corners(truth).astype(np.float64)
    diagonal = (np.linalg.norm(expected[2] - expected[0]) + np.linalg.norm(expected[3] - expected[1])) / 2
    return float(np.linalg.norm(ordered - expected, axis=1).mean() / diagonal)


@pytest.mark.parametrize("seed, scene, case", [
    (89, "sheet", "deckled white border barely lighter than a grey sheet: was the picture inside it"),
    (39, "wood", "white border on a dark table: one side was the picture's edge"),
    (57, "hand", "held before a room: one side was a blue block's edge behind the print"),
    (37, "table", "light print on a light table: faint sides, was left uncropped"),
    (1, "hand", "held before a room, a thumb on it: no outline candidate, was left uncropped"),
    (88, "hand", "held before a room: no outline candidate, was left uncropped"),
    # From the second seed set (--seed 7: picture i is seed 700000 + i), wrong after the border was
    # first completed: completed part of the way round only.
    (700088, "sheet", "deckled white border beside white stripes: two sides were the picture's edge"),
    (700098, "sheet", "border in shadow on two sides on a pink striped sheet: two sides were the picture's edge"),
])
def test_a_bench_case_that_went_wrong_is_found(seed, scene, case):
    pictures = photographs()
    shot = phone_picture(pictures[seed % 100_000 % len(pictures)], seed, size=BENCH_SIZE)
    assert shot.scene == scene  # the generator still makes the picture this case is about
    detection = detect_print(shot.image)
    assert detection.cropped, f"{case}: {detection.reason}"
    assert corner_error(detection.corners, shot.corners) <= 0.01, case
