"""A WebP or AVIF restoration comes with a JPEG for downloads: kept beside it in a folder gallery,
uploaded instead of an AVIF to Lychee."""

from __future__ import annotations

import pytest

from restore_dagster.gallery import FolderGallery
from restore_dagster_tests.lychee_fake import FakeLychee
from restore_dagster_tests.test_lychee import gallery_for, jpeg, restorations


@pytest.fixture
def gallery(tmp_path):
    (tmp_path / "Family").mkdir()
    (tmp_path / "Family" / "scan.jpg").write_bytes(b"original")
    return FolderGallery(tmp_path)


def test_the_download_jpeg_sits_beside_the_webp(gallery, tmp_path):
    location = gallery.publish("Family/scan.jpg", b"webp bytes", "webp", download=b"jpeg bytes")

    restored = tmp_path / "Family" / "restored"
    assert location == str(restored / "scan.jpg.restored.webp")
    assert sorted(p.name for p in restored.iterdir()) == ["scan.jpg.restored.jpg", "scan.jpg.restored.webp"]
    assert (restored / "scan.jpg.restored.jpg").read_bytes() == b"jpeg bytes"
    assert gallery.restorations("Family") == {"scan.jpg.restored": restored / "scan.jpg.restored.webp"}
    assert gallery.restoration_downloads("Family") == {"scan.jpg.restored": restored / "scan.jpg.restored.jpg"}
    assert gallery.published_location("Family/scan.jpg") == location
    assert (tmp_path / "Family" / "scan.jpg").read_bytes() == b"original"


def test_an_avif_is_shown_first_too(gallery, tmp_path):
    gallery.publish("Family/scan.jpg", b"avif bytes", "avif", download=b"jpeg bytes")

    assert gallery.restorations("Family")["scan.jpg.restored"].suffix == ".avif"
    assert gallery.restoration_downloads("Family")["scan.jpg.restored"].suffix == ".jpg"


def test_republishing_as_a_jpeg_alone_removes_the_webp_and_its_download(gallery, tmp_path):
    gallery.publish("Family/scan.jpg", b"webp bytes", "webp", download=b"old jpeg")

    gallery.publish("Family/scan.jpg", b"new jpeg", "jpg")

    restored = tmp_path / "Family" / "restored"
    assert [p.name for p in restored.iterdir()] == ["scan.jpg.restored.jpg"]
    assert (restored / "scan.jpg.restored.jpg").read_bytes() == b"new jpeg"
    assert gallery.restoration_downloads("Family") == gallery.restorations("Family")


def test_a_jpeg_restoration_is_its_own_download(gallery):
    gallery.publish("Family/scan.jpg", b"jpeg", "jpg", download=b"ignored")

    assert gallery.restoration_downloads("Family") == gallery.restorations("Family")
    assert gallery.restorations("Family")["scan.jpg.restored"].read_bytes() == b"jpeg"


def test_lychee_gets_the_jpeg_instead_of_an_avif(tmp_path):
    """Lychee accepts AVIF only from v7.0 (and its thumbnails need server support): the JPEG goes."""
    with FakeLychee() as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        gallery_for(lychee, tmp_path).publish(photo, b"\x00\x00\x00\x1cftypavif not a jpeg", "avif", download=jpeg(7))

        [current] = restorations(lychee)
        assert current.data == jpeg(7) and current.extension == ".jpg"


def test_lychee_keeps_taking_a_webp(tmp_path):
    with FakeLychee() as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        gallery_for(lychee, tmp_path).publish(photo, jpeg(8), "webp", download=jpeg(9))

        [current] = restorations(lychee)
        assert current.data == jpeg(8)
