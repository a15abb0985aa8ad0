"""`restore-photos add --split`: a flatbed sheet's prints become uploads; the sheet is kept, never a photo."""
from __future__ import annotations

import json
import os

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from restore_dagster.cli import main
from restore_dagster.gallery import FolderGallery
from restore_dagster.imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD
from restore_dagster.sheets import print_origin
from restore_dagster_tests.conftest import file_digest
from restore_dagster_tests.sheet_maker import four_print_sheet


def write_sheet(path, seed=0, date="1987:07:04 12:00:00"):
    sheet, laid, _ = four_print_sheet(seed)
    exif = Image.Exif()
    exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: date}
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "PNG", exif=exif.tobytes())  # lossless: the test compares pixels
    return path, laid


def album_files(layout, album):
    return sorted(p.name for p in (layout.gallery / album).iterdir() if p.is_file())


def test_split_adds_each_print_as_a_png_upload_and_keeps_the_sheet(layout, tmp_path, capsys):
    sheet, laid = write_sheet(tmp_path / "in" / "Sommer 1987.png")
    before = file_digest(sheet)

    assert main(["add", "--split", str(sheet), "--album", "Holidays"]) == 0

    out = capsys.readouterr().out
    assert "4 print(s): 4 added, 0 replaced, 0 unchanged" in out
    names = album_files(layout, "Holidays")
    assert names == [f"Sommer 1987-print-{n}.png" for n in (1, 2, 3, 4)]
    for n, (name, original) in enumerate(zip(names, laid), start=1):
        with Image.open(layout.gallery / "Holidays" / name) as image:
            assert image.format == "PNG" and abs(image.width - original.picture.width) <= 2
            assert image.getexif().get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "1987:07:04 12:00:00"
        kept, position = print_origin(layout, "Holidays", name)
        assert position == n and kept == layout.root / "sheets" / "Holidays" / "Sommer 1987.png"
    assert file_digest(kept) == before and file_digest(sheet) == before  # kept untouched, source too
    record = json.loads((layout.state / "sheets.json").read_text())
    (entry,) = record.values()
    assert entry["sheet"] == "sheets/Holidays/Sommer 1987.png" and [p["position"] for p in entry["prints"]] == [1, 2, 3, 4]
    assert all(len(p["corners"]) == 4 for p in entry["prints"])


def test_re_splitting_the_same_sheet_replaces_rather_than_duplicates(layout, tmp_path, capsys):
    sheet, _ = write_sheet(tmp_path / "in" / "sheet.png")
    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0
    first = {name: os.stat(layout.gallery / "a" / name).st_mtime_ns for name in album_files(layout, "a")}
    copy = tmp_path / "elsewhere" / "same sheet again.png"  # the same bytes under another name
    copy.parent.mkdir()
    copy.write_bytes(sheet.read_bytes())

    assert main(["add", "--split", str(sheet), str(copy), "--album", "a"]) == 0

    assert "4 print(s): 0 added, 0 replaced, 4 unchanged" in capsys.readouterr().out
    assert {name: os.stat(layout.gallery / "a" / name).st_mtime_ns for name in album_files(layout, "a")} == first
    assert os.listdir(layout.root / "sheets" / "a") == ["sheet.png"]  # the sheet kept once
    # Prints written over by a re-split (e.g. after a better detector) keep their names: no new photos.
    (layout.gallery / "a" / "sheet-print-2.png").write_bytes(b"an older split")
    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0
    assert "1 replaced, 3 unchanged" in capsys.readouterr().out
    assert album_files(layout, "a") == sorted(first)


def test_a_sheet_is_never_a_partition(layout, resources, tmp_path):
    from restore_dagster.instance import get_instance
    from restore_dagster_tests.pipeline.harness import tick

    sheet, _ = write_sheet(tmp_path / "in" / "sheet.png")
    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0
    uploads = [u.source for u in FolderGallery(layout.gallery).list_uploads()]
    assert uploads == [f"a/sheet-print-{n}.png" for n in (1, 2, 3, 4)]
    with get_instance(layout) as instance:
        result = tick(instance, resources)
        assert isinstance(result, dg.SensorResult)
        assert sorted(instance.get_dynamic_partitions("photos")) == [f"a/sheet-print-{n}" for n in (1, 2, 3, 4)]
    assert (layout.root / "sheets" / "a" / "sheet.png").is_file()


