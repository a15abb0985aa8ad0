"""Finding the prints on a flatbed sheet: every print once, in reading order, straight and cropped."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging.sheet_split import SheetSplitError, find_prints, split_sheet
from restore_dagster_tests.imaging.helpers import fixture_photo
from restore_dagster_tests.sheet_maker import LID, LaidPrint, four_print_sheet, make_sheet, photo


def test_a_sheet_of_four_prints_splits_into_four_straight_crops_in_reading_order():
    sheet, laid, truths = four_print_sheet()

    prints = split_sheet(sheet)

    assert [p.index for p in prints] == [1, 2, 3, 4]
    for found, original, truth in zip(prints, laid, truths):
        assert np.abs(np.array(found.corners) - truth).max() < 1.5, (found.index, found.corners, truth)
        width, height = original.picture.size
        assert abs(found.size[0] - width) <= 2 and abs(found.size[1] - height) <= 2
        # The crop is the print itself, straightened: its pixels match the print laid down.
        same = np.asarray(original.picture.resize(found.size, Image.Resampling.BILINEAR), np.float32)
        assert np.abs(np.asarray(found.image, np.float32) - same).mean() < 8, found.index


def test_the_white_border_is_part_of_the_print():
    sheet, laid, truths = four_print_sheet(seed=3)
    bordered = split_sheet(sheet)[1]
    # The border's paper is kept on all four sides: the crop's edges are paper-coloured, not lid.
    edges = np.concatenate([np.asarray(bordered.image)[2:8].reshape(-1, 3), np.asarray(bordered.image)[-8:-2].reshape(-1, 3)])
    assert abs(float(np.median(edges[:, 1])) - 238) < 4
    assert bordered.size[0] >= laid[1].picture.size[0] - 2


def test_prints_touching_the_glass_edge_and_a_portrait_one_are_found():
    prints = [
        LaidPrint(photo("coffee_150x100.png", 1.4), (106, 72), 0.0),  # laid against the top-left corner
        LaidPrint(photo("chelsea_150x100.png", 1.2).rotate(90, expand=True), (330, 150), 5.0),
    ]
    sheet, truths = make_sheet((480, 360), prints, seed=1)
    quads = find_prints(sheet)
    assert len(quads) == 2
    for quad, truth in zip(quads, truths):
        assert np.abs(np.array(quad) - truth).max() < 1.5


def test_an_empty_lid_is_an_error_saying_so():
    sheet, _ = make_sheet((400, 300), [], seed=2)
    with pytest.raises(SheetSplitError, match="no prints found"):
        split_sheet(sheet)


def test_a_photo_without_a_lid_around_it_is_an_error_saying_so():
    picture = fixture_photo("astronaut_128x128.png").resize((400, 400))
    with pytest.raises(SheetSplitError, match="not a plain background"):
        split_sheet(picture)


def test_overlapping_prints_are_refused_not_merged_or_cut():
    prints = [
        LaidPrint(photo("coffee_150x100.png", 1.2, gain=0.5), (150, 120), 0.0),
        LaidPrint(photo("chelsea_150x100.png", 1.2, gain=0.5), (250, 190), 30.0),  # lies across the first
    ]
    sheet, _ = make_sheet((480, 360), prints, seed=4)
    with pytest.raises(SheetSplitError, match="touch or overlap"):
        split_sheet(sheet)


def test_dust_and_a_hair_on_the_lid_are_not_prints():
    sheet, truths = make_sheet((400, 300), [LaidPrint(photo("coffee_150x100.png"), (200, 150), 2.0)], seed=5)
    pixels = np.asarray(sheet).copy()
    pixels[20:23, 30:33] = 60  # a speck
    pixels[250, 40:120] = 90  # a hair
    quads = find_prints(Image.fromarray(pixels))
    assert len(quads) == 1 and np.abs(np.array(quads[0]) - truths[0]).max() < 1.5
    assert LID[0] > 240
