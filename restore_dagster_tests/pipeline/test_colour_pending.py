"""Colour is an optional step: missing DeOldify weights never fail a photo, wrong ones do.

Without weights (and no way to download them) a black-and-white photo is restored without colour,
published, and marked "colour pending: weights missing" with the detail of how to fix it. Once the
weights are in place the next sync re-runs it from `colorized` and publishes it in colour.
"""
from __future__ import annotations

import dagster as dg
import pytest
from PIL import Image

from restore_dagster.imaging.exif import EXIF_IFD, USER_COMMENT, read_user_comment
from restore_dagster.lineage import read_failure, read_record
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import drain, materialized, tick
from restore_dagster_tests.pipeline.test_asset_checks import latest_check


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def _resources(layout):
    from restore_dagster.resources import GpuResource, StorageResource

    # No explicit weights and no downloading: the managed cache under the storage root is empty.
    return {"storage": StorageResource(home=str(layout.root)), "gpu": GpuResource(device="cpu", download_weights=False)}


def _published_file(layout, album: str, scan: str):
    """The restoration shown (a WebP's download JPEG beside it carries the same note)."""
    from restore_dagster.gallery import FolderGallery

    return FolderGallery(layout.gallery).restorations(album)[scan + ".restored"]


def _exif_note(path) -> str:
    with Image.open(path) as image:
        exif = image.getexif()
        return read_user_comment(exif.get_ifd(EXIF_IFD)[USER_COMMENT], exif.endian)


def test_missing_weights_publish_without_colour_and_colour_follows_when_they_appear(
    layout, instance, monkeypatch, artistic_weights
):
    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, seed=1)
    write_scan(layout.gallery / "al" / "y.jpg", grey=True, seed=2)
    resources = _resources(layout)
    drain(instance, resources)

    # Published, uncoloured, marked pending; nothing failed.
    assert materialized(instance, "published") == {"al/x", "al/y"}
    for key in ("al/x", "al/y"):
        assert read_failure(layout, key) is None
        colour = read_record(layout, "colorized", key).metadata
        assert colour["colorized"] is False and colour["model"] == "none (colour pending: weights missing)"
        [step] = colour["optional_steps"]
        assert (step["step"], step["state"], step["reason"]) == ("colour", "pending", "weights missing")
        assert step["weights"] == "ColorizeArtistic_gen.pth" and step["model"] == "DeOldify artistic"
        assert str(layout.weights / "ColorizeArtistic_gen.pth") in step["detail"]  # where to put them
        assert read_record(layout, "published", key).metadata["optional_steps"] == [step]
    first = _published_file(layout, "al", "x.jpg")
    before = file_digest(first)
    note = _exif_note(first)
    assert "colour pending: weights missing" in note and "colourised" not in note.lower().replace("not colourised", "")
    assert "AI-colourised" not in note and "DeOldify" not in note

    # The mark is in the UI's metadata too.
    event = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("colorized"), asset_partitions=["al/x"]), limit=1
    ).records[0]
    metadata = event.asset_materialization.metadata
    assert metadata["pending"].value == "colour pending"
    assert "ColorizeArtistic_gen.pth" in metadata["pending_detail"].value
    description = latest_check(instance, "colorized", "colourful_enough").description
    assert description.startswith("not applicable") and "2 of them wait for missing weights (colour pending)" in description

    # Nothing changed: not redone on every tick.
    assert isinstance(tick(instance, resources), dg.SkipReason)

    # The weights appear: the next sync starts at colorized, and the photos are published in colour.
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    requests = drain(instance, resources)
    assert requests and {r.asset_selection[0].path[-1] for r in requests} == {"colorized"}
    for key in ("al/x", "al/y"):
        colour = read_record(layout, "colorized", key).metadata
        assert colour["colorized"] is True and "optional_steps" not in colour
        assert "optional_steps" not in read_record(layout, "published", key).metadata
    again = _published_file(layout, "al", "x.jpg")
    assert file_digest(again) != before
    assert "AI-colourised" in _exif_note(again) and "pending" not in _exif_note(again)


