"""`restore-photos add --merge-glare`: three phone shots of one glossy print become one photo without
the glare; the shots are kept untouched beside the gallery, and the record names them."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from restore_dagster.cli import main
from restore_dagster.gallery import FolderGallery
from restore_dagster.glare_shots import shots_of
from restore_dagster_tests.conftest import file_digest
from restore_dagster_tests.imaging.helpers import fixture_photo, noisy_rgb
from restore_dagster_tests.imaging.test_glare import shot

FIRST = [[60, 50], [360, 40], [370, 310], [50, 320]]


def write_shots(folder):
    """Three shots from different angles, each with glare somewhere else; and the first one's pixels
    without its glare."""
    picture = np.asarray(fixture_photo("astronaut_128x128.png").resize((300, 260), Image.Resampling.BICUBIC))
    first, first_clean = shot(picture, FIRST, glare_at=(200, 150), seed=1)
    second, _ = shot(picture, [[70, 45], [355, 60], [350, 300], [65, 315]], glare_at=(120, 250), seed=2)
    third, _ = shot(picture, [[55, 60], [365, 50], [360, 320], [60, 305]], glare_at=(300, 100), seed=3)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, pixels in (("Oma am See.png", first), ("angle 2.png", second), ("angle 3.png", third)):
        Image.fromarray(pixels).save(folder / name)  # lossless: the test compares pixels
        paths.append(folder / name)
    return paths, first, first_clean


def test_shots_become_one_photo_without_glare_and_are_kept(layout, tmp_path, capsys):
    paths, first, first_clean = write_shots(tmp_path / "in")
    before = [file_digest(p) for p in paths]

    assert main(["add", "--merge-glare", *map(str, paths), "--album", "Lake"]) == 0

    out = capsys.readouterr().out
    assert "Oma am See-merged.png: 3 shots merged without glare (added)" in out and "shot 3 (angle 3.png): aligned on" in out
    assert sorted(p.name for p in (layout.gallery / "Lake").iterdir()) == ["Oma am See-merged.png"]
    assert [file_digest(p) for p in paths] == before  # the originals are untouched
    kept = shots_of(layout, "Lake", "Oma am See-merged.png")
    assert [p.name for p in kept] == ["shot-1.png", "shot-2.png", "shot-3.png"]
    assert all(p.parent == layout.root / "glare_shots" / "Lake" / "Oma am See-merged" for p in kept)
    assert [file_digest(p) for p in kept] == before  # kept byte for byte
    record = json.loads((layout.state / "glare_merges.json").read_text())
    (entry,) = record.values()
    assert entry["upload"] == "Oma am See-merged.png" and len(entry["shots"]) == 3 and min(entry["inliers"]) >= 25

    # The photo is the first shot's frame with the glare gone (only in the shots kept beside the gallery).
    with Image.open(layout.gallery / "Lake" / "Oma am See-merged.png") as merged:
        result = np.asarray(merged.convert("RGB"), np.float32)
    glare = np.abs(first.astype(np.float32) - first_clean).max(axis=2) > 20
    assert glare.sum() > 2000
    assert np.abs(result - first_clean)[glare].mean() < 8 < np.abs(first.astype(np.float32) - first_clean)[glare].mean()
    # The gallery sees one photo; the kept shots are not photos.
    assert [(upload.album, upload.name) for upload in FolderGallery(layout.gallery).list_uploads()] == [("Lake", "Oma am See-merged.png")]

    # The same shots again: the same upload, unchanged; nothing duplicated.
    assert main(["add", "--merge-glare", *map(str, paths), "--album", "Lake"]) == 0
    assert "(unchanged)" in capsys.readouterr().out
    assert sorted(p.name for p in (layout.gallery / "Lake").iterdir()) == ["Oma am See-merged.png"]
    assert sorted(p.name for p in (layout.root / "glare_shots" / "Lake" / "Oma am See-merged").iterdir()) == [
        "shot-1.png", "shot-2.png", "shot-3.png"]


def test_a_shot_of_another_picture_adds_nothing_and_names_it(layout, tmp_path, capsys):
    paths, _, _ = write_shots(tmp_path / "in")
    other = tmp_path / "in" / "something else.png"
    noisy_rgb((420, 360), seed=9).save(other)

    assert main(["add", "--merge-glare", str(paths[0]), str(other), "--album", "Lake"]) == 1

    err = capsys.readouterr().err
    assert "shot 2 could not be aligned with shot 1" in err and "nothing added" in err
    assert not (layout.gallery / "Lake").exists() or list((layout.gallery / "Lake").iterdir()) == []
    assert not (layout.root / "glare_shots").exists()


def test_one_shot_or_a_missing_one_is_refused(layout, tmp_path, capsys):
    paths, _, _ = write_shots(tmp_path / "in")
    assert main(["add", "--merge-glare", str(paths[0]), "--album", "Lake"]) == 2
    assert "at least two shots" in capsys.readouterr().err
    assert main(["add", "--merge-glare", str(paths[0]), str(tmp_path / "missing.png"), "--album", "Lake"]) == 1
    assert "missing.png: cannot be read" in capsys.readouterr().err
    assert main(["add", "--merge-glare", "--split", *map(str, paths), "--album", "Lake"]) == 2
    assert not (layout.root / "glare_shots").exists()



def test_an_album_given_as_a_path_is_refused_with_the_reason(layout, tmp_path, capsys):
    paths, _, _ = write_shots(tmp_path / "in")

    assert main(["add", "--merge-glare", *map(str, paths), "--album", "../../escape"]) == 2

    assert "album name '../../escape' refused" in capsys.readouterr().err
    assert not layout.gallery.exists() or not any(layout.gallery.iterdir())
    assert not (layout.root / "glare_shots").exists()


def test_a_hidden_long_non_ascii_shot_name_gives_a_safe_photo_name(layout, tmp_path, capsys):
    """The first shot names the merged photo: hidden, non-ASCII and 255 bytes long, it still gives a
    visible name of at most 255 bytes inside the album, and the shot is kept untouched."""
    paths, _, _ = write_shots(tmp_path / "in")
    long_name = ".." + "Ömas Foto " * 40
    long_name = long_name.encode()[:251].decode("utf-8", "ignore") + ".png"
    hostile = paths[0].rename(paths[0].with_name(long_name))
    digest = file_digest(hostile)

    assert main(["add", "--merge-glare", str(hostile), *map(str, paths[1:]), "--album", "Lake"]) == 0

    capsys.readouterr()
    (merged,) = list((layout.gallery / "Lake").iterdir())
    assert len(merged.name.encode()) <= 255 and not merged.name.startswith(".")
    assert merged.name.startswith("Ömas Foto") and merged.name.endswith("-merged.png")
    kept = shots_of(layout, "Lake", merged.name)
    assert len(kept) == 3 and all(layout.root.resolve() in p.resolve().parents for p in kept)
    assert file_digest(hostile) == digest and file_digest(kept[0]) == digest


def test_a_linked_shot_is_refused_unless_links_are_followed_and_then_copied(layout, tmp_path, capsys):
    """A shot given as a symbolic link is refused with the reason and the flag that accepts it; with
    --follow-links the file it points to is kept as a real copy, and the link and its target are left as they were."""
    paths, _, _ = write_shots(tmp_path / "in")
    link = tmp_path / "in" / "link to angle 2.png"
    link.symlink_to(paths[1])
    digest = file_digest(paths[1])

    assert main(["add", "--merge-glare", str(paths[0]), str(link), str(paths[2]), "--album", "Lake"]) == 1

    err = capsys.readouterr().err
    assert f"{link}: " in err and "symbolic link" in err and "`add --merge-glare --follow-links`" in err
    assert "nothing added" in err
    assert not (layout.root / "glare_shots").exists() and not (layout.gallery / "Lake").exists()

    assert main(["add", "--merge-glare", "--follow-links", str(paths[0]), str(link), str(paths[2]),
                 "--album", "Lake"]) == 0

    capsys.readouterr()
    kept = shots_of(layout, "Lake", "Oma am See-merged.png")
    assert not kept[1].is_symlink() and kept[1].is_file() and file_digest(kept[1]) == digest
    assert link.is_symlink() and link.resolve() == paths[1].resolve() and file_digest(paths[1]) == digest


def test_shots_are_never_kept_through_a_planted_link(layout, tmp_path, capsys):
    """``glare_shots`` replaced by a link to somewhere else: the merge is refused and nothing is written there."""
    paths, _, _ = write_shots(tmp_path / "in")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    layout.root.mkdir(parents=True, exist_ok=True)
    (layout.root / "glare_shots").symlink_to(elsewhere, target_is_directory=True)

    assert main(["add", "--merge-glare", *map(str, paths), "--album", "Lake"]) == 1

    err = capsys.readouterr().err
    assert "glare_shots" in err and "symbolic link" in err and "nothing added" in err
    assert not any(elsewhere.rglob("*"))
    assert not (layout.gallery / "Lake").exists() or not any((layout.gallery / "Lake").iterdir())
