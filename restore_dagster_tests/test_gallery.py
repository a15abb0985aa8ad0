import pytest

from restore_dagster.gallery import FolderGallery, GalleryUnavailable
from restore_dagster_tests.conftest import file_digest, write_scan


def test_lists_uploads_not_restorations_hidden_or_partial_files(tmp_path):
    write_scan(tmp_path / "al" / "x.jpg")
    write_scan(tmp_path / "al" / "restored" / "x.jpg.restored.jpg")
    write_scan(tmp_path / "al" / ".hidden.jpg")
    (tmp_path / "al" / ".x.jpg.123.tmp").write_bytes(b"half")
    (tmp_path / "al" / "notes.txt").write_text("not a photo")
    (tmp_path / "loose.jpg").write_bytes(b"not in an album")
    uploads = FolderGallery(tmp_path).list_uploads()
    assert [u.source for u in uploads] == ["al/x.jpg"]


def test_publish_replaces_the_previous_restoration_never_the_original(tmp_path):
    original = write_scan(tmp_path / "al" / "x.jpg")
    digest = file_digest(original)
    gallery = FolderGallery(tmp_path)
    first = gallery.publish("al/x.jpg", b"one", "jpg")
    second = gallery.publish("al/x.jpg", b"two", ".webp")
    assert not (tmp_path / "al" / "restored" / "x.jpg.restored.jpg").exists()
    assert open(second, "rb").read() == b"two" and first != second
    assert gallery.published_location("al/x.jpg") == second
    assert file_digest(original) == digest


def test_missing_gallery_is_unavailable_not_empty(tmp_path):
    with pytest.raises(GalleryUnavailable, match="does not exist"):
        FolderGallery(tmp_path / "nope").list_uploads()


def test_original_path_stays_inside_the_gallery(tmp_path):
    write_scan(tmp_path / "outside.jpg")
    write_scan(tmp_path / "g" / "al" / "x.jpg")
    with pytest.raises(ValueError):
        FolderGallery(tmp_path / "g").original_path("../outside.jpg")
    assert FolderGallery(tmp_path / "g").original_path("al/x.jpg").name == "x.jpg"


def test_restorations_are_matched_by_exact_name_not_glob_patterns(tmp_path):
    gallery = FolderGallery(tmp_path)
    for name in ("scan 1.jpg", "scan [1].jpg", "a.jpg", "a.restored.b.jpg", "star*.jpg"):
        write_scan(tmp_path / "album" / name)
    gallery.publish("album/scan 1.jpg", b"one", "webp")
    gallery.publish("album/scan [1].jpg", b"bracketed", "jpg")
    gallery.publish("album/a.restored.b.jpg", b"b", "jpg")
    gallery.publish("album/a.jpg", b"a", "jpg")
    gallery.publish("album/star*.jpg", b"star", "jpg")
    read = lambda source: open(gallery.published_location(source), "rb").read()  # noqa: E731
    assert read("album/scan 1.jpg") == b"one" and read("album/scan [1].jpg") == b"bracketed"
    assert read("album/a.jpg") == b"a" and read("album/a.restored.b.jpg") == b"b"
    assert read("album/star*.jpg") == b"star"
    gallery.publish("album/scan [1].jpg", b"again", "webp")  # a new format replaces only its own
    assert read("album/scan [1].jpg") == b"again" and read("album/scan 1.jpg") == b"one"
    assert len(gallery.restorations("album")) == 5


def test_same_name_in_two_formats_gets_two_restorations(tmp_path):
    gallery = FolderGallery(tmp_path)
    for name in ("Wedding.jpg", "Wedding.png", "Wedding.JPG", "Wedding.png.jpg"):
        write_scan(tmp_path / "album" / name)
    for data, name in ((b"jpg", "Wedding.jpg"), (b"png", "Wedding.png"), (b"JPG", "Wedding.JPG"), (b"png.jpg", "Wedding.png.jpg")):
        gallery.publish(f"album/{name}", data, "webp")
    read = lambda source: open(gallery.published_location(source), "rb").read()  # noqa: E731
    assert [read(f"album/{n}") for n in ("Wedding.jpg", "Wedding.png", "Wedding.JPG", "Wedding.png.jpg")] == [
        b"jpg", b"png", b"JPG", b"png.jpg"]
    assert len(gallery.restorations("album")) == 4


def test_publishing_replaces_a_restoration_under_the_old_name(tmp_path):
    """Restorations published before the upload's extension was in the name are replaced, once; an old
    name that is now another upload's restoration (``a.png.jpg`` -> ``a.png``) is left alone."""
    gallery = FolderGallery(tmp_path)
    for name in ("a.jpg", "b.png.jpg", "b.png"):
        write_scan(tmp_path / "album" / name)
    restored = tmp_path / "album" / "restored"
    restored.mkdir()
    (restored / "a.restored.jpg").write_bytes(b"old a")
    gallery.publish("album/b.png", b"b.png", "jpg")  # b.png's new name: b.png.restored.jpg
    gallery.publish("album/a.jpg", b"a", "webp")
    gallery.publish("album/b.png.jpg", b"b.png.jpg", "webp")  # its old name b.png.restored is b.png's now
    assert sorted(p.name for p in restored.iterdir()) == ["a.jpg.restored.webp", "b.png.jpg.restored.webp", "b.png.restored.jpg"]
