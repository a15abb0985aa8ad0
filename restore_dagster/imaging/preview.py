"""Small inline JPEG previews (data URIs) for Dagster asset metadata and the gallery's pages.

Metadata is stored in Dagster's event log with every materialisation, so a preview must stay
small: the whole URI, not just the JPEG, is kept under ``max_bytes``.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from .sampling import fit_within

_PREFIX = "data:image/jpeg;base64,"
_QUALITIES = (80, 70, 60, 50, 40, 30)
_SHRINK = 0.75
# Between the two halves of a before/after preview, so the eye sees where one picture ends.
_GAP = 2
_GAP_COLOUR = (255, 255, 255)


def preview_data_uri(image: Image.Image, max_side: int = 256, max_bytes: int = 40_000) -> str:
    """``image`` as a JPEG data URI at most ``max_side`` pixels on its long side and ``max_bytes`` long."""
    return _fitting_uri(image, max_side, max_bytes)


def before_after_preview(before: Image.Image, after: Image.Image, max_side: int = 256, max_bytes: int = 40_000) -> str:
    """``before | after`` side by side at one height, as a JPEG data URI like :func:`preview_data_uri`.

    The restored picture is usually 4–8× the scan's size; both are scaled to the same height so
    they compare at a glance, each straight to its final size (no full-size intermediate).
    """
    for side in (before, after):
        if side.width == 0 or side.height == 0:
            raise ValueError(f"before_after_preview: cannot show a zero-size image ({side.width}×{side.height})")
    # The one height at which both halves and the gap fit in max_side, never above the taller input.
    aspect_sum = before.width / before.height + after.width / after.height
    height = max(1, min(max_side, max(before.height, after.height), int((max_side - _GAP) / aspect_sum)))
    halves = [
        _rgb(side).resize((max(1, round(side.width * height / side.height)), height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for side in (before, after)
    ]
    sheet = Image.new("RGB", (halves[0].width + _GAP + halves[1].width, height), _GAP_COLOUR)
    sheet.paste(halves[0], (0, 0))
    sheet.paste(halves[1], (halves[0].width + _GAP, 0))
    return _fitting_uri(sheet, max_side, max_bytes)


def _fitting_uri(image: Image.Image, max_side: int, max_bytes: int) -> str:
    """Lower the quality, then the size, until the URI fits; a 16-pixel picture always does."""
    if max_side < 1:
        raise ValueError(f"preview: max_side must be at least 1, got {max_side}")
    if max_bytes < 1_000:
        raise ValueError(f"preview: max_bytes must be at least 1,000 to hold any JPEG, got {max_bytes}")
    image = _rgb(image)
    side = max_side
    while True:
        # A picture already small enough is saved from a copy: the caller's object may be being saved
        # on another thread (a stage file), and Image.save keeps its options on the object.
        thumbnail = image.resize(fit_within(image.size, side), Image.Resampling.LANCZOS, reducing_gap=3.0) if max(image.size) > side else image.copy()
        for quality in _QUALITIES:
            uri = _PREFIX + base64.b64encode(_jpeg(thumbnail, quality)).decode("ascii")
            if len(uri) <= max_bytes:
                return uri
        if side <= 16:
            raise ValueError(f"preview: even a {side}-pixel JPEG exceeds {max_bytes:,} bytes")
        side = max(16, int(side * _SHRINK))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode in ("RGB", "L") else image.convert("RGB")
