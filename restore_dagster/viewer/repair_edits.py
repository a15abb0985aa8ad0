"""The owner's corrections of a photo's repair mask, as the web viewer's brush makes them.

The editor paints on a canvas of the scan's shape, at most ``EDITOR_SIDE`` pixels on its long side (a
phone cannot hold a 6000×4000 canvas), and uploads it as a PNG: white where the owner said "repair
here", black for "never repair here", transparent (or mid-grey) where nothing was painted. Here it is
checked, brought to the scan's size (nearest neighbour: the three bands never blend into a new
meaning) and merged over the correction already on file, so earlier corrections are kept unless
painted over. The result is written atomically as a greyscale PNG of the scan's size (255 repair, 0
never, 128 untouched): the format the ``repaired`` stage reads (see the repair contract, item 8).
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from restore_dagster.config import Layout
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging import ImageError
from restore_dagster.imaging.repair_mask import correction_bands, max_reduce, read_corrections
from restore_dagster.imaging.sampling import fit_within
from restore_dagster.lineage import file_signature, read_record, repair_mask_path, stage_file, touchup_path
from restore_dagster.optional_steps import steps_of
from restore_dagster.viewer.uploads import MIB, size_limit_text

log = logging.getLogger(__name__)

EDITOR_SIDE = 2048  # the brush canvas' long side: the screen rendition's, so the strokes match the picture
MAX_CORRECTION_BYTES = 16 * MIB  # a painted mask is mostly flat: a few hundred KiB even at 6000×4000
REPAIR, NEVER, UNTOUCHED = 255, 0, 128
_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX"}
_MERGING = threading.Lock()
OVERLAY = {"mask": (255, 0, 64, 150), "never": (0, 140, 255, 120)}  # red: will be repaired; blue: kept as is


class CorrectionRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class EditorGeometry:
    scan: tuple[int, int]  # the scan the stage repairs (width, height): the correction file's size
    editor: tuple[int, int]  # the brush canvas: the scan scaled to at most EDITOR_SIDE


def final_mask_path(layout: Layout, key: str) -> Path:
    """The mask the last ``repaired`` run used ("L", 0/255, the scan's size)."""
    return stage_file(layout, "repaired", key, "mask.png")


def geometry(layout: Layout, key: str) -> EditorGeometry | None:
    """The scan's size from ``scanned``'s record; None before the photo has been scanned."""
    record = read_record(layout, "scanned", key)
    meta = record.metadata if record else {}
    width, height = meta.get("width"), meta.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return None
    return EditorGeometry((width, height), fit_within((width, height), EDITOR_SIDE))


def _bands(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """``(repair, never)`` boolean arrays of ``image``: the contract's bands, transparent = untouched."""
    if image.mode not in _MODES:
        raise CorrectionRefused(422, f"a correction must be an 8-bit greyscale or colour PNG, not pixel mode {image.mode}")
    return correction_bands(image)


def _at_size(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (mask.shape[1], mask.shape[0]) == tuple(size):
        return mask
    return np.asarray(Image.fromarray(mask).resize(size, Image.Resampling.NEAREST))


def read_upload(data: bytes, geo: EditorGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The uploaded strokes as ``(repair, never)`` at the scan's size; CorrectionRefused says why not."""
    if len(data) > MAX_CORRECTION_BYTES:
        raise CorrectionRefused(413, f"the correction is larger than the limit of {size_limit_text(MAX_CORRECTION_BYTES)}")
    if not data:
        raise CorrectionRefused(422, "the correction is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=("PNG",))
    except UnidentifiedImageError:
        raise CorrectionRefused(415, "a correction must be a PNG image") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorrectionRefused(422, f"the PNG cannot be read ({exc})") from None
    with image:
        # Checked from the header, before a pixel is decoded: nothing of another size is ever unpacked.
        if image.size not in (geo.scan, geo.editor):
            sizes = " or ".join(f"{w}×{h}" for w, h in dict.fromkeys((geo.scan, geo.editor)))
            raise CorrectionRefused(
                422, f"the correction is {image.width}×{image.height} pixels but this scan needs {sizes}; reload the page and paint again")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorrectionRefused(422, f"the PNG cannot be read ({exc})") from None
        repair, never = _bands(image)
    if not (repair.any() or never.any()):
        raise CorrectionRefused(422, "nothing is painted: paint with the brush or the eraser first")
    return _at_size(repair, geo.scan), _at_size(never, geo.scan)


def read_existing(path: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """The correction on file as ``(repair, never)`` at ``size``; None when there is none.

    An unreadable file (cut short by hand, say) is logged and treated as none: the owner's new
    strokes replace it rather than being refused for a file they cannot fix from a phone.
    """
    try:
        return read_corrections(path, size)  # the stage's own reading: the same bands, the same resizing
    except FileNotFoundError:
        return None
    except (ImageError, OSError) as exc:
        log.warning("%s: cannot read the earlier repair-mask correction (%s); the new one replaces it", path, exc)
        return None


def merge(existing: tuple[np.ndarray, np.ndarray] | None, repair: np.ndarray, never: np.ndarray) -> np.ndarray:
    """The correction file's pixels: the new strokes over the earlier ones (each pixel one band)."""
    result = np.full(repair.shape, UNTOUCHED, dtype=np.uint8)
    if existing is not None:
        result[existing[0]] = REPAIR
        result[existing[1] & ~existing[0]] = NEVER  # a file cannot hold both; repair wins, as the stage adds first
    result[repair] = REPAIR
    result[never] = NEVER
    return result


def save_correction(layout: Layout, key: str, data: bytes, geo: EditorGeometry) -> Path:
    """Check the uploaded strokes, merge them over the earlier correction and write the file atomically."""
    repair, never = read_upload(data, geo)
    path = repair_mask_path(layout, key)
    with _MERGING:  # two saves at once (two tabs) must not each merge over the same old file and lose one
        merged = merge(read_existing(path, geo.scan), repair, never)
        buffer = io.BytesIO()
        Image.fromarray(merged, "L").save(buffer, "PNG")
        return atomic_write_bytes(path, buffer.getvalue())


def overlay_png(layout: Layout, key: str, geo: EditorGeometry) -> bytes | None:
    """What the brush is drawn over, at the editor's size: red where the last run repaired (and where
    a correction on file adds), blue where a correction keeps the scan as it is. None when the stage
    has not run and no correction is on file (then there is nothing to show)."""
    mask = _read_final_mask(final_mask_path(layout, key), geo.scan)
    corrections = read_existing(repair_mask_path(layout, key), geo.scan)
    if mask is None and corrections is None:
        return None
    will_repair = mask if mask is not None else np.zeros((geo.scan[1], geo.scan[0]), dtype=bool)
    never = np.zeros_like(will_repair)
    if corrections is not None:
        will_repair = (will_repair | corrections[0]) & ~corrections[1]
        never = corrections[1] & ~corrections[0]
    pixels = np.zeros((geo.editor[1], geo.editor[0], 4), dtype=np.uint8)
    pixels[max_reduce(never, geo.editor)] = OVERLAY["never"]
    pixels[max_reduce(will_repair, geo.editor)] = OVERLAY["mask"]  # a thin scratch must not vanish when reduced
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def _read_final_mask(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    try:
        with Image.open(path, formats=("PNG",)) as image:
            if image.size != tuple(size):  # an older scan's mask: the stage will redo it
                return None
            return np.asarray(image.convert("L")) > 0
    except FileNotFoundError:
        return None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        log.warning("%s: cannot read the repair mask (%s)", path, exc)
        return None


def repair_panel(layout: Layout, key: str | None) -> dict:
    """What the owner's Repair panel shows: the last run's result from ``repaired``'s record, the
    step still pending (weights missing, with the owner's fix), and what the editor needs."""
    if key is None:
        return {"geometry": None, "record": None, "pending": None, "has_correction": False, "has_overlay": False,
                "hand_repaired": False, "version": ""}
    record = read_record(layout, "repaired", key)
    meta = record.metadata if record else {}
    pending = next((step for step in steps_of(meta) if step.step == "repair"), None)
    correction, mask = repair_mask_path(layout, key), final_mask_path(layout, key)
    # Changes whenever what the overlay shows changes, so the browser never keeps an old one.
    version = "-".join(file_signature(path) or "0" for path in (mask, correction)).replace(":", "")
    return {
        "geometry": geometry(layout, key),
        "record": {
            "summary": str(meta.get("repair") or ""),
            "repaired": bool(meta.get("repaired")),
            "coverage": meta.get("coverage_percent"),
            "regions": meta.get("regions"),
            "device": str(meta.get("device") or ""),
            "seconds": meta.get("seconds"),
        } if record else None,
        "pending": pending,
        "has_correction": correction.is_file(),
        "has_overlay": correction.is_file() or mask.is_file(),  # else the overlay is a 404: not asked for
        # A hand-repaired image replaces the stage's output: corrections wait until it is removed.
        "hand_repaired": touchup_path(layout, "repaired", key) is not None,
        "version": version,
    }
