"""Make a clean photograph look like a faded black-and-white print photographed with a phone.

For the demo album and for tests of the whole pipeline: the restoration should have something to
restore. The damage is applied in the order it happens to a real print: film grain at exposure;
fading, dust and scratches over the decades; then the phone: toned paper under uneven light
(vignetting), a slightly soft focus, and JPEG compression, sometimes twice (sent on by messenger).
Everything is drawn in luminance and toned through one paper/ink pair at the end, so the result is
a *toned monochrome*: grey to :func:`~restore_dagster.imaging.is_grey_image`.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

# Aged silver-gelatin paper and its warm-brown image tone (sepia-ish), as 0–1 RGB.
_PAPER = np.array([0.96, 0.90, 0.77], dtype=np.float32)
_INK = np.array([0.15, 0.10, 0.07], dtype=np.float32)


def age_photo(image: Image.Image, seed: int, strength: float = 1.0) -> Image.Image:
    """An aged, RGB copy of ``image``; the same ``seed`` and ``strength`` always give the same pixels.

    ``strength`` from 0 (greyscale and a light JPEG only) to 1 (a well-worn print).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"age_photo: strength must be between 0 and 1, got {strength}")
    if image.width == 0 or image.height == 0:
        raise ValueError(f"age_photo: cannot age a zero-size image ({image.width}×{image.height})")
    rng = np.random.default_rng(seed)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    # Specks, blur and grain are sized for a 1000-pixel picture and scale with the picture.
    scale = max(grey.shape) / 1000.0
    grey = _grain(grey, rng, strength, scale)
    grey = _fade(grey, rng, strength)
    grey = _dust_and_scratches(grey, rng, strength, scale)
    grey = _vignette(grey, strength)
    grey = cv2.GaussianBlur(grey, (0, 0), 0.3 + 0.9 * strength * max(scale, 0.5))
    toned = _tone(np.clip(grey, 0.0, 1.0), strength)
    return _jpeg_damage(Image.fromarray(np.rint(toned * 255.0).astype(np.uint8), "RGB"), rng, strength)


def _grain(grey: np.ndarray, rng: np.random.Generator, strength: float, scale: float) -> np.ndarray:
    """Film grain: clumped noise, strongest in the midtones as silver grain is."""
    noise = rng.normal(0.0, 1.0, grey.shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), max(0.5, 0.7 * scale))
    noise /= max(float(noise.std()), 1e-6)
    midtones = 4.0 * grey * (1.0 - grey)
    return grey + noise * (0.05 * strength) * (0.4 + 0.6 * midtones)


def _fade(grey: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Lower contrast, lifted blacks, dimmer whites, and a blotchy unevenness of the fading."""
    contrast = 1.0 - 0.35 * strength
    faded = 0.5 + (grey - 0.5) * contrast
    faded = 0.07 * strength + faded * (1.0 - 0.13 * strength)
    blotches = rng.normal(0.0, 1.0, (5, 5)).astype(np.float32)
    blotches = cv2.resize(blotches, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_CUBIC)
    return faded + blotches * (0.03 * strength)


def _dust_and_scratches(grey: np.ndarray, rng: np.random.Generator, strength: float, scale: float) -> np.ndarray:
    """White specks (emulsion lost), dark specks (dust on the glass), and a few long thin scratches."""
    height, width = grey.shape
    marked = grey.copy()
    specks = int(round((12 + 20 * rng.random()) * strength * max(1.0, scale * scale)))
    for _ in range(specks):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = max(1, int(round((0.6 + 2.0 * rng.random()) * max(scale, 0.5))))
        shade = 0.97 if rng.random() < 0.7 else 0.08
        cv2.circle(marked, centre, radius, float(shade), thickness=-1, lineType=cv2.LINE_AA)
    scratches = int(round((1 + 2 * rng.random()) * strength))
    for _ in range(scratches):
        x = int(rng.integers(0, width))
        drift = int(rng.integers(-width // 20 - 1, width // 20 + 1))
        top, bottom = sorted(int(value) for value in rng.integers(0, height, 2))
        bottom = max(bottom, top + height // 4)
        cv2.line(marked, (x, top), (x + drift, bottom), 0.9, thickness=max(1, int(round(scale))), lineType=cv2.LINE_AA)
    # Marks sit on the print partly transparent: dust is not opaque black, scratches not paper-white.
    return grey + (marked - grey) * 0.8


def _vignette(grey: np.ndarray, strength: float) -> np.ndarray:
    """Darker corners: the phone's lens and a lamp that lights the middle of the print best."""
    height, width = grey.shape
    rows = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    columns = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    radius_squared = (rows * rows + columns * columns) / 2.0
    return grey * (1.0 - 0.35 * strength * radius_squared)


def _tone(grey: np.ndarray, strength: float) -> np.ndarray:
    """Map grey onto paper and ink: neutral black and white at strength 0, sepia at 1."""
    paper = 1.0 + (_PAPER - 1.0) * strength
    ink = _INK * strength
    return ink + grey[..., None] * (paper - ink)


def _jpeg_damage(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """One JPEG at a quality falling with strength, and at full strength often a second, harsher one."""
    passes = 1 + int(rng.random() < 0.6 * strength)
    quality = int(round(88 - 48 * strength))
    for _ in range(passes):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        with Image.open(io.BytesIO(buffer.getvalue())) as reopened:
            image = reopened.convert("RGB")
        quality = max(20, quality - 10)
    return image
