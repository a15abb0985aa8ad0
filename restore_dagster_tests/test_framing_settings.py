"""The framing settings (corners, turn): validated, stored per photo as checked values, forgotten on
reset, never a project default; part of `scanned`'s fingerprint only when set; and `restore-photos frame`."""
import json

import pytest

from restore_dagster.cli import main
from restore_dagster.config import STAGES
from restore_dagster.lineage import fingerprints
from restore_dagster.settings import PER_PHOTO_FIELDS, PhotoSettings, SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.test_sync import mark_done, plan

CORNERS = [[0.1, 0.05], [0.9, 0.1], [0.95, 0.9], [0.05, 0.95]]


def test_corners_are_stored_checked_and_ordered_and_forgotten_on_reset(layout):
    store = SettingsStore(layout.state)
    result = store.set("al/x", frame_corners=[CORNERS[2], CORNERS[3], CORNERS[0], CORNERS[1]], rotation=180)
    assert result.frame_corners == tuple(map(tuple, CORNERS)) and result.rotation == 180
    assert json.loads(store.path.read_text()) == {"al/x": {"frame_corners": CORNERS, "rotation": 180}}
    assert store.get("al/x") == result, "read back as it was stored"
    store.set("al/x", render_factor=20)
    store.forget("al/x", *PER_PHOTO_FIELDS)
    assert json.loads(store.path.read_text()) == {"al/x": {"render_factor": 20}}, "other settings stay"
    store.forget("al/x", "render_factor")
    assert json.loads(store.path.read_text()) == {}


@pytest.mark.parametrize("changes, reason", [
    ({"frame_corners": [[0, 0], [640, 0], [640, 480], [0, 480]]}, "outside the picture"),
    ({"frame_corners": [[0, 0], [1, 1], [1, 0], [0.5, 0.1]]}, "convex"),
    ({"rotation": 45}, "rotation must be one of"),
])
def test_a_bad_framing_is_refused_and_nothing_is_stored(layout, changes, reason):
    store = SettingsStore(layout.state)
    store.set("al/x", frame_corners=CORNERS)
    with pytest.raises(ValueError, match=reason):
        store.set("al/x", **changes)
    assert json.loads(store.path.read_text()) == {"al/x": {"frame_corners": CORNERS}}


def test_a_hand_edited_bad_framing_names_the_file_and_the_photo(layout):
    store = SettingsStore(layout.state)
    store.path.write_text(json.dumps({"al/x": {"frame_corners": [[0, 0], [1, 0]]}}))
    with pytest.raises(ValueError, match=r"settings.json: settings of al/x: .*frame_corners"):
        store.get("al/x")


def test_framing_is_never_a_project_default(layout):
    store = SettingsStore(layout.state)
    with pytest.raises(ValueError, match="only be set per photo"):
        store.set_defaults(rotation=90)
    store.defaults_path.write_text(json.dumps({"rotation": 90, "frame_corners": CORNERS, "render_factor": 20}))
    defaults = SettingsStore(layout.state).defaults
    assert (defaults.rotation, defaults.frame_corners, defaults.render_factor) == (0, None, 20)


def test_framing_changes_scanned_and_everything_after_it_and_unframed_photos_keep_their_fingerprints():
    plain = fingerprints("sig", PhotoSettings(), {})
    framed = fingerprints("sig", PhotoSettings(frame_corners=CORNERS), {})
    turned = fingerprints("sig", PhotoSettings(rotation=90), {})
    assert all(framed[stage] != plain[stage] != turned[stage] for stage in STAGES)
    assert framed != turned
    # Equal framings given in another order are the same framing: nothing re-runs.
    assert fingerprints("sig", PhotoSettings(frame_corners=CORNERS[::-1]), {}) == framed
    # Without framing the scanned parts are what they were before framing existed (no "framing" key).
    from restore_dagster.lineage import STAGE_SALT, _digest

    assert plain["scanned"] == _digest({"up": "sig", "salt": STAGE_SALT["scanned"], "settings": {}, "touchup": None})


def test_restore_photos_frame(layout, capsys):
    write_scan(layout.gallery / "Al" / "x.jpg")
    key = plan(layout).added[0]
    mark_done(layout, key)
    assert plan(layout).requests == []

    assert main(["frame", key]) == 0
    assert capsys.readouterr().out == "framing = automatic\nrotation = 0° clockwise\n"

    assert main(["frame", key, "--corners", "0.95,0.9", "0.1,0.05", "0.05,0.95", "0.9,0.1"]) == 0
    out = capsys.readouterr().out
    assert "framing = manual: top-left 0.1,0.05, top-right 0.9,0.1, bottom-right 0.95,0.9, bottom-left 0.05,0.95" in out
    assert f"restore-photos run --photo {key}" in out
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("scanned", (key,))]

    assert main(["frame", key, "--crop", "0.1,0.2,0.9,0.8", "--rotate", "270"]) == 0
    settings = SettingsStore(layout.state).get(key)
    assert settings.frame_corners == ((0.1, 0.2), (0.9, 0.2), (0.9, 0.8), (0.1, 0.8)) and settings.rotation == 270

    # Refused: pixels where fractions are meant, a crossed crop, a turn that is not 90° steps; nothing changes.
    assert main(["frame", key, "--corners", "0,0", "640,0", "640,480", "0,480"]) == 2
    assert "outside the picture: corners are fractions" in capsys.readouterr().err
    assert main(["frame", key, "--reset", "--crop", "0.9,0.2,0.1,0.8"]) == 2
    assert "left must be less than right" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frame", key, "--rotate", "45"])
    with pytest.raises(SystemExit):
        main(["frame", key, "--crop", "0.1,0.2"])
    assert SettingsStore(layout.state).get(key) == settings, "a refused framing leaves the old one in place"
    assert main(["frame", "nope/nope", "--rotate", "90"]) == 2

    # Only the turn undone, then everything back to automatic.
    assert main(["frame", key, "--rotate", "0"]) == 0
    assert SettingsStore(layout.state).get(key).rotation == 0
    assert main(["frame", key, "--reset"]) == 0
    assert "framing = automatic" in capsys.readouterr().out
    assert key not in json.loads(SettingsStore(layout.state).path.read_text())
    assert plan(layout).requests == [], "back to what was restored: nothing to redo"
