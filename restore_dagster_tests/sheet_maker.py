"""Small flatbed sheets for the tests: prints laid on a near-white lid, corners known.

Like a scanner's sheet: each print slightly rotated, casting a one-pixel shadow on the lid along two
sides, the lid noisy; prints may have a white paper border a few levels darker than the lid, and be
dark or pale pictures. Corners are in pixel-edge coordinates (the image spans [0, width] × [0, height]).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from restore_dagster_tests.imaging.helpers import fixture_photo

LID = (250.0, 250.0, 248.0)


@dataclass
class LaidPrint:
    picture: Image.Image  # the print as it was before it was laid down (border included)
    centre: tuple[float, float]
    angle_degrees: float


def bordered(picture: Image.Image, border: int, paper: float = 238.0) -> Image.Image:
    canvas = Image.new("RGB", (picture.width + 2 * border, picture.height + 2 * border), (int(paper) + 1, int(paper), int(paper) - 3))
    canvas.paste(picture, (border, border))
    return canvas


def photo(name: str, scale: float = 1.0, gain: float = 1.0, lift: float = 0.0) -> Image.Image:
    """A fixture photograph resized by ``scale``, its levels as ``lift + gain * value`` (dark or pale prints)."""
    image = fixture_photo(name)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    pixels = np.asarray(image, np.float32) * gain + lift
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_sheet(size: tuple[int, int], prints: list[LaidPrint], seed: int = 0) -> tuple[Image.Image, list[np.ndarray]]:
    """The sheet and, per print, its true corners TL, TR, BR, BL."""
    width, height = size
    rng = np.random.default_rng(seed)
    sheet = np.empty((height, width, 3), np.float32)
    sheet[:] = LID
    truths = []
    for laid in prints:
        pw, ph = laid.picture.size
        angle = np.deg2rad(laid.angle_degrees)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centre = np.array(laid.centre)
        rectangle = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64) - [pw / 2, ph / 2]
        truths.append(rectangle @ rotation.T + centre)
        # Pixel centres: source index + 0.5 is the edge coordinate, destination index = edge − 0.5.
        offset = centre - rotation @ [pw / 2, ph / 2] + rotation @ [0.5, 0.5] - 0.5
        matrix = np.hstack([rotation, offset[:, None]])
        pixels = np.asarray(laid.picture, np.float32)
        warped = cv2.warpAffine(pixels, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        coverage = cv2.warpAffine(np.ones((ph, pw), np.float32), matrix, size, flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        shadow = cv2.warpAffine(coverage, np.float32([[1, 0, 1.2], [0, 1, 1.2]]), size)
        sheet -= (np.clip(shadow - coverage, 0, 1) * 25)[..., None]
        sheet = sheet * (1 - coverage[..., None]) + warped * coverage[..., None]
    sheet += rng.normal(0, 1.5, sheet.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(sheet), 0, 255).astype(np.uint8)), truths


def four_print_sheet(seed: int = 0) -> tuple[Image.Image, list[LaidPrint], list[np.ndarray]]:
    """Two rows of two: a rotated colour print, a white-bordered one 12 pixels from it, a dark night
    print and a pale, washed-out one; listed in reading order."""
    prints = [
        LaidPrint(photo("chelsea_150x100.png", 1.6), (150, 110), 3.0),
        LaidPrint(bordered(photo("astronaut_128x128.png", 1.3), 14), (384, 112), -2.0),
        LaidPrint(photo("coffee_150x100.png", 1.5, gain=0.35), (140, 330), -4.0),
        LaidPrint(photo("chelsea_150x100.png", 1.4, gain=0.35, lift=160), (400, 335), 1.5),
    ]
    sheet, truths = make_sheet((560, 460), prints, seed)
    return sheet, prints, truths
