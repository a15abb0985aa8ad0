"""The speck detector: dust and hairs found where they were put; eyes, buttons, stars and grain kept."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from restore_dagster.imaging.specks import detect_specks, speck_window


def _print(size=(800, 600), grain=4.0, seed=0) -> np.ndarray:
    """A smooth photo-like grey picture with film grain, as float32 0..255."""
    width, height = size
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    picture = 120 + 50 * np.sin(cols / 90) + 40 * np.cos(rows / 70)
    return picture + np.random.default_rng(seed).normal(0, grain, picture.shape).astype(np.float32)


def _image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def _disc(pixels: np.ndarray, centre, radius: float, value: float) -> None:
    rows, cols = np.ogrid[: pixels.shape[0], : pixels.shape[1]]
    pixels[(rows - centre[1]) ** 2 + (cols - centre[0]) ** 2 <= radius**2] = value


def _mask(image: Image.Image) -> np.ndarray:
    mask = detect_specks(image)
    assert mask.mode == "L" and mask.size == image.size
    assert set(np.unique(np.asarray(mask))) <= {0, 255}
    return np.asarray(mask) > 0


def test_dust_and_a_hair_are_found_where_they_were_put():
    pixels = _print()
    specks = [((100, 100), 1.5, 20), ((400, 300), 2.5, 235), ((650, 120), 1, 10), ((200, 500), 3, 250), ((700, 520), 2, 30)]
    for centre, radius, value in specks:
        _disc(pixels, centre, radius, value)
    image = _image(pixels)
    ImageDraw.Draw(image).line([(300, 80), (320, 95), (345, 100)], fill=15, width=2)  # a short dark hair
    mask = _mask(image)
    for (x, y), _, _ in specks:
        assert mask[y, x], f"speck at {(x, y)} missed"
    assert mask[95, 320], "hair missed"
    assert mask.mean() < 0.002  # and nothing much else


def test_clean_grainy_prints_give_nothing():
    for grain in (2.0, 6.0, 12.0):
        assert _mask(_image(_print(grain=grain, seed=int(grain)))).sum() == 0, f"grain {grain}"


def test_eyes_buttons_and_star_fields_are_kept():
    pixels = _print(grain=3)
    for x in (200, 260):  # two eyes: dark pupils (radius 6) with bright catchlights
        _disc(pixels, (x, 200), 9, 200)
        _disc(pixels, (x, 200), 6, 25)
        _disc(pixels, (x - 2, 198), 1.5, 245)
    for y in (350, 390, 430):  # coat buttons: dark discs with a highlight, larger than dust
        _disc(pixels, (500, y), 8, 35)
        _disc(pixels, (497, y - 3), 2, 210)
    sky = np.full((160, 240), 20.0) + np.random.default_rng(3).normal(0, 2, (160, 240))
    rng = np.random.default_rng(4)
    for _ in range(120):  # a star field
        _disc(sky, (rng.integers(2, 238), rng.integers(2, 158)), rng.uniform(0.5, 1.5), 230)
    pixels[420:580, 20:260] = sky
    mask = _mask(_image(pixels))
    assert not mask[185:215, 185:275].any(), "an eye was marked"
    assert not mask[330:450, 480:520].any(), "a button was marked"
    assert mask[420:580, 20:260].mean() < 0.01, "the star field was marked"


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "1"])
def test_any_mode(mode):
    pixels = _print((200, 150))
    _disc(pixels, (100, 75), 1.5, 10)
    image = _image(pixels).convert(mode) if mode != "I;16" else _image(pixels).convert("I").convert("I;16")
    mask = detect_specks(image)
    assert mask.size == (200, 150) and mask.mode == "L"
    if mode not in ("1", "P", "I;16"):
        assert np.asarray(mask)[75, 100] == 255


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (2000, 4), (5, 3000)])
def test_tiny_and_extreme_shapes(size):
    assert detect_specks(Image.new("L", size, 128)).size == size
    with pytest.raises(ValueError, match="empty"):
        detect_specks(Image.new("L", (0, 5)))


def test_the_window_grows_with_the_scan():
    assert speck_window((100, 80)) == 9
    assert speck_window((2000, 1500)) == 9
    assert speck_window((6000, 4000)) == 21


def test_a_large_scan_is_quick_enough_to_run_per_photo():
    """Not a timing assertion on the hardware: it guards against an accidental quadratic step."""
    image = _image(_print((3000, 2000), seed=5))
    started = time.perf_counter()
    detect_specks(image)
    assert time.perf_counter() - started < 60