def test_an_explicit_weights_path_with_nothing_there_yet_is_missing_too(layout, instance, monkeypatch, artistic_weights, tmp_path):
    """RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS names a file still to be copied there: colour waits for it."""
    target = tmp_path / "later" / "artistic.pth"
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(target))
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, seed=1)
    drain(instance, _resources(layout))
    assert materialized(instance, "published") == {"al/x"}
    [step] = read_record(layout, "published", "al/x").metadata["optional_steps"]
    assert str(target) in step["detail"] and "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS" in step["detail"]

    target.parent.mkdir()
    target.write_bytes(artistic_weights.read_bytes())
    requests = drain(instance, _resources(layout))
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "colorized")]
    assert read_record(layout, "colorized", "al/x").metadata["colorized"] is True


def test_colour_photos_need_no_weights_and_are_not_marked(layout, instance, monkeypatch):
    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    write_scan(layout.gallery / "al" / "c.png", grey=False, seed=3, fmt="PNG")
    drain(instance, _resources(layout))
    assert "optional_steps" not in read_record(layout, "published", "al/c").metadata
    assert read_record(layout, "colorized", "al/c").metadata["model"] == "none (colour photo passed through)"


@pytest.mark.parametrize("how", ["wrong file in the cache", "corrupt explicit checkpoint", "explicit path is a folder"])
def test_weights_that_are_there_but_wrong_still_fail_the_photo(layout, instance, monkeypatch, tmp_path, how):
    """Corrupt or wrong weights are not "missing": the photo fails with the reason, nothing is published."""
    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    if how == "wrong file in the cache":
        (layout.weights / "ColorizeArtistic_gen.pth").write_bytes(b"not the official checkpoint")
        expected = "failed verification"
    elif how == "corrupt explicit checkpoint":
        bad = tmp_path / "mine.pth"
        bad.write_bytes(b"\x80\x02 truncated pickle")
        monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(bad))
        expected = str(bad)
    else:
        folder = tmp_path / "a-folder.pth"
        folder.mkdir()
        monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(folder))
        expected = "not a regular file"
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, seed=1)
    drain(instance, _resources(layout))
    assert materialized(instance, "published") == set()
    failure = read_failure(layout, "al/x")
    assert failure["stage"] == "colorized" and expected in failure["reason"]
    assert not (layout.gallery / "al" / "restored").exists() or not list((layout.gallery / "al" / "restored").iterdir())


def test_status_and_catalogue_show_colour_pending_with_the_fix_once(layout, monkeypatch, tmp_path, capsys, artistic_weights):
    """`restore-photos run` without weights publishes everything; `status` counts the photos waiting
    for colour and prints how to fix it once; the catalogue's state says "colour pending"."""
    from restore_dagster.catalogue import build_catalogue
    from restore_dagster.cli import main
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore

    missing = tmp_path / "weights-to-come" / "ColorizeArtistic_gen.pth"
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(missing))  # no network access needed
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")
    for seed in (1, 2, 3):
        write_scan(layout.gallery / "Demo" / f"scan {seed}.jpg", grey=True, seed=seed)
    write_scan(layout.gallery / "Demo" / "colour.png", grey=False, seed=4, fmt="PNG")
    assert main(["run", "--quiet"]) == 0  # nothing failed
    capsys.readouterr()

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[:2]
    assert header.split() == ["album", "restored", "colour", "pending", "pending", "failed"]
    assert row.split() == ["Demo", "1", "3", "0", "0"]
    assert "colour pending: weights missing: 3 photo(s) published without colour for now" in out
    assert out.count(str(missing)) == 1  # the detail (where to put the weights) once, not per photo
    assert "demo/scan-1" in out and "demo/colour" not in out.split("colour pending: weights missing")[1]

    table = build_catalogue(layout, RegistryStore(layout.state).load(), SettingsStore(layout.state)).set_index("key")
    assert table.loc["demo/scan-1", "state"] == "colour pending"
    assert table.loc["demo/scan-1", "pending_steps"] == "colour"
    assert table.loc["demo/scan-1", "reason"].startswith("colour pending: weights missing\n")
    assert table.loc["demo/colour", "state"] == "restored" and table.loc["demo/colour", "pending_steps"] == ""

    missing.parent.mkdir()
    missing.write_bytes(artistic_weights.read_bytes())
    assert main(["run", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "colour pending" not in out and out.splitlines()[1].split() == ["Demo", "4", "0", "0"]
