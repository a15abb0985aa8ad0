"""The home-screen icon, drawn with Pillow: a photo print with a sun and hills on a warm background.

Drawn (and cached) per size rather than shipped as binaries; the drawing keeps to the middle 80 %
so a "maskable" crop to a circle or a squircle loses nothing.
"""
from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

BACKGROUND = (91, 70, 54)
PRINT = (246, 241, 231)
SKY = (128, 170, 196)
HILL = (108, 140, 90)
SUN = (240, 196, 90)


@functools.lru_cache(maxsize=8)
def icon_png(size: int) -> bytes:
    scale = 4  # draw large and shrink: smooth edges without an anti-aliasing library
    s = size * scale
    image = Image.new("RGB", (s, s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    u = s / 100
    draw.rounded_rectangle([22 * u, 24 * u, 78 * u, 76 * u], radius=3 * u, fill=PRINT)
    draw.rectangle([27 * u, 29 * u, 73 * u, 64 * u], fill=SKY)
    draw.ellipse([56 * u, 33 * u, 66 * u, 43 * u], fill=SUN)
    draw.polygon([(27 * u, 64 * u), (41 * u, 46 * u), (52 * u, 58 * u), (60 * u, 50 * u), (73 * u, 64 * u)], fill=HILL)
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
