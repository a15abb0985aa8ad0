"""The demo album: aged real photographs, written once, atomically, in the formats uploads arrive in."""

from __future__ import annotations

import pytest
from PIL import Image

from restore_dagster.demo import CATALOGUE, DEFAULT_ALBUM, gallery_is_empty, seed_demo_album
from restore_dagster.imaging import load_scan


@pytest.fixture(scope="module")
def full_album(tmp_path_factory):
    root = tmp_path_factory.mktemp("gallery")
    return root, seed_demo_album(root, count=len(CATALOGUE))


def test_writes_the_requested_number_of_photos(tmp_path):
    written = seed_demo_album(tmp_path, count=3)

    assert [path.name for path in written] == ["01-astronaut.jpg", "02-cameraman.jpg", "03-coffee.png"]
    assert all(path.parent == tmp_path / DEFAULT_ALBUM and path.is_file() for path in written)
    assert sorted(path.name for path in (tmp_path / DEFAULT_ALBUM).iterdir()) == [path.name for path in written]


def test_every_demo_photo_is_an_aged_grey_scan(full_album):
    _, written = full_album

    assert len(written) == len(CATALOGUE) == 8
    for path in written:
        scan = load_scan(path)
        assert scan.is_grey, path.name
        assert min(scan.image.size) >= 256


def test_the_album_holds_the_formats_uploads_arrive_in(full_album):
    root, _ = full_album
    album = root / DEFAULT_ALBUM

    tiff = load_scan(album / "05-rocket-launch.tif")
    assert (tiff.source_format, tiff.source_mode) == ("TIFF", "I;16")
    assert load_scan(album / "03-coffee.png").source_format == "PNG"
    jpeg = load_scan(album / "01-astronaut.jpg")
    assert jpeg.source_format == "JPEG" and jpeg.capture_date == "1962-05-24T11:30:00"


def test_the_sideways_photo_is_stored_turned_and_tagged(full_album):
    root, _ = full_album
    path = root / DEFAULT_ALBUM / "04-chelsea-the-cat.jpg"

    with Image.open(path) as stored:
        assert stored.size == (300, 451) and stored.getexif()[0x0112] == 6
    assert load_scan(path).image.size == (451, 300)


def test_seeding_again_writes_nothing_and_changes_nothing(tmp_path):
    first = seed_demo_album(tmp_path, count=2)
    contents = {path: path.read_bytes() for path in first}

    assert seed_demo_album(tmp_path, count=2) == []
    assert {path: path.read_bytes() for path in first} == contents


def test_a_missing_photo_is_restored_and_a_replaced_one_kept(tmp_path):
    first, second = seed_demo_album(tmp_path, count=2)
    first.unlink()
    second.write_bytes(b"the family's own better scan")

    assert seed_demo_album(tmp_path, count=2) == [first]
    assert second.read_bytes() == b"the family's own better scan"


def test_the_same_album_is_rendered_identically(tmp_path):
    one = seed_demo_album(tmp_path / "a", count=1)[0]
    two = seed_demo_album(tmp_path / "b", count=1)[0]

    assert one.read_bytes() == two.read_bytes()


def test_no_temporary_files_are_left_behind(full_album):
    root, _ = full_album

    assert not [path for path in (root / DEFAULT_ALBUM).iterdir() if path.name.startswith(".")]


def test_gallery_is_empty(tmp_path):
    assert gallery_is_empty(tmp_path / "missing")
    assert gallery_is_empty(tmp_path)
    album = tmp_path / "family"
    album.mkdir()
    (album / "notes.txt").write_text("names on the back of the prints")
    (album / ".01-wedding.jpg.abc.part").write_bytes(b"half an upload")
    (tmp_path / "loose.jpg").write_bytes(b"not inside an album")
    assert gallery_is_empty(tmp_path)

    (album / "WEDDING.JPG").write_bytes(b"any image file counts")
    assert not gallery_is_empty(tmp_path)


def test_seeding_fills_an_empty_gallery(tmp_path):
    seed_demo_album(tmp_path, count=1)

    assert not gallery_is_empty(tmp_path)


@pytest.mark.parametrize(("album", "count"), [("..", 1), ("a/b", 1), (".hidden", 1), ("", 1), (DEFAULT_ALBUM, 9), (DEFAULT_ALBUM, -1)])
def test_bad_arguments_are_refused(tmp_path, album, count):
    with pytest.raises(ValueError):
        seed_demo_album(tmp_path, album=album, count=count)
