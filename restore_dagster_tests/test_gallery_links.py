"""The folder gallery never follows a symbolic link, and names every entry it does not treat as a scan."""
import os

import pytest

from restore_dagster.gallery import FolderGallery
from restore_dagster.safepaths import UnsafePath, check_album_name, open_inside
from restore_dagster_tests.conftest import write_scan


@pytest.fixture
def outside(tmp_path):
    """A secret outside the gallery and a photo outside it (both readable, as /etc/passwd is)."""
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0\n")
    write_scan(tmp_path / "outside" / "album" / "elsewhere.jpg")
    return tmp_path / "outside"


def test_symlinked_scans_and_albums_are_neither_listed_nor_opened(tmp_path, outside):
    root = tmp_path / "g"
    write_scan(root / "al" / "real.jpg")
    (root / "al" / "p.jpg").symlink_to(outside / "passwd")
    (root / "al" / "inside.jpg").symlink_to(root / "al" / "real.jpg")  # even a link within the gallery
    (root / "linked").symlink_to(outside / "album")
    gallery = FolderGallery(root)
    assert [u.source for u in gallery.list_uploads()] == ["al/real.jpg"]
    skipped = {s.where: s.reason for s in gallery.skipped_entries()}
    assert "symbolic link" in skipped["al/p.jpg"] and "symbolic link" in skipped["al/inside.jpg"]
    assert "album folder" in skipped["linked"] and "symbolic link" in skipped["linked"]
    for source in ("al/p.jpg", "linked/elsewhere.jpg", "al/inside.jpg"):
        with pytest.raises(ValueError, match="symbolic link"):
            gallery.original_path(source)
        with pytest.raises(UnsafePath):
            with gallery.open_original(source):
                pass
    with gallery.open_original("al/real.jpg") as (path, reader):
        assert path == root / "al" / "real.jpg" and reader.read(2) == b"\xff\xd8"


def test_a_link_swapped_in_after_listing_is_refused_at_open(tmp_path, outside):
    root = tmp_path / "g"
    write_scan(root / "al" / "x.jpg")
    gallery = FolderGallery(root)
    assert [u.source for u in gallery.list_uploads()] == ["al/x.jpg"]
    (root / "al" / "x.jpg").unlink()
    (root / "al" / "x.jpg").symlink_to(outside / "passwd")
    with pytest.raises(UnsafePath, match="symbolic link"):
        with gallery.open_original("al/x.jpg"):
            pass
    # The album folder itself swapped for a link: refused on the way down, not only at the last name.
    os.rename(root / "al", tmp_path / "al-moved")
    (root / "al").symlink_to(tmp_path / "al-moved")
    (tmp_path / "al-moved" / "x.jpg").unlink()
    write_scan(tmp_path / "al-moved" / "x.jpg")
    with pytest.raises(UnsafePath, match="symbolic link"):
        open_inside(root, "al/x.jpg")


def test_publish_never_writes_through_a_linked_album_or_restored_folder(tmp_path, outside):
    root = tmp_path / "g"
    write_scan(root / "al" / "x.jpg")
    target = tmp_path / "target"
    target.mkdir()
    (root / "al" / "restored").symlink_to(target)
    with pytest.raises(UnsafePath):
        FolderGallery(root).publish("al/x.jpg", b"data", "jpg")
    (root / "linked").symlink_to(outside / "album")
    with pytest.raises(UnsafePath):
        FolderGallery(root).publish("linked/elsewhere.jpg", b"data", "jpg")
    assert list(target.iterdir()) == [] and not (outside / "album" / "restored").exists()
    assert FolderGallery(root).restorations("al") == {}  # nor read through one


def test_skipped_entries_name_the_reason_without_decoding(tmp_path):
    root = tmp_path / "g"
    write_scan(root / "al" / "ok.jpg")
    for name in ("anim.gif", "photo.jxl", "new.avif", "logo.svg", "notes.txt", "README"):
        (root / "al" / name).write_bytes(b"whatever")
    (root / "al" / "..jpg").write_bytes(b"x")
    (root / "al" / "folder.jpg").mkdir()
    os.mkfifo(root / "al" / "pipe.jpg")
    (root / "al" / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    (root / "al" / ".x.jpg.123.tmp").write_bytes(b"half")  # an atomic writer's temp file: not worth a word
    (root / "al" / ".DS_Store").write_bytes(b"x")
    (root / "loose.jpg").write_bytes(b"x")
    write_scan(root / "al" / "restored" / "ok.jpg.restored.jpg")
    gallery = FolderGallery(root)
    assert [u.source for u in gallery.list_uploads()] == ["al/ok.jpg"]  # and the FIFO did not block
    reasons = {s.where: s.reason for s in gallery.skipped_entries()}
    assert set(reasons) == {
        "al/anim.gif", "al/photo.jxl", "al/new.avif", "al/logo.svg", "al/notes.txt", "al/README",
        "al/..jpg", "al/folder.jpg", "al/pipe.jpg", "al/gone.jpg", "loose.jpg",
    }
    assert "GIF" in reasons["al/anim.gif"] and "JPEG XL" in reasons["al/photo.jxl"] and "AVIF" in reasons["al/new.avif"]
    assert "SVG" in reasons["al/logo.svg"] and "hidden" in reasons["al/..jpg"]
    assert "folder" in reasons["al/folder.jpg"] and "FIFO" in reasons["al/pipe.jpg"]
    assert "broken symbolic link" in reasons["al/gone.jpg"] and "outside any album" in reasons["loose.jpg"]


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "", ".hidden", "a/b", "x/restored", "restored", "Restored",
                                  "é" * 128, "nul\x00byte", "tab\tname", "..", " padded"])
def test_album_names_that_cannot_be_a_gallery_folder_are_refused_with_the_reason(name):
    with pytest.raises(ValueError, match="refused: .+"):
        check_album_name(name)


@pytest.mark.parametrize("name", ["family-1962", "Grand-mère", "1962.05 wedding", "é" * 127, "家"])
def test_ordinary_album_names_pass_unchanged(name):
    assert check_album_name(name) == name
