"""The owner's repair-mask corrections: the three bands, alpha, other sizes, broken files; the mask's measures."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import ImageError, repair_mask


def _save(tmp_path, image: Image.Image, name="c.png"):
    path = tmp_path / name
    image.save(path)
    return path


def test_white_adds_black_removes_grey_leaves_it_to_the_detector(tmp_path):
    values = np.array([[0, 63, 64, 128], [191, 192, 255, 10]], dtype=np.uint8)
    add, remove = repair_mask.read_corrections(_save(tmp_path, Image.fromarray(values, "L")), (4, 2))
    assert add.tolist() == [[False, False, False, False], [False, True, True, False]]
    assert remove.tolist() == [[True, True, False, False], [False, False, False, True]]


def test_transparent_pixels_mean_nothing_whatever_their_value(tmp_path):
    rgba = np.zeros((1, 4, 4), dtype=np.uint8)
    rgba[0] = [[255, 255, 255, 255], [255, 255, 255, 0], [0, 0, 0, 200], [0, 0, 0, 0]]
    add, remove = repair_mask.read_corrections(_save(tmp_path, Image.fromarray(rgba, "RGBA")), (4, 1))
    assert add.tolist() == [[True, False, False, False]] and remove.tolist() == [[False, False, True, False]]


def test_another_size_is_resized_nearest_to_the_scan(tmp_path):
    half = np.full((2, 3), 128, dtype=np.uint8)
    half[0, 0], half[1, 2] = 255, 0
    add, remove = repair_mask.read_corrections(_save(tmp_path, Image.fromarray(half, "L")), (6, 4))
    assert add.shape == (4, 6) and add[:2, :2].all() and add.sum() == 4  # no blending into new meanings
    assert remove[2:, 4:].all() and remove.sum() == 4


def test_a_palette_png_with_a_transparent_entry(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 1  # the black entry is transparent: it must not remove anything
    path = tmp_path / "p.png"
    image.save(path, transparency=1)
    add, remove = repair_mask.read_corrections(path, (2, 1))
    assert add.tolist() == [[True, False]] and not remove.any()


@pytest.mark.parametrize("content,reason", [(b"not an image", "not an image file"), (b"", None)])
def test_a_broken_corrections_file_is_an_error_naming_it(tmp_path, content, reason):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ImageError) as error:
        repair_mask.read_corrections(path, (4, 4))
    assert str(path) in str(error.value)
    if reason:
        assert reason in str(error.value)


def test_a_jpeg_is_not_taken_for_corrections(tmp_path):
    path = tmp_path / "c.png"
    Image.new("L", (4, 4), 255).save(path, "JPEG")  # a .png name does not make it a PNG
    with pytest.raises(ImageError, match="must be a PNG"):
        repair_mask.read_corrections(path, (4, 4))


def test_coverage_regions_and_the_overlay_keep_a_one_pixel_scratch_visible():
    mask = np.zeros((600, 800), dtype=bool)
    mask[100, 50:700] = True  # a one-pixel scratch
    mask[300:303, 400:403] = True  # a speck
    mask[301, 403] = True  # touching it: the same region
    assert repair_mask.count_regions(mask) == 2 and repair_mask.count_regions(np.zeros((3, 3), bool)) == 0
    assert repair_mask.coverage_percent(mask) == pytest.approx(100 * 660 / 480_000)
    image = Image.new("RGB", (800, 600), (128, 128, 128))
    overlay = np.asarray(repair_mask.mask_overlay(image, mask, max_side=200)).astype(int)
    assert overlay.shape == (150, 200, 3)
    red = (overlay[..., 0] - overlay[..., 1]) > 80
    assert red[25, 15:170].all()  # the scratch survives a 4x reduction
    assert red.sum() < 200  # and nothing else turned red


def test_mask_image_round_trip():
    mask = np.array([[True, False], [False, True]])
    image = repair_mask.mask_image(mask)
    assert image.mode == "L" and np.asarray(image).tolist() == [[255, 0], [0, 255]]
    assert (repair_mask.as_mask(image) == mask).all()
