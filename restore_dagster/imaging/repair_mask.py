"""The repair mask: the owner's corrections, the measures of a mask, and its preview over the scan.

A mask here is a boolean ``H×W`` array (True = a defect to paint out); on disk and for the models it
is a PIL "L" image with 0 and 255.

The owner corrects what the detectors found with a PNG of the scan's size (another size is resized
nearest-neighbour to it), greyscale or with alpha:

- white (value >= 192, alpha > 0): "repair here", added to the detected mask;
- black (value <= 63, alpha > 0): "never repair here", removed from the detected mask;
- anything else (mid-grey 128, or fully transparent): left to the detectors.

The bands are wide so a brush drawn with anti-aliasing, or a file saved as JPEG-ish PNG by a phone
editor, still means what the person painted; the middle third means nothing on purpose, so the web
brush can save an untouched canvas as grey 128 (or transparent) without changing anything.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .decode import _DECODE_ERRORS, DEFAULT_MAX_PIXELS, _open, _sixteen_bit_to_l
from .errors import ImageError, ImageTooLarge
from .sampling import fit_within

ADD_MIN = 192  # a correction value at or above this (and not transparent) adds to the mask
REMOVE_MAX = 63  # at or below this (and not transparent) removes from it
_OVERLAY = (255, 0, 64)  # a red that no sepia, grey or skin tone in the scan is
_OVERLAY_OPACITY = 0.65


def read_corrections(path: str | Path, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, np.ndarray]:
    """``(add, remove)`` boolean masks of ``size`` (width, height) from the owner's corrections PNG.

    A file that is not a readable PNG raises ``ImageError`` naming it: a correction the person made
    is never silently ignored.
    """
    path = Path(path)
    with path.open("rb") as stream:
        image = _open(path, stream, max_pixels)
        if image.format != "PNG":
            raise ImageError(f"{path}: repair-mask corrections must be a PNG, not {image.format}")
        try:
            image.load()
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(f"{path}: {error}") from error
        except _DECODE_ERRORS as error:
            raise ImageError(f"{path}: corrupt image data ({error})") from error
        add, remove = correction_bands(image, path)
    if add.shape != (size[1], size[0]):
        # Nearest: the three bands must stay the three bands, never blend into a new meaning.
        add, remove = (np.asarray(Image.fromarray(band).resize(size, Image.Resampling.NEAREST)) for band in (add, remove))
    return add, remove


def correction_bands(image: Image.Image, path: str | Path = "the correction") -> tuple[np.ndarray, np.ndarray]:
    """``(add, remove)`` boolean masks of a corrections image at its own size: white and black where
    not transparent; everything else is left to the detectors. ``path`` names it in errors."""
    value, alpha = _value_and_alpha(image, Path(path))
    value_px, visible = np.asarray(value), np.asarray(alpha) > 0
    return (value_px >= ADD_MIN) & visible, (value_px <= REMOVE_MAX) & visible


def _value_and_alpha(image: Image.Image, path: Path) -> tuple[Image.Image, Image.Image]:
    if image.mode.startswith("I;16") or image.mode == "I":
        return _sixteen_bit_to_l(image), Image.new("L", image.size, 255)
    try:
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            return rgba.convert("L"), rgba.getchannel("A")
        return image.convert("L"), Image.new("L", image.size, 255)
    except ValueError as error:
        raise ImageError(f"{path}: unsupported pixel mode {image.mode} ({error})") from error


def as_mask(image: Image.Image) -> np.ndarray:
    """A mask image (any value > 0 = defect, as the models use it) as a boolean array."""
    return np.asarray(image.convert("L")) > 0


def mask_image(mask: np.ndarray) -> Image.Image:
    """A boolean array as the "L" 0/255 image the stage writes and the inpainter reads."""
    return Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L")


def coverage_percent(mask: np.ndarray) -> float:
    """Percentage of the pixels the mask marks."""
    return 100.0 * float(np.count_nonzero(mask)) / max(1, mask.size)


def count_regions(mask: np.ndarray) -> int:
    """Separate defects in the mask: 8-connected regions (a diagonal hair is one region, not many)."""
    if not mask.any():
        return 0
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(count) - 1  # label 0 is the background


def mask_overlay(image: Image.Image, mask: np.ndarray, max_side: int = 512) -> Image.Image:
    """The scan at preview size with the mask painted over it in translucent red.

    The mask is reduced with a maximum, not an average, so a one-pixel scratch on a 6000-pixel scan
    still shows on a 512-pixel preview.
    """
    target = fit_within(image.size, max_side)
    small = np.asarray(image.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)).astype(np.float32)
    marks = max_reduce(mask, target)
    colour = np.array(_OVERLAY, dtype=np.float32)
    small[marks] = small[marks] * (1 - _OVERLAY_OPACITY) + colour * _OVERLAY_OPACITY
    return Image.fromarray(np.clip(np.rint(small), 0, 255).astype(np.uint8), "RGB")


def max_reduce(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``mask`` reduced to ``size`` (width, height): a reduced pixel is marked when any pixel it covers is."""
    width, height = size
    if (width, height) == (mask.shape[1], mask.shape[0]):
        return mask
    # Rows and columns of the full mask that fall into each preview pixel; any marked one marks it.
    rows = np.minimum((np.arange(mask.shape[0]) * height) // mask.shape[0], height - 1)
    cols = np.minimum((np.arange(mask.shape[1]) * width) // mask.shape[1], width - 1)
    reduced = np.zeros((height, width), dtype=bool)
    ys, xs = np.nonzero(mask)
    reduced[rows[ys], cols[xs]] = True
    return reduced
