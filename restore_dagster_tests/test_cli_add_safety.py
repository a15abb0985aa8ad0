"""`restore-photos add` and `status` with hostile folders: links, bad album names, entries that are not scans."""
import os

import pytest

from restore_dagster.cli import main
from restore_dagster_tests.conftest import file_digest, write_scan


@pytest.fixture
def scans(tmp_path):
    folder = tmp_path / "scans"
    write_scan(folder / "real.jpg", seed=1)
    return folder


@pytest.mark.parametrize("album", ["../escape", "/tmp/restore-abs-album", "", ".hidden", "a/b", "x/restored", "restored",
                                   "n" * 256, "tab\there", "..", "."])
def test_add_refuses_album_names_that_are_not_one_plain_folder(layout, scans, capsys, album):
    before = sorted(p.name for p in layout.root.iterdir())
    assert main(["add", str(scans), "--album", album]) == 2
    err = capsys.readouterr().err
    assert "refused:" in err and "album name" in err
    assert sorted(p.name for p in layout.gallery.iterdir()) == []  # nothing made, nothing renamed
    assert sorted(p.name for p in layout.root.iterdir()) == before
    assert not os.path.exists("/tmp/restore-abs-album")


def test_add_skips_links_unless_asked_and_then_copies_bytes_never_a_link(layout, scans, tmp_path, capsys):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0\n")
    elsewhere = write_scan(tmp_path / "elsewhere" / "photo.jpg", seed=7)
    (scans / "p.jpg").symlink_to(secret)
    (scans / "linked.jpg").symlink_to(elsewhere)
    (scans / "gone.jpg").symlink_to(tmp_path / "missing.jpg")

    assert main(["add", str(scans), "--album", "al"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (layout.gallery / "al").iterdir()) == ["real.jpg"]
    assert "skip p.jpg: not a supported scan: a symbolic link" in out and "--follow-links" in out
    assert "skip linked.jpg: not a supported scan: a symbolic link" in out
    assert "skip gone.jpg: not a supported scan: a broken symbolic link" in out

    assert main(["add", str(scans), "--album", "al", "--follow-links"]) == 0
    out = capsys.readouterr().out
    copied = layout.gallery / "al" / "linked.jpg"
    assert copied.is_file() and not copied.is_symlink() and file_digest(copied) == file_digest(elsewhere)
    assert "skip p.jpg: not a supported scan: a link to" in out  # /etc/passwd-like targets: never copied
    assert not (layout.gallery / "al" / "p.jpg").exists()


def test_add_never_writes_into_a_linked_album_folder(layout, scans, tmp_path, capsys):
    target = tmp_path / "target"
    target.mkdir()
    (layout.gallery / "al").symlink_to(target)
    assert main(["add", str(scans), "--album", "al"]) == 2
    assert "symbolic link" in capsys.readouterr().err and list(target.iterdir()) == []


def test_add_and_status_name_every_entry_that_is_not_a_scan(layout, scans, capsys):
    for name in ("anim.gif", "photo.jxl", "new.avif", "logo.svg", "..jpg"):
        (scans / name).write_bytes(b"whatever")
    (scans / "folder.jpg").mkdir()
    os.mkfifo(scans / "pipe.jpg")
    assert main(["add", str(scans), "--album", "al"]) == 0
    out = capsys.readouterr().out
    for name in ("anim.gif", "photo.jxl", "new.avif", "logo.svg", "..jpg", "folder.jpg", "pipe.jpg"):
        assert f"skip {name}: not a supported scan: " in out, name
    assert "added 1 scan(s)" in out and "7 unsupported entries skipped" in out

    (layout.gallery / "al" / "later.gif").write_bytes(b"GIF89a")  # copied in by hand
    os.mkfifo(layout.gallery / "al" / "fifo.png")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "skipped al/later.gif: not a supported scan: GIF is not supported" in out
    assert "skipped al/fifo.png: not a supported scan: not a regular file" in out


def test_add_into_a_broken_link_or_a_file_named_like_the_album_is_a_clear_error(layout, scans, tmp_path, capsys):
    (layout.gallery / "gone").symlink_to(tmp_path / "missing")
    (layout.gallery / "afile").write_bytes(b"x")
    for album in ("gone", "afile"):
        assert main(["add", str(scans), "--album", album]) == 2
        assert "nothing added" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
