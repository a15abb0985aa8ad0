"""The owner's manual framing of a scan: four corners (or a crop) and a turn by 90° steps.

Corners are stored as **fractions of the upright original's width and height** (after EXIF
orientation, before any framing or turn): ``(0, 0)`` is the picture's top-left edge, ``(1, 1)`` its
bottom-right. Fractions, not pixels, because the same photo is seen at many sizes: the web editor
draws over a 2048-pixel screen copy, a replaced original may be a bigger scan of the same print,
and the decoder's size can change (a HEIC decoder, a pixel limit); a fraction means the same place
on the print in all of them. Upright, because that is the picture the owner looks at when placing
them, and a turn chosen later then never moves the corners.

A plain library: no Dagster, no settings store.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

from PIL import Image

from restore_dagster.imaging.errors import ImageError
from restore_dagster.imaging.perspective import order_corners, side_lengths, warp_quad

ROTATIONS = (0, 90, 180, 270)  # clockwise, as the owner sees the turned picture
# A corner may lie a little outside the picture: a print whose corner was cut off by the camera is
# still framed at its true shape (warp_quad replicates the edge there). Far outside is a mistake,
# most often pixels typed where fractions were meant.
MARGIN = 0.05
DIGITS = 5  # 1/100000 of the side: well under a pixel of any scan, and a stable fingerprint
_CHECK_SCALE = 10_000  # corners are checked for convexity on a 10000×10000 picture
# A framed print smaller than 1/2000 of the picture is a slip of the finger, not a print (a 3.5×5"
# print on an A3 flatbed sheet is about 1/7 of it). framing.js refuses the same before sending.
MIN_AREA = 0.0005

FractionCorners = tuple[tuple[float, float], ...]


def check_corners(corners: Iterable[Sequence[float]]) -> FractionCorners:
    """The four corners as fractions, ordered top-left, top-right, bottom-right, bottom-left and
    rounded; ``ValueError`` saying why when they are not four points on the picture forming a
    convex quadrilateral with some area."""
    try:
        points = [(float(x), float(y)) for x, y in corners]
    except (TypeError, ValueError):
        raise ValueError(f"corners must be four (x, y) pairs of numbers, not {corners!r}") from None
    if len(points) != 4 or not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"corners must be four finite (x, y) pairs, not {points!r}")
    outside = [p for p in points if not all(-MARGIN <= v <= 1 + MARGIN for v in p)]
    if outside:
        raise ValueError(
            f"corner {outside[0][0]:g},{outside[0][1]:g} is outside the picture: corners are fractions of its "
            f"width and height, from 0 (left, top) to 1 (right, bottom)")
    try:
        ordered = order_corners([(x * _CHECK_SCALE, y * _CHECK_SCALE) for x, y in points])
    except ValueError as exc:
        # order_corners speaks of the scaled points; say it in the owner's terms.
        reason = "they enclose almost no area" if "area" in str(exc) else "they do not form a convex quadrilateral"
        raise ValueError(f"corners {_text(points)}: {reason}") from None
    result = tuple((round(float(x) / _CHECK_SCALE, DIGITS), round(float(y) / _CHECK_SCALE, DIGITS)) for x, y in ordered)
    area = 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(result, result[1:] + result[:1])))
    if area < MIN_AREA:
        raise ValueError(f"corners {_text(points)}: they enclose almost no area ({area:.2%} of the picture)")
    return result


def parse_corners(text: str) -> FractionCorners:
    """``"x,y x,y x,y x,y"`` (as the web editor sends them) → checked corners; ``ValueError`` says why not."""
    try:
        points = [tuple(float(v) for v in pair.split(",")) for pair in text.split()]
    except ValueError:
        points = []
    if len(points) != 4 or any(len(p) != 2 for p in points):
        raise ValueError(f"corners must be four x,y pairs separated by spaces, such as "
                         f"'0.1,0.05 0.9,0.1 0.95,0.9 0.05,0.95', not {text[:80]!r}")
    return check_corners(points)


def crop_corners(left: float, top: float, right: float, bottom: float) -> FractionCorners:
    """A crop rectangle (fractions) as the four corners framing it."""
    if not (left < right and top < bottom):
        raise ValueError(f"crop {left:g},{top:g},{right:g},{bottom:g}: left must be less than right and top less than bottom")
    return check_corners([(left, top), (right, top), (right, bottom), (left, bottom)])


def corners_in_pixels(corners: FractionCorners, size: tuple[int, int]) -> list[tuple[float, float]]:
    """Fractions → pixel positions on an upright picture of ``size``, on the pixels' outline (0 is
    the left edge of the first pixel, ``width`` the right edge of the last), as warp_quad takes them."""
    width, height = size
    return [(x * width, y * height) for x, y in corners]


def frame(image: Image.Image, corners: FractionCorners) -> Image.Image:
    """The framed print, straightened onto a rectangle of its mean side lengths in pixels;
    ImageError when that would be under 2 pixels a side (corners set on a much bigger picture)."""
    pixels = corners_in_pixels(corners, image.size)
    width, height = (round(side) for side in side_lengths(pixels))
    if min(width, height) < 2:
        raise ImageError(f"the framed print would be {width}×{height} pixels of this {image.width}×{image.height} "
                         f"scan: its corners are too close together; frame it again or reset the framing")
    return warp_quad(image, pixels, (width, height))


def rotate(image: Image.Image, rotation: int) -> Image.Image:
    """``image`` turned ``rotation`` degrees clockwise (0, 90, 180 or 270); lossless."""
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {ROTATIONS} degrees, not {rotation!r}")
    # Pillow's ROTATE_* turn counter-clockwise.
    turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return image.transpose(turns[rotation]) if rotation else image


def _text(points) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points)
