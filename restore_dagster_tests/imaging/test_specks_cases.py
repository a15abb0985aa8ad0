"""More speck-detector cases (helper H3's): a short hair, pupils, buttons and a catchlight kept, clean grain
at three strengths, dust on grain, every image mode, tiny and extreme shapes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging.specks import detect_specks

SIZE = (600, 400)


def print_like(size=SIZE, grain=3.0, seed=0) -> np.ndarray:
    """A smooth photograph-like luma with film grain (float32)."""
    width, height = size
    rows, columns = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = 125 + 55 * np.sin(columns / 90.0) + 35 * np.cos(rows / 70.0)
    return (base + rng.normal(0, grain, base.shape)).astype(np.float32)


def as_image(luma: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(luma), 0, 255).astype(np.uint8), "L")


def mask_of(image: Image.Image, **tuning) -> np.ndarray:
    mask = detect_specks(image, **tuning)
    assert mask.mode == "L" and mask.size == image.size
    values = np.asarray(mask)
    assert set(np.unique(values)) <= {0, 255}
    return values > 0


def dust(luma: np.ndarray, count: int, seed: int = 1) -> list[tuple[int, int, bool]]:
    """Draws ``count`` dark and bright specks of radius 1-2 at random, well apart; returns (x, y, dark)."""
    rng = np.random.default_rng(seed)
    height, width = luma.shape
    placed: list[tuple[int, int, bool]] = []
    while len(placed) < count:
        x, y = int(rng.integers(12, width - 12)), int(rng.integers(12, height - 12))
        if any(abs(x - px) < 60 and abs(y - py) < 60 for px, py, _ in placed):
            continue
        dark = len(placed) % 2 == 0
        cv2.circle(luma, (x, y), int(rng.integers(1, 3)), 15 if dark else 245, -1)
        placed.append((x, y, dark))
    return placed


def test_a_short_hair_is_found():
    luma = print_like()
    cv2.line(luma, (200, 200), (203, 204), 20, 1)

    mask = mask_of(as_image(luma))

    assert mask[200, 200] and mask[204, 203]


def test_eyes_and_buttons_are_kept():
    luma = print_like()
    for x in range(60, 560, 80):  # pupils and buttons, twice the largest speck across
        cv2.circle(luma, (x, 200), 6, 25, -1)
    cv2.circle(luma, (300, 320), 8, 40, -1)  # an eye, a catchlight in it
    cv2.circle(luma, (302, 318), 1, 250, -1)

    assert not mask_of(as_image(luma)).any()


@pytest.mark.parametrize("grain", [2.0, 8.0, 16.0])
def test_a_clean_grainy_print_gives_almost_nothing(grain):
    mask = mask_of(as_image(print_like(grain=grain, seed=int(grain))))

    assert mask.mean() < 0.0005


def test_dust_on_a_grainy_print_is_still_found():
    luma = print_like(grain=8.0)
    specks = dust(luma, 12, seed=4)

    mask = mask_of(as_image(luma))

    assert sum(mask[y, x] for x, y, _ in specks) >= 10


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I;16"])
def test_any_mode_is_measured_on_its_luma(mode):
    luma = print_like()
    specks = dust(luma, 6)
    image = as_image(luma)
    converted = image.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(image).astype(np.uint16) * 257)

    mask = mask_of(converted)

    if mode != "I;16":  # Pillow clips 16-bit to 8-bit luma: the specks stay at the extremes, found or not
        assert all(mask[y, x] for x, y, _ in specks)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (3, 3), (1, 500), (500, 1), (3, 2000), (2000, 3), (7, 900)])
def test_tiny_and_extreme_shapes(size):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8), "L")

    mask_of(image)


def test_a_speck_in_a_thin_strip_is_found():
    strip = np.full((9, 900), 140, np.float32)
    strip[4, 450] = 10

    assert mask_of(as_image(strip))[4, 450]
