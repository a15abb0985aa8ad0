"""The `toned` stage: between `repaired` and `upscaled`, its own setting, its own touch-ups."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restore_dagster.config import STAGES
from restore_dagster.imaging.dye_fade import fade_colour_print
from restore_dagster.imaging.tone import measure
from restore_dagster.lineage import fingerprints, read_record
from restore_dagster.settings import PhotoSettings, SettingsStore
from restore_dagster_tests.conftest import FIXTURES, write_scan
from restore_dagster_tests.pipeline.harness import drain, materialized
from restore_dagster_tests.test_sync import mark_done, plan


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def coffee() -> Image.Image:
    return Image.open(FIXTURES / "imaging" / "coffee_150x100.png").convert("RGB")


def mean_rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.float64).mean(axis=(0, 1))


def test_toned_sits_between_repaired_and_upscaled_and_its_setting_redoes_it_and_what_follows():
    assert STAGES.index("toned") == STAGES.index("repaired") + 1 == STAGES.index("upscaled") - 1
    settings = PhotoSettings()
    base = fingerprints("1:1", settings, {}, {})
    for tone in ("on", "off"):
        changed = [s for s in STAGES if fingerprints("1:1", settings.updated(tone=tone), {}, {})[s] != base[s]]
        assert changed == list(STAGES[STAGES.index("toned"):])
    touched = fingerprints("1:1", settings, {"toned": "3:4"}, {})
    assert [s for s in STAGES if touched[s] != base[s]] == list(STAGES[STAGES.index("toned"):])


def test_a_faded_colour_print_is_toned_and_the_upscaler_reads_the_toned_picture(layout, resources, instance):
    album = layout.gallery / "Album"
    album.mkdir(parents=True)
    fade_colour_print(coffee(), 0.75, "magenta").save(album / "faded.png")
    coffee().save(album / "fresh.png")
    SettingsStore(layout.state).set_defaults(colorize="off")  # tone is auto, the default
    drain(instance, resources)
    for stage in STAGES:
        assert materialized(instance, stage) == {"album/faded", "album/fresh"}, stage

    faded = read_record(layout, "toned", "album/faded")
    assert faded.metadata["toned"] is True and faded.metadata["tone_mode"] == "auto"
    assert faded.metadata["tone"].startswith("colour print") and "blacks lifted" in faded.metadata["tone"]
    scan = read_record(layout, "scanned", "album/faded")
    with Image.open(scan.file) as before, Image.open(faded.file) as after:
        assert measure(after, grey=False).fog < measure(before, grey=False).fog - 20  # the blacks are back
    # upscaled is made from toned (and keeps its levels), not from the faded scan
    upscaled = read_record(layout, "upscaled", "album/faded")
    assert np.abs(mean_rgb(upscaled.file) - mean_rgb(faded.file)).max() < 1.0
    assert np.abs(mean_rgb(upscaled.file) - mean_rgb(scan.file)).max() > 5.0
    assert "fading and colour cast corrected" in read_record(layout, "compressed", "album/faded").metadata["note"]

    fresh = read_record(layout, "toned", "album/fresh")  # auto leaves an unfaded photo byte for byte
    assert fresh.metadata["toned"] is False and fresh.metadata["tone"].startswith("auto: not faded")
    assert Path(fresh.file).read_bytes() == Path(read_record(layout, "repaired", "album/fresh").file).read_bytes()
    assert "fading" not in read_record(layout, "compressed", "album/fresh").metadata["note"]


def test_tone_off_passes_the_repaired_scan_through(layout, resources, instance):
    album = layout.gallery / "Album"
    album.mkdir(parents=True)
    fade_colour_print(coffee(), 1.0, "green").save(album / "faded.png")
    SettingsStore(layout.state).set_defaults(colorize="off", tone="off")
    drain(instance, resources)
    toned = read_record(layout, "toned", "album/faded")
    assert toned.metadata["toned"] is False and toned.metadata["tone"].startswith("off")
    assert toned.metadata["tone_measure"]["fog"] > 16  # measured and recorded all the same
    assert Path(toned.file).read_bytes() == Path(read_record(layout, "repaired", "album/faded").file).read_bytes()


def test_changing_the_tone_replans_the_photo_from_toned(layout):
    write_scan(layout.gallery / "al" / "one.jpg")
    plan(layout)
    mark_done(layout, "al/one")
    assert plan(layout).requests == []
    SettingsStore(layout.state).set("al/one", tone="on")
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("toned", ("al/one",))]


def test_a_hand_toned_image_replaces_the_stage(layout, resources, instance):
    write_scan(layout.gallery / "al" / "one.png", grey=False, size=(64, 48), fmt="PNG")
    hand = layout.touchup_dir("toned") / "al" / "one.png"
    hand.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(hand)
    SettingsStore(layout.state).set_defaults(colorize="off")
    drain(instance, resources)
    toned = read_record(layout, "toned", "al/one")
    assert toned.metadata["tone"].startswith("touch-up")
    assert np.abs(mean_rgb(read_record(layout, "upscaled", "al/one").file) - (200, 30, 30)).max() < 2


def test_the_cli_sets_the_tone(layout, capsys):
    from restore_dagster.cli import main

    assert main(["settings", "defaults", "--tone", "off"]) == 0
    assert SettingsStore(layout.state).defaults.tone == "off"
    assert "tone = off" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse refuses what is not a mode
        main(["settings", "defaults", "--tone", "sometimes"])
    assert SettingsStore(layout.state).defaults.tone == "off"
