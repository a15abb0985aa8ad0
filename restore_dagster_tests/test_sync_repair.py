"""What re-runs a photo from `repaired`: its settings, the owner's mask corrections, the repair weights."""
from restore_dagster.config import STAGES
from restore_dagster.lineage import fingerprints, repair_mask_path, scan_touchups, touchup_signatures
from restore_dagster.settings import PhotoSettings, SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.test_sync import mark_done, plan

WEIGHTS = {"artistic": "cache:1:1", "stable": "cache:missing", "scratch": "cache:missing", "lama": "cache:missing"}


def _changed_stages(before: dict, after: dict) -> list[str]:
    return [stage for stage in STAGES if before[stage] != after[stage]]


def test_repaired_sits_between_scanned_and_upscaled():
    assert STAGES == ("scanned", "repaired", "toned", "upscaled", "colorized", "compressed", "published")


def test_repair_settings_and_weights_change_repaired_and_what_follows_only():
    settings = PhotoSettings(repair="auto")
    base = fingerprints("1:1", settings, {}, WEIGHTS)
    following = list(STAGES[1:])
    assert _changed_stages(base, fingerprints("1:1", settings.updated(repair="on"), {}, WEIGHTS)) == following
    assert _changed_stages(base, fingerprints("1:1", settings.updated(repair_threshold=0.5), {}, WEIGHTS)) == following
    for kind in ("scratch", "lama"):  # weights appearing re-run the photo from `repaired`
        assert _changed_stages(base, fingerprints("1:1", settings, {}, {**WEIGHTS, kind: "cache:5:6"})) == following
    assert _changed_stages(base, fingerprints("1:1", settings, {"repair-mask": "10:20"}, WEIGHTS)) == following


def test_repair_off_needs_no_weights_and_reads_no_corrections():
    off = PhotoSettings(repair="off")
    base = fingerprints("1:1", off, {}, WEIGHTS)
    assert fingerprints("1:1", off, {"repair-mask": "10:20"}, {**WEIGHTS, "scratch": "cache:5:6", "lama": "cache:7:8"}) == base


def test_a_hand_repaired_image_makes_the_models_and_the_mask_irrelevant():
    settings = PhotoSettings(repair="on")
    touched = fingerprints("1:1", settings, {"repaired": "3:4"}, WEIGHTS)
    assert fingerprints("1:1", settings, {"repaired": "3:4", "repair-mask": "10:20"}, {**WEIGHTS, "lama": "cache:7:8"}) == touched
    assert _changed_stages(fingerprints("1:1", settings, {}, WEIGHTS), touched) == list(STAGES[1:])


def test_a_mask_correction_replans_only_its_photo_from_repaired(layout):
    SettingsStore(layout.state).set_defaults(repair="auto")
    write_scan(layout.gallery / "al" / "1962.05.03.jpg")
    write_scan(layout.gallery / "al" / "1962.05.jpg", seed=1)  # a prefix of the other's name
    plan(layout)
    mark_done(layout, "al/1962.05.03")
    mark_done(layout, "al/1962.05")
    assert plan(layout).requests == []

    corrections = repair_mask_path(layout, "al/1962.05.03")
    assert corrections == layout.touchups / "repair-mask" / "al" / "1962.05.03.png"
    write_scan(corrections, fmt="PNG")
    assert scan_touchups(layout)["al/1962.05.03"].keys() == {"repair-mask"}
    assert "repair-mask" in touchup_signatures(layout, "al/1962.05.03")
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("repaired", ("al/1962.05.03",))]
    mark_done(layout, "al/1962.05.03")
    assert plan(layout).requests == []

    corrections.unlink()  # removing the corrections goes back to the detectors' mask
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("repaired", ("al/1962.05.03",))]
