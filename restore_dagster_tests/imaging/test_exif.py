"""The capture date, the EXIF a scan keeps, and the restoration note written into published files."""

from __future__ import annotations

import pytest
from PIL import Image

from restore_dagster.imaging.exif import (
    DATE_TIME,
    DATE_TIME_ORIGINAL,
    EXIF_IFD,
    IMAGE_DESCRIPTION,
    JPEG_EXIF_LIMIT,
    MAKER_NOTE,
    OFFSET_TIME_ORIGINAL,
    ORIENTATION,
    PIXEL_X_DIMENSION,
    PIXEL_Y_DIMENSION,
    USER_COMMENT,
    capture_date,
    kept_exif_bytes,
    read_user_comment,
    restored_exif_bytes,
)


def exif_with(base: dict | None = None, sub: dict | None = None) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in (base or {}).items():
        exif[tag] = value
    if sub:
        exif[EXIF_IFD] = sub
    return Image.Exif() if not len(exif) else _reloaded(exif.tobytes())


def _reloaded(data: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(data)
    return exif


@pytest.mark.parametrize(
    ("base", "sub", "expected"),
    [
        ({DATE_TIME: "2021:03:04 05:06:07"}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"}, "1962-07-14T15:20:00"),
        ({}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00", OFFSET_TIME_ORIGINAL: "+01:00"}, "1962-07-14T15:20:00+01:00"),
        ({}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00", OFFSET_TIME_ORIGINAL: "   "}, "1962-07-14T15:20:00"),
        ({DATE_TIME: "2021:03:04 05:06:07"}, {DATE_TIME_ORIGINAL: "0000:00:00 00:00:00"}, "2021-03-04T05:06:07"),
        ({DATE_TIME: "    :  :     :  :  "}, {}, None),
        ({DATE_TIME: "yesterday"}, {}, None),
        ({}, {}, None),
    ],
    ids=["original-first", "with-offset", "blank-offset", "zeros-fall-back", "blank", "garbage", "none"],
)
def test_capture_date(base, sub, expected):
    assert capture_date(exif_with(base, sub)) == expected


def test_kept_exif_drops_the_source_files_storage_tags_and_resets_orientation():
    # A TIFF's own IFD0 holds its strip layout; none of it may reach a JPEG.
    exif = exif_with({256: 4000, 257: 3000, 273: 8, 279: 1234, ORIENTATION: 8, 0x010F: "Epson"}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"})

    kept = _reloaded(kept_exif_bytes(exif))

    assert set(kept) == {ORIENTATION, 0x010F, EXIF_IFD}
    assert kept[ORIENTATION] == 1 and kept[0x010F] == "Epson"
    assert kept.get_ifd(EXIF_IFD) == {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"}


def test_kept_exif_is_empty_when_only_storage_tags_were_there():
    assert kept_exif_bytes(exif_with({256: 4000, 257: 3000, ORIENTATION: 1})) == b""
    assert kept_exif_bytes(Image.Exif()) == b""


def test_the_comment_becomes_user_comment_and_fills_an_empty_description():
    source = kept_exif_bytes(exif_with({0x010F: "Epson"}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00", PIXEL_X_DIMENSION: 400}))

    written = _reloaded(restored_exif_bytes(source, "Restored by restore_dagster: waifu2x", (3840, 2560)))

    sub = written.get_ifd(EXIF_IFD)
    assert read_user_comment(sub[USER_COMMENT], written.endian) == "Restored by restore_dagster: waifu2x"
    assert written[IMAGE_DESCRIPTION] == "Restored by restore_dagster: waifu2x"
    assert (sub[PIXEL_X_DIMENSION], sub[PIXEL_Y_DIMENSION]) == (3840, 2560)
    assert sub[DATE_TIME_ORIGINAL] == "1962:07:14 15:20:00" and written[0x010F] == "Epson"


def test_a_familys_caption_is_never_overwritten():
    source = kept_exif_bytes(exif_with({IMAGE_DESCRIPTION: "Grandma's wedding, 1962"}))

    written = _reloaded(restored_exif_bytes(source, "Restored by restore_dagster", (10, 10)))

    assert written[IMAGE_DESCRIPTION] == "Grandma's wedding, 1962"
    assert read_user_comment(written.get_ifd(EXIF_IFD)[USER_COMMENT], written.endian) == "Restored by restore_dagster"


def test_a_non_ascii_comment_round_trips_as_unicode():
    written = _reloaded(restored_exif_bytes(b"", "Restauré — Größe", (10, 10)))

    raw = written.get_ifd(EXIF_IFD)[USER_COMMENT]
    assert raw.startswith(b"UNICODE\x00")
    assert read_user_comment(raw, written.endian) == "Restauré — Größe"


def test_no_exif_and_no_comment_writes_nothing():
    assert restored_exif_bytes(b"", "", (10, 10)) == b""


def test_an_oversized_maker_note_is_dropped_to_fit_jpeg():
    source = kept_exif_bytes(exif_with({0x010F: "Canon"}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00", MAKER_NOTE: b"\x01" * 70_000}))
    assert len(restored_exif_bytes(source, "note", (10, 10))) > JPEG_EXIF_LIMIT

    fitted = restored_exif_bytes(source, "note", (10, 10), JPEG_EXIF_LIMIT)

    assert len(fitted) <= JPEG_EXIF_LIMIT
    written = _reloaded(fitted)
    assert MAKER_NOTE not in written.get_ifd(EXIF_IFD)
    assert written.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "1962:07:14 15:20:00" and written[0x010F] == "Canon"


def test_when_dropping_the_maker_note_is_not_enough_only_dates_and_the_note_remain():
    source = kept_exif_bytes(exif_with({0x010F: "Canon", 0x013B: "x" * 70_000}, {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"}))

    written = _reloaded(restored_exif_bytes(source, "note", (10, 10), JPEG_EXIF_LIMIT))

    assert set(written) == {ORIENTATION, EXIF_IFD}
    assert written.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "1962:07:14 15:20:00"
    assert read_user_comment(written.get_ifd(EXIF_IFD)[USER_COMMENT], written.endian) == "note"