def test_a_sheet_without_separable_prints_adds_nothing_and_says_why(layout, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (250, 250, 250)).save(blank)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(photo)
    assert main(["add", "--split", str(blank), str(photo), str(tmp_path / "missing.jpg"), "--album", "a"]) == 1
    err = capsys.readouterr().err
    assert f"skip {blank}: not split: " in err and "no prints found" in err
    assert f"skip {photo}: not split: " in err and "not a plain background" in err
    assert "missing.jpg: not split: cannot be read" in err
    assert album_files(layout, "a") == [] and not (layout.root / "sheets" / "a").exists()


@pytest.mark.parametrize("name", ["..png", "我们的夏天.2.png", "x" * 251 + ".png", "a.b.c.png"])
def test_hostile_sheet_names_stay_inside_their_folders(layout, tmp_path, name):
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    sheet, _ = write_sheet(source_dir / name)
    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0
    kept = os.listdir(layout.root / "sheets" / "a")
    assert len(kept) == 1 and not kept[0].startswith(".") and len(os.fsencode(kept[0])) <= 255
    prints = album_files(layout, "a")
    assert len(prints) == 4 and all(not n.startswith(".") and len(os.fsencode(n)) <= 255 and n.endswith(".png") for n in prints)
    assert all(print_origin(layout, "a", n) is not None for n in prints)


def test_bad_albums_and_linked_sheets_are_refused(layout, tmp_path, capsys):
    sheet, _ = write_sheet(tmp_path / "sheet.png")
    assert main(["add", "--split", str(sheet), "--album", ".."]) == 2
    link = tmp_path / "link.png"
    link.symlink_to(sheet)
    assert main(["add", "--split", str(link), "--album", "a"]) == 1
    assert "symbolic link" in capsys.readouterr().err and album_files(layout, "a") == []
    assert main(["add", "--split", "--follow-links", str(link), "--album", "a"]) == 0
    assert len(album_files(layout, "a")) == 4
    assert main(["add", str(tmp_path), str(tmp_path), "--album", "a"]) == 2  # several folders: not without --split


@pytest.mark.parametrize("planted", [["sheets"], ["sheets", "a"]])
def test_sheets_are_never_kept_through_a_planted_link(layout, tmp_path, capsys, planted):
    """``sheets`` or ``sheets/<album>`` replaced by a link to somewhere else: the split is refused with
    the reason, and nothing (not even a folder) is made where the link points."""
    sheet, _ = write_sheet(tmp_path / "sheet.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = layout.root.joinpath(*planted)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere, target_is_directory=True)

    assert main(["add", "--split", str(sheet), "--album", "a"]) == 1

    err = capsys.readouterr().err
    assert f"{link}: a symbolic link" in err and "the sheet is not kept there" in err
    assert not any(elsewhere.rglob("*")) and album_files(layout, "a") == []


def test_a_re_split_that_finds_fewer_prints_retires_the_extra_uploads_without_deleting(layout, tmp_path, monkeypatch, capsys):
    import restore_dagster.sheets as sheets

    sheet, _ = write_sheet(tmp_path / "sheet.png")
    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0
    fourth = (layout.gallery / "a" / "sheet-print-4.png").read_bytes()
    restored = layout.gallery / "a" / "restored" / "sheet-print-4.png.restored.jpg"
    restored.parent.mkdir()
    restored.write_bytes(b"its restoration")
    found = sheets.split_sheet
    monkeypatch.setattr(sheets, "split_sheet", lambda image: found(image)[:3])  # e.g. a better detector

    assert main(["add", "--split", str(sheet), "--album", "a"]) == 0

    assert "sheet-print-4.png: no longer found on the sheet" in capsys.readouterr().out
    assert album_files(layout, "a") == [f"sheet-print-{n}.png" for n in (1, 2, 3)]
    retired = layout.root / "sheets" / "a" / "retired"
    assert (retired / "sheet-print-4.png").read_bytes() == fourth
    assert (retired / "restored" / "sheet-print-4.png.restored.jpg").read_bytes() == b"its restoration"
    assert print_origin(layout, "a", "sheet-print-4.png") is None
