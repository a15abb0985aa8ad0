"""Names full of dots, spaces, non-ASCII and 255 bytes, through the real sensor and assets end to end.

Photo keys keep dots (``1962.05.03``), so every file derived from a key must append its extension,
never replace "the last suffix"; and every file derived from an original's name must fit the file
system's 255-byte limit, whatever the original's name.
"""
from __future__ import annotations

import os
import re

import dagster as dg
import pytest
from PIL import Image

from restore_dagster.config import STAGES, TOUCHUP_STAGES
from restore_dagster.gallery import FolderGallery
from restore_dagster.lineage import read_failure, read_record
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import drain, materialized, tick

NAME_MAX = 255


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def _size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_dotted_names_get_their_own_stage_files_and_restorations(layout, resources, instance):
    album = layout.gallery / "Family. 1962"
    # Landscape and portrait: a restoration made from the other photo would have the wrong shape.
    scans = {
        "1962.05.03.jpg": write_scan(album / "1962.05.03.jpg", size=(40, 30), seed=1),
        "1962.05.04.jpg": write_scan(album / "1962.05.04.jpg", size=(30, 40), seed=2, grey=False),
        "Grandma's 1962. Wedding v2.jpg": write_scan(album / "Grandma's 1962. Wedding v2.jpg", size=(40, 20), seed=3),
        "妈妈.年轻时.jpg": write_scan(album / "妈妈.年轻时.jpg", size=(20, 40), seed=4),
        "Café.Noël 1950.png": write_scan(album / "Café.Noël 1950.png", size=(36, 36), seed=5, fmt="PNG"),
    }
    before = {name: file_digest(path) for name, path in scans.items()}

    drain(instance, resources)
    registry = resources["storage"].registry().load()
    keys = {entry.name: key for key, entry in registry.photos.items()}
    assert keys["1962.05.03.jpg"].endswith("/1962.05.03") and keys["1962.05.04.jpg"].endswith("/1962.05.04")
    assert len(set(keys.values())) == len(scans)
    assert materialized(instance, "published") == set(keys.values())
    assert all(read_failure(layout, key) is None for key in keys.values())

    for stage in STAGES[:-1]:
        files = {name: read_record(layout, stage, key).file for name, key in keys.items()}
        assert len(set(files.values())) == len(scans), (stage, files)  # no two photos share a stage file
        for name, file in files.items():
            assert os.path.basename(file).startswith(keys[name].split("/")[1] + "."), (stage, file)
    for name, key in keys.items():
        # Each record and output is the photo's own: the scan came from its original, shapes match.
        assert read_record(layout, "scanned", key).metadata["original"] == str(scans[name].resolve())
        width, height = _size(scans[name])
        restored = FolderGallery(layout.gallery).published_location(f"{album.name}/{name}")
        assert restored is not None, name
        out_w, out_h = _size(restored)
        assert max(out_w, out_h) == 96 and (out_w > out_h) == (width > height) and (out_w == out_h) == (width == height), name
        assert read_record(layout, "published", key).metadata["location"] == restored
        assert read_record(layout, "colorized", key).metadata["was_grey"] == (name != "1962.05.04.jpg")

    assert {name: file_digest(path) for name, path in scans.items()} == before  # originals untouched
    # Converged: every photo's records match what its inputs call for, nothing is re-run.
    assert isinstance(tick(instance, resources), dg.SkipReason)


def test_touch_up_of_a_dotted_photo_is_its_own(layout, resources, instance):
    write_scan(layout.gallery / "al" / "1962.05.jpg", seed=1)
    write_scan(layout.gallery / "al" / "1962.05.03.jpg", seed=2)
    drain(instance, resources)
    for stage in TOUCHUP_STAGES:
        assert read_record(layout, stage, "al/1962.05") is not None

    touch = layout.touchup_dir("colorized") / "al" / "1962.05.03.png"  # for 1962.05.03, not for 1962.05
    touch.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 72), (200, 30, 30)).save(touch)
    requests = drain(instance, resources)
    assert [r.partition_key for r in requests] == ["al/1962.05.03"]
    assert read_record(layout, "colorized", "al/1962.05.03").metadata["touched_up"] is True
    assert read_record(layout, "colorized", "al/1962.05").metadata["touched_up"] is False


# --- names at the file system's 255-byte limit ----------------------------------------------------

