"""What the owner's "Fix a colour" panel needs: the region a tap gives, before anything is stored.

The region is segmented exactly as ``colorized`` will replay it: on the working-size luminance of the
photo's ``upscaled`` image (the colouriser's input), so what the owner sees outlined is what gets
coloured. That luminance is kept for the last few photos asked about, so trying a few taps and
tolerances on one photo decodes its 4K picture once.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from restore_dagster.colour_fixes import fixes_json
from restore_dagster.config import Layout
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.imaging import decode_stage_file
from restore_dagster.lineage import file_signature, stage_image_file, touchup_path

# Named for the owner in the panel's language (i18n "colour_<name>"); any other colour is one tap on
# the native colour input away.
PALETTE = {
    "red": "#b3262e", "rose": "#d98a94", "orange": "#d9822b", "yellow": "#e3c44a", "green": "#4f7d3a",
    "teal": "#2f7f7a", "sky": "#7fb2e0", "blue": "#2b4f9e", "purple": "#6b3f8f", "brown": "#7a5232",
    "skin": "#e0b49a", "grey": "#808080",
}
_CACHED = 4  # photos whose luminance is kept: a few MB each at 2048 pixels
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def segmentation_source(layout: Layout, key: str) -> Path:
    """The picture fixes are segmented on: ``upscaled``'s output, the colouriser's input."""
    return stage_image_file(layout, "upscaled", key)


def shown_picture(layout: Layout, key: str) -> Path:
    """The picture the owner taps on: ``colorized``'s output (the fixes made so far included)."""
    return stage_image_file(layout, "colorized", key)


def luminance(layout: Layout, key: str) -> np.ndarray:
    """The working luminance of ``key``'s upscaled picture; FileNotFoundError before there is one,
    ImageError when it cannot be read."""
    path = segmentation_source(layout, key)
    signature = file_signature(path)
    if signature is None:
        raise FileNotFoundError(path)
    cache_key = (str(path), signature)
    with _cache_lock:
        if cache_key in _cache:
            _cache.move_to_end(cache_key)
            return _cache[cache_key]
    found = cf.working_luminance(decode_stage_file(path))
    found.setflags(write=False)  # shared between requests
    with _cache_lock:
        _cache[cache_key] = found
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return found


def region_png(mask: np.ndarray) -> bytes:
    """The region as the panel draws it: white where it is, transparent elsewhere (greyscale + alpha)."""
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    image = Image.merge("LA", (Image.new("L", (mask.shape[1], mask.shape[0]), 255), Image.fromarray(alpha, "L")))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def colour_fix_panel(layout: Layout, key: str | None) -> dict:
    """What the panel shows: whether a photo can be fixed yet, its fixes, the picture's version."""
    if key is None:
        return {"ready": False, "fixes": [], "error": "", "hand_coloured": False, "version": "", "palette": PALETTE,
                "tolerance": cf.DEFAULT_TOLERANCE, "tolerance_range": cf.TOLERANCE_RANGE}
    picture, source = shown_picture(layout, key), segmentation_source(layout, key)
    fixes, error = fixes_json(layout, key)
    version = "-".join(file_signature(path) or "0" for path in (picture, source)).replace(":", "")
    return {
        "ready": picture.is_file() and source.is_file(),
        "fixes": fixes,
        "error": error,
        "hand_coloured": touchup_path(layout, "colorized", key) is not None,
        "version": version,
        "palette": PALETTE,
        "tolerance": cf.DEFAULT_TOLERANCE,
        "tolerance_range": cf.TOLERANCE_RANGE,
    }
