"""HEIC/HEIF input (what iPhones store), decoded through pillow-heif with load_scan's checks."""
from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from restore_dagster.imaging import IMAGE_SUFFIXES, ImageTooLarge, load_scan, probe_image
from restore_dagster.imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD, ORIENTATION


def heic_bytes(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    options = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(buffer, "HEIF", quality=95, **options)
    return buffer.getvalue()


def test_heic_suffixes_are_scans():
    assert {".heic", ".heif"} <= IMAGE_SUFFIXES


def test_a_phone_heic_held_sideways_is_upright_with_its_date_and_exif(tmp_path):
    # Stored landscape 128×64 with a white block in the stored top-left corner, held sideways
    # (Orientation 6: turn 90° clockwise to view): the block must end up top-right of a 64×128 portrait.
    stored = np.full((64, 128, 3), 20, np.uint8)
    stored[:24, :24] = 250
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Apple"
    exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: "2023:05:01 10:15:00"}
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(heic_bytes(Image.fromarray(stored), exif))

    scan = load_scan(path)

    assert scan.source_format == "HEIF" and scan.image.mode == "RGB"
    assert scan.image.size == (64, 128), "turned upright once, not twice and not left sideways"
    upright = np.asarray(scan.image).astype(int)
    assert upright[:20, -20:].mean() > 230 and upright[-20:, :20].mean() < 40
    assert scan.capture_date == "2023-05-01T10:15:00"
    kept = Image.Exif()
    kept.load(scan.exif)
    assert kept[ORIENTATION] == 1 and kept[0x010F] == "Apple"
    assert probe_image(path) == ("HEIF", (64, 128))


def _with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """The HEIF's image spatial extent box ("ispe": version/flags, width, height) rewritten."""
    patched = bytearray(data)
    at = patched.find(b"ispe")
    assert at > 0
    patched[at + 8:at + 16] = struct.pack(">II", width, height)
    return bytes(patched)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("width, height", [(12_000, 11_000), (100_000, 100_000)])
def test_a_heic_claiming_too_many_pixels_is_refused_before_any_pixel_is_decoded(tmp_path, monkeypatch, width, height):
    # 128×64 needs no clean-aperture crop, so the declared extent is the image's size.
    small = heic_bytes(Image.new("RGB", (128, 64), (200, 30, 30)))
    path = tmp_path / "bomb.heic"
    path.write_bytes(_with_declared_size(small, width, height))
    decoded = []
    original = pillow_heif.as_plugin._LibHeifImageFile.load
    monkeypatch.setattr(pillow_heif.as_plugin._LibHeifImageFile, "load", lambda self: decoded.append(1) or original(self))

    with pytest.raises(ImageTooLarge, match=r"bomb\.heic: .*exceeds the limit of 120 megapixels"):
        load_scan(path)
    assert decoded == []


def test_a_heic_within_a_lower_limit_decodes_and_over_it_is_refused(tmp_path):
    path = tmp_path / "small.heif"
    path.write_bytes(heic_bytes(Image.new("RGB", (128, 64), (10, 120, 200))))
    with pytest.raises(ImageTooLarge):
        load_scan(path, max_pixels=128 * 64 - 1)
    colour = np.asarray(load_scan(path, max_pixels=128 * 64).image).reshape(-1, 3).mean(axis=0)
    assert np.abs(colour - (10, 120, 200)).max() < 6