def _name_of(length: int, unit: str, suffix: str = ".jpg") -> str:
    """A file name of exactly ``length`` bytes: repeated ``unit`` (maybe multi-byte), padded with ASCII."""
    room = length - len(suffix.encode())
    stem = unit * (room // len(unit.encode()))
    return stem + "x" * (room - len(stem.encode())) + suffix


def test_fit_name_keeps_short_names_and_shortens_long_ones_on_a_character_boundary():
    from restore_dagster.filenames import fit_name

    assert fit_name("Wedding", ".restored") == "Wedding.restored"
    long_a, long_b = "妈" * 84 + "a", "妈" * 84 + "b"  # 253 bytes each, the same first 252
    fitted_a, fitted_b = fit_name(long_a, ".restored", 250), fit_name(long_b, ".restored", 250)
    assert fitted_a != fitted_b and fitted_a == fit_name(long_a, ".restored", 250)  # distinct, deterministic
    for fitted in (fitted_a, fitted_b):
        assert len(fitted.encode("utf-8")) <= 250 and fitted.endswith(".restored")
        fitted.encode("utf-8").decode("utf-8")  # whole characters only
    assert len(fit_name("x" * 300, "-2.jpg").encode()) == 255


def test_atomic_writes_beside_a_255_byte_name_use_short_hidden_temp_names(tmp_path, monkeypatch):
    import tempfile

    from restore_dagster import files

    made = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        made.append(os.path.basename(name))
        return fd, name

    monkeypatch.setattr(files.tempfile, "mkstemp", spy)
    target = tmp_path / _name_of(NAME_MAX, "é")
    files.atomic_write_bytes(target, b"data")
    files.atomic_copy(target, tmp_path / _name_of(NAME_MAX, "a", ".png"))
    assert target.read_bytes() == b"data"
    assert len(made) == 2 and all(n.startswith(".") and n.endswith(".tmp") and len(n) < 64 for n in made)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, _name_of(NAME_MAX, "a", ".png")])


@pytest.fixture
def weights_env(monkeypatch, artistic_weights):
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")


def test_add_and_publish_photos_with_names_of_251_to_255_bytes(layout, weights_env, tmp_path, capsys):
    from restore_dagster.cli import main
    from restore_dagster.viewer.library import Library
    from restore_dagster.viewer.webstate import WebState

    scans = tmp_path / "scans"
    names = [_name_of(251, "a"), _name_of(253, "é"), _name_of(255, "b"), _name_of(255, "妈"), _name_of(255, "妈", ".webp")]
    for seed, name in enumerate(names):
        assert len(name.encode()) in (251, 253, 255)
        write_scan(scans / name, seed=seed, fmt="WEBP" if name.endswith(".webp") else "JPEG")

    assert main(["add", str(scans), "--album", "Long"]) == 0
    assert "added 5 scan(s)" in capsys.readouterr().out
    # The same names again with other content: renamed "<stem>-2<suffix>", shortened to fit.
    for seed, name in enumerate(names[2:4], start=10):
        write_scan(scans / name, seed=seed)
    assert main(["add", str(scans), "--album", "Long"]) == 0
    assert "added 2 scan(s)" in capsys.readouterr().out
    album = layout.gallery / "Long"
    uploaded = sorted(p.name for p in album.iterdir() if p.is_file())
    assert len(uploaded) == 7 and all(len(n.encode()) <= NAME_MAX for n in uploaded)
    assert not [n for n in uploaded if n.startswith(".")]  # no temp file left behind

    assert main(["run", "--quiet"]) == 0, capsys.readouterr()
    gallery = FolderGallery(layout.gallery)
    restorations = gallery.restorations("Long")
    assert len(restorations) == 7  # one each, none shared
    library = Library(layout.gallery, WebState(layout.state / "web.sqlite3"))
    for name in uploaded:
        location = gallery.published_location(f"Long/{name}")
        assert location is not None and len(os.path.basename(location).encode()) <= NAME_MAX, name
        assert str(library.restoration_path(library.photo("Long", name))) == location  # the web finds it too
    assert main(["status"]) == 0
    assert re.search(r"Long\s+7\s+0\s+0", capsys.readouterr().out)  # 7 restored, 0 pending, 0 failed


def test_a_png_touch_up_of_compressed_is_published_under_an_extension_that_says_what_it_holds(layout, resources, instance):
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, resources)
    touch = layout.touchup_dir("compressed") / "al" / "x.png"
    touch.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 72), (200, 30, 30)).save(touch)
    drain(instance, resources)
    location = FolderGallery(layout.gallery).published_location("al/x.jpg")
    with Image.open(location) as image:
        assert {".jpg": "JPEG", ".webp": "WEBP"}[os.path.splitext(location)[1]] == image.format
        assert image.convert("RGB").getpixel((5, 5))[0] > 180  # the touch-up, not the model's output


def test_a_replaced_original_without_exif_does_not_inherit_the_old_exif(layout, resources, instance):
    path = layout.gallery / "al" / "1962.05.03.jpg"
    write_scan(path, seed=1)
    with Image.open(path) as image:
        exif = Image.Exif()
        exif[0x010E] = "the old scan's description"
        image.save(path, "JPEG", exif=exif.tobytes())
    drain(instance, resources)
    assert read_record(layout, "compressed", "al/1962.05.03").metadata["exif_kept"] is True

    write_scan(path, seed=2)
    drain(instance, resources)
    assert read_record(layout, "compressed", "al/1962.05.03").metadata["exif_kept"] is False
    location = FolderGallery(layout.gallery).published_location("al/1962.05.03.jpg")
    with Image.open(location) as published:
        assert published.getexif().get(0x010E) != "the old scan's description"
