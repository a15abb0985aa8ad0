"""Downscaled working copies for the measurements (grey detection, colourfulness, SSIM).

The measures are statistics over pixels; computing them on a few hundred thousand pixels instead of
ten million changes them little and makes them cheap enough to run in a sensor or a check.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image


def fit_within(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio whose longer side is at most ``max_side`` (never upscales)."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    factor = max_side / longest
    return max(1, round(width * factor)), max(1, round(height * factor))


def rgb_array(image: Image.Image, max_side: int | None = None) -> np.ndarray:
    """``image`` as an ``H×W×3`` uint8 array, box-averaged down so its longer side is at most ``max_side``.

    Box averaging (rather than nearest) lets the averaging cancel sensor and JPEG chroma noise, which
    would otherwise read as colour in a grey scan.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max_side is not None:
        target = fit_within(image.size, max_side)
        if target != image.size:
            image = image.resize(target, Image.Resampling.BOX)
    return np.asarray(image)


def area_scale(size: tuple[int, int], max_pixels: int) -> float:
    """The linear factor (≤ 1) that brings an image of ``size`` to at most ``max_pixels`` pixels."""
    pixels = size[0] * size[1]
    if pixels <= max_pixels:
        return 1.0
    return math.sqrt(max_pixels / pixels)


def resize_plane(plane: np.ndarray, scale: float) -> np.ndarray:
    """Area-average a 2-D float plane by ``scale`` (≤ 1); ``scale == 1`` returns it unchanged."""
    if scale >= 1.0:
        return plane
    height, width = plane.shape
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(plane, target, interpolation=cv2.INTER_AREA)
