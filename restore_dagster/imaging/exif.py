"""EXIF in and out: the capture date, the block we keep, and the note of how a photo was restored.

The kept block travels from the scan to the published file, so it must describe the published
pixels: Orientation is 1 (the pixels are already upright), the pixel dimensions are the new ones,
and nothing that describes the source file's layout survives (TIFF strip offsets, the JPEG
thumbnail, which would show the unrestored, unrotated picture).
"""

from __future__ import annotations

import re
from datetime import datetime

from PIL import Image

ORIENTATION = 0x0112
IMAGE_DESCRIPTION = 0x010E
DATE_TIME = 0x0132
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATE_TIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
MAKER_NOTE = 0x927C
USER_COMMENT = 0x9286
PIXEL_X_DIMENSION = 0xA002
PIXEL_Y_DIMENSION = 0xA003

# A TIFF file's own IFD0 doubles as its EXIF; these tags describe that file's storage, not the photo.
_STORAGE_TAGS = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 292, 293,
        317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 513, 514, 530, 532,
        700,  # XMP: may carry its own orientation, which would rotate the upright pixels again
        33723,  # IPTC
        34377,  # Photoshop resources
        34675,  # ICC profile: travels separately, as Scan.icc_profile
        37724,  # Photoshop layer data
    }
)

# JPEG stores EXIF in one APP1 segment of at most 65,535 bytes including its 2-byte length field,
# so the block ("Exif\0\0" header included) is at most 65,533 bytes. Pillow refuses to write more.
JPEG_EXIF_LIMIT = 65_533


def capture_date(exif: Image.Exif) -> str | None:
    """ISO 8601 from DateTimeOriginal (with OffsetTimeOriginal when valid), else DateTime, else None.

    Cameras write blanks or zeros ("0000:00:00 00:00:00") when the clock was never set; those are
    treated as absent rather than as year 0.
    """
    exif_ifd = exif.get_ifd(EXIF_IFD)
    for raw, offset in ((exif_ifd.get(DATE_TIME_ORIGINAL), exif_ifd.get(OFFSET_TIME_ORIGINAL)), (exif.get(DATE_TIME), None)):
        parsed = _parse_exif_datetime(raw)
        if parsed is None:
            continue
        iso = parsed.isoformat()
        offset = _clean_text(offset)
        if offset and _is_utc_offset(offset):
            iso += offset
        return iso
    return None


def _parse_exif_datetime(raw: object) -> datetime | None:
    text = _clean_text(raw)
    if not text:
        return None
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d"):
        try:
            return datetime.strptime(text[:19] if "%H" in pattern else text[:10], pattern)
        except ValueError:
            continue
    return None


def _clean_text(raw: object) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    if not isinstance(raw, str):
        return ""
    return raw.strip("\x00 ").strip()


def _is_utc_offset(text: str) -> bool:
    return re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", text) is not None


def kept_exif_bytes(exif: Image.Exif) -> bytes:
    """The scan's EXIF as bytes for the published file: Orientation 1, storage tags dropped; b"" when nothing is left."""
    for tag in _STORAGE_TAGS & set(exif):
        del exif[tag]
    for pointer in (EXIF_IFD, GPS_IFD):
        if pointer in exif and not exif.get_ifd(pointer):
            del exif[pointer]
    if not set(exif) - {ORIENTATION}:
        return b""
    exif[ORIENTATION] = 1
    return exif.tobytes()


def restored_exif_bytes(exif_bytes: bytes, comment: str, size: tuple[int, int], limit: int | None = None) -> bytes:
    """``exif_bytes`` with the restoration ``comment`` and the new pixel dimensions written in.

    The comment goes to UserComment (the tag meant for free text, so it replaces any earlier one)
    and to ImageDescription only when that is empty: a caption the family typed stays. When the
    block exceeds ``limit`` (JPEG's APP1 size), the camera's MakerNote, an opaque and often large
    vendor blob, is dropped first; if that is not enough, only the comment and dates remain.
    """
    if not exif_bytes and not comment:
        return b""
    exif = Image.Exif()
    if exif_bytes:
        exif.load(exif_bytes)
    exif_ifd = dict(exif.get_ifd(EXIF_IFD))
    exif[ORIENTATION] = 1
    if comment:
        exif_ifd[USER_COMMENT] = _user_comment(comment, exif.endian)
        if not _clean_text(exif.get(IMAGE_DESCRIPTION)):
            exif[IMAGE_DESCRIPTION] = comment.encode("ascii", "replace").decode("ascii")
    if exif_ifd:
        exif_ifd[PIXEL_X_DIMENSION], exif_ifd[PIXEL_Y_DIMENSION] = size
        exif[EXIF_IFD] = exif_ifd
    data = exif.tobytes()
    if limit is None or len(data) <= limit:
        return data
    exif_ifd.pop(MAKER_NOTE, None)
    exif[EXIF_IFD] = exif_ifd
    data = exif.tobytes()
    if len(data) <= limit:
        return data
    minimal = Image.Exif()
    minimal[ORIENTATION] = 1
    minimal_ifd = {tag: exif_ifd[tag] for tag in (DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL) if tag in exif_ifd}
    if comment:
        minimal_ifd[USER_COMMENT] = _user_comment(comment, minimal.endian)
    if minimal_ifd:
        minimal[EXIF_IFD] = minimal_ifd
    return minimal.tobytes()


def _user_comment(comment: str, endian: str | None) -> bytes:
    """UserComment's encoding: an 8-byte character-code prefix, then the text (EXIF 2.3, 4.6.5)."""
    if comment.isascii():
        return b"ASCII\x00\x00\x00" + comment.encode("ascii")
    # UNICODE means UCS-2 in the byte order of the EXIF block; Pillow writes new blocks big-endian.
    return b"UNICODE\x00" + comment.encode("utf-16-le" if endian == "<" else "utf-16-be")


def read_user_comment(data: bytes, endian: str | None) -> str:
    """Decode a UserComment value; ``endian`` is the EXIF block's (``Image.Exif.endian``)."""
    prefix, text = data[:8], data[8:]
    if prefix.startswith(b"UNICODE"):
        return text.decode("utf-16-le" if endian == "<" else "utf-16-be", "replace").rstrip("\x00 ")
    return text.decode("utf-8", "replace").rstrip("\x00 ")
