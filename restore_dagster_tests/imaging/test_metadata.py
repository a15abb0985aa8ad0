"""The family's description written into finished JPEG and WebP files, read back with exiftool."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from restore_dagster.descriptions import parse_date
from restore_dagster.imaging.encode import encode_smallest
from restore_dagster.imaging.metadata import PhotoFacts, describe_file
from restore_dagster_tests.exiftool import exiftool_tags
from restore_dagster_tests.imaging.helpers import noisy_rgb


def scanner_exif() -> bytes:
    """What a scanner or phone leaves: its own dates (with sub-seconds and offset) and its GPS."""
    exif = Image.Exif()
    exif[0x0132] = "2023:05:01 10:00:00"
    exif[0x8769] = {0x9003: "2023:05:01 10:00:00", 0x9004: "2023:05:01 10:00:00", 0x9011: "+01:00", 0x9291: "12"}
    exif[0x8825] = {1: "N", 2: (IFDRational(48), IFDRational(8), IFDRational(0)), 3: "E",
                    4: (IFDRational(11), IFDRational(34), IFDRational(0))}
    return exif.tobytes()


def restoration(fmt: str) -> bytes:
    return encode_smallest(noisy_rgb((96, 64)), formats=(fmt,), exif=scanner_exif(), comment="Restored by restore_dagster").data


def facts_for(date_text: str, **more) -> PhotoFacts:
    when = parse_date(date_text)
    return PhotoFacts(exif_datetime=when.exif_datetime, offset=when.offset, xmp_date=when.xmp_date, **more)


def written(tmp_path, fmt: str, facts: PhotoFacts) -> tuple[dict, bytes, bytes]:
    before = restoration(fmt)
    after = describe_file(before, facts)
    path = tmp_path / f"restored.{fmt.lower()}"
    path.write_bytes(after)
    return exiftool_tags(path), before, after


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize(
    "date_text, original, created",
    [
        ("1962-06-14", "1962:06:14 12:00:00", "1962:06:14"),
        ("1962-06", "1962:06:01 12:00:00", "1962:06"),
        ("1962", "1962:01:01 12:00:00", 1962),
        ("about 1960", "1960:01:01 12:00:00", 1960),
        ("1960s", "1960:01:01 12:00:00", 1960),
        ("1962-06-14 15:30:00+02:00", "1962:06:14 15:30:00", "1962:06:14 15:30:00+02:00"),
    ],
)
def test_each_date_precision_is_written_and_replaces_the_scanners_date(tmp_path, fmt, date_text, original, created):
    tags, _, _ = written(tmp_path, fmt, facts_for(date_text))
    assert tags["ExifIFD:DateTimeOriginal"] == original
    # The scanner's date is replaced everywhere an app might fall back to, not kept beside ours.
    assert tags["ExifIFD:CreateDate"] == original and tags["IFD0:ModifyDate"] == original
    assert "ExifIFD:SubSecTimeOriginal" not in tags
    assert tags["XMP-photoshop:DateCreated"] == created  # the real precision
    if date_text.endswith("+02:00"):
        assert tags["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    else:  # the scan's offset would claim a time zone nobody knows
        assert "ExifIFD:OffsetTimeOriginal" not in tags
    assert tags["ExifIFD:UserComment"] == "Restored by restore_dagster"  # the restoration note stays


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_non_ascii_caption_names_and_place_round_trip(tmp_path, fmt):
    caption = "Hochzeit von Jürgen und Björn in Köln — 婚礼 中文\nzweite Zeile <&>"
    people = ("Jürgen Müller", "王芳", "Zoë", "AC/DC")
    tags, before, after = written(tmp_path, fmt, PhotoFacts(caption=caption, place="Köln, Deutschland", people=people,
                                                            replace_gps=True))
    assert tags["IFD0:ImageDescription"] == caption
    assert tags["XMP-dc:Description"] == caption
    assert tags["XMP-iptcExt:PersonInImage"] == list(people)
    assert tags["XMP-dc:Subject"] == list(people)
    assert tags["XMP-digiKam:TagsList"] == ["People/Jürgen Müller", "People/王芳", "People/Zoë", "People/AC∕DC"]
    assert tags["XMP-iptcCore:Location"] == "Köln, Deutschland"
    assert not any(name.startswith("GPS:") for name in tags)  # a place without coordinates: the scan's GPS goes
    # No date given: the scan's date is left as it was.
    assert tags["ExifIFD:DateTimeOriginal"] == "2023:05:01 10:00:00"
    with Image.open(io.BytesIO(before)) as a, Image.open(io.BytesIO(after)) as b:
        assert a.tobytes() == b.tobytes()  # metadata only: not one pixel re-encoded


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_gps_only_from_the_familys_coordinates(tmp_path, fmt):
    tags, _, _ = written(tmp_path, fmt, PhotoFacts(place="Rio", coordinates=(-22.9519, -43.2105), replace_gps=True))
    assert tags["GPS:GPSLatitude"] == pytest.approx(22.9519, abs=1e-5) and tags["GPS:GPSLatitudeRef"] == "S"
    assert tags["GPS:GPSLongitude"] == pytest.approx(43.2105, abs=1e-5) and tags["GPS:GPSLongitudeRef"] == "W"
    assert tags["Composite:GPSLatitude"] == pytest.approx(-22.9519, abs=1e-5)


def test_describing_twice_keeps_one_exif_and_one_xmp(tmp_path):
    once = describe_file(restoration("JPEG"), PhotoFacts(caption="first"))
    twice = describe_file(once, PhotoFacts(caption="second"))
    assert twice.count(b"Exif\x00\x00") == 1 and twice.count(b"http://ns.adobe.com/xap/1.0/\x00") == 1
    path = tmp_path / "twice.jpg"
    path.write_bytes(twice)
    assert exiftool_tags(path)["XMP-dc:Description"] == "second"


def test_a_simple_webp_without_metadata_gets_an_extended_header(tmp_path):
    buffer = io.BytesIO()
    noisy_rgb((50, 30)).save(buffer, "WEBP", quality=80)
    assert b"VP8X" not in buffer.getvalue()
    path = tmp_path / "simple.webp"
    path.write_bytes(describe_file(buffer.getvalue(), PhotoFacts(caption="Oma", people=("Oma",))))
    tags = exiftool_tags(path)
    assert tags["IFD0:ImageDescription"] == "Oma" and tags["RIFF:ImageWidth"] == 50 and tags["RIFF:ImageHeight"] == 30
    with Image.open(path) as image:
        image.load()
        assert image.size == (50, 30)


def test_a_touch_ups_own_orientation_is_left_alone(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # a finished JPEG touch-up, published byte for byte, that relies on its orientation
    buffer = io.BytesIO()
    noisy_rgb((60, 40)).save(buffer, "JPEG", exif=exif.tobytes())
    path = tmp_path / "touched.jpg"
    path.write_bytes(describe_file(buffer.getvalue(), PhotoFacts(caption="Opa")))
    tags = exiftool_tags(path)
    assert tags["IFD0:Orientation"] == 6 and tags["IFD0:ImageDescription"] == "Opa"
