"""The owner's colour fixes as data (colour_fixes.py): made, stored, undone, replayed, and in ``colorized``'s fingerprint."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from restore_dagster import colour_fixes
from restore_dagster.config import COLOUR_FIX_DIRNAME, STAGES
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.lineage import colour_fix_path, fingerprints, scan_touchups, touchup_signatures
from restore_dagster.settings import PhotoSettings
from restore_dagster_tests.imaging.colour_fix_scene import scene

KEY = "family/wedding"


@pytest.fixture(scope="module")
def picture():
    rgb, dress, arm = scene(size=(800, 600))
    image = Image.fromarray(rgb)
    return image, cf.working_luminance(image), dress


def _lab(image):
    return cf._lab(np.asarray(image.convert("RGB")))


def _fix(luminance, x=0.45, y=0.8, tolerance=24, colour="#2b4f9e"):
    return colour_fixes.make_fix(luminance, x, y, tolerance, colour)[0]


def test_a_fix_is_applied_to_a_region_and_undone(layout, picture):
    image, luminance, dress = picture
    fix = _fix(luminance)
    assert colour_fixes.add_fix(layout, KEY, fix) == [fix]
    path = colour_fix_path(layout, KEY)
    stored = json.loads(path.read_text())
    assert stored["format"] == 1 and [f["id"] for f in stored["fixes"]] == [fix.id]
    assert (stored["fixes"][0]["x"], stored["fixes"][0]["colour"], stored["fixes"][0]["tolerance"]) == (0.45, "#2b4f9e", 24)
    assert colour_fixes.fixes_of(layout, KEY)[0].region().sum() == np.count_nonzero(cf.segment(luminance, 0.45, 0.8, 24).mask)

    replayed = colour_fixes.replay(image, luminance, colour_fixes.fixes_of(layout, KEY))
    assert replayed.applied == [fix.id] and replayed.skipped == []
    after = _lab(replayed.image)
    assert np.hypot(after[dress][:, 1], after[dress][:, 2]).mean() > 30, "the dress is coloured"
    assert np.abs(after[..., 0] - _lab(image)[..., 0]).max() < 0.6, "the luminance stays the scan's"
    assert replayed.labels.max() == 1 and (replayed.labels == 1).sum() == cf.segment(luminance, 0.45, 0.8, 24).mask.sum()

    assert colour_fixes.undo_fix(layout, KEY) == fix
    assert not path.exists(), "the last undo removes the file: the photo is back to no fix at all"
    assert colour_fixes.replay(image, luminance, colour_fixes.fixes_of(layout, KEY)).image.tobytes() == image.tobytes()
    assert colour_fixes.undo_fix(layout, KEY) is None


def test_undo_takes_back_the_last_fix_or_any_one_by_its_id(layout, picture):
    _, luminance, _ = picture
    fixes = [_fix(luminance, colour=c) for c in ("#aa0000", "#00aa00", "#0000aa")]
    for fix in fixes:
        colour_fixes.add_fix(layout, KEY, fix)
    assert colour_fixes.undo_fix(layout, KEY, fixes[1].id) == fixes[1]
    assert [f.id for f in colour_fixes.fixes_of(layout, KEY)] == [fixes[0].id, fixes[2].id]
    assert colour_fixes.undo_fix(layout, KEY, "deadbeef") is None
    assert colour_fixes.undo_fix(layout, KEY) == fixes[2]
    assert colour_fixes.forget_fixes(layout, KEY) == 1 and not colour_fix_path(layout, KEY).exists()


def test_later_fixes_win_where_regions_overlap(layout, picture):
    image, luminance, dress = picture
    first, second = _fix(luminance, colour="#b3262e"), _fix(luminance, colour="#2b4f9e")
    replayed = colour_fixes.replay(image, luminance, [first, second])
    only_second = colour_fixes.replay(image, luminance, [second])
    inner = np.asarray(Image.fromarray(dress.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(9))) > 0
    # Inside, the second colour alone (the first one's chroma is replaced; only the feathered rim blends).
    diff = np.abs(np.asarray(replayed.image).astype(int) - np.asarray(only_second.image).astype(int))[inner]
    assert np.percentile(diff.max(axis=1), 99) <= 2, "(a grain the fill left out is a hole: its rim blends)"
    assert replayed.labels.max() == 2


def test_a_fix_replays_after_recolourisation_on_the_new_colours(picture):
    """Another colouriser gives other chroma but keeps the luminance: the same region is found and coloured."""
    image, luminance, dress = picture
    fix = _fix(luminance)
    rgb = np.asarray(image).astype(np.int16)
    # A "re-colourisation": a warm cast over everything, then the upscaled luminance put back (as the models do).
    warm = np.clip(rgb + np.array([30, 5, -25]), 0, 255).astype(np.uint8)
    lab_warm = _lab(Image.fromarray(warm))
    lab_warm[..., 0] = _lab(image)[..., 0]
    recoloured = Image.fromarray(cf._srgb8(lab_warm))
    replayed = colour_fixes.replay(recoloured, luminance, [fix])
    assert replayed.applied == [fix.id]
    first = colour_fixes.replay(image, luminance, [fix]).image
    inner = np.asarray(Image.fromarray(dress.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(9))) > 0
    a, b = _lab(first)[inner], _lab(replayed.image)[inner]
    assert np.abs(a[:, 1:] - b[:, 1:]).max() < 1.5, "inside the region the fix's colour, whatever the colouriser did"
    outside = ~np.asarray(Image.fromarray(dress.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(21))) > 0
    assert (np.asarray(replayed.image)[outside] == np.asarray(recoloured)[outside]).all(), "outside, the colouriser's colours"


def test_a_fix_that_no_longer_applies_is_skipped_with_a_reason(picture):
    image, luminance, _ = picture
    fix = _fix(luminance)
    # The photo changed under the fix (a new scan, say): a dark seam now cuts the dress above the tap.
    changed = np.asarray(image).copy()
    changed[445:455, :] = 20
    changed_luminance = cf.working_luminance(Image.fromarray(changed))
    replayed = colour_fixes.replay(Image.fromarray(changed), changed_luminance, [fix])
    assert replayed.applied == []
    [skipped] = replayed.skipped
    assert skipped["id"] == fix.id
    assert "now covers" in skipped["reason"] and "tap it again" in skipped["reason"]
    assert replayed.image.tobytes() == Image.fromarray(changed).tobytes(), "a skipped fix changes nothing"
    assert not replayed.labels.any()
    # The tap now lands on a hairline inside a wide dark band: a sliver instead of the dress, skipped.
    seam = np.asarray(image).copy()
    seam[:, 380:420] = 20
    seam[:, 399:402] = 200
    on_seam = colour_fixes.replay(Image.fromarray(seam), cf.working_luminance(Image.fromarray(seam)), [_fix(luminance, x=0.5, y=0.8)])
    assert on_seam.applied == [] and "now covers" in on_seam.skipped[0]["reason"]


@pytest.mark.parametrize("content, words", [
    ("not json", "not JSON"),
    ('{"fixes": []}', "not a colour-fix file"),
    ('{"format": 1, "fixes": [{"id": "ab"}]}', "fix 1: missing"),
    ("bad field", "fix 1: "),
    ("bad mask", "mask is not a readable PNG"),
    ("same ids", "share an id"),
])
def test_a_broken_fixes_file_is_an_error_naming_the_file_and_the_fix(layout, picture, content, words):
    _, luminance, _ = picture
    good = _fix(luminance).to_json()
    if content == "bad field":
        content = json.dumps({"format": 1, "fixes": [{**good, "colour": "blue"}]})
    elif content == "bad mask":
        content = json.dumps({"format": 1, "fixes": [{**good, "mask": "aGVsbG8="}]})
    elif content == "same ids":
        content = json.dumps({"format": 1, "fixes": [good, good]})
    path = colour_fix_path(layout, KEY)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(colour_fixes.ColourFixFileError, match=words) as raised:
        colour_fixes.fixes_of(layout, KEY)
    assert str(path) in str(raised.value)
    with pytest.raises(colour_fixes.ColourFixFileError):  # never overwritten: the owner's fixes would be lost
        colour_fixes.add_fix(layout, KEY, _fix(luminance))
    assert path.read_text() == content
    assert colour_fixes.forget_fixes(layout, KEY) == 0 and not path.exists()


def test_a_photo_has_at_most_max_fixes(layout, picture, monkeypatch):
    monkeypatch.setattr(colour_fixes, "MAX_FIXES", 2)
    for _ in range(2):
        colour_fixes.add_fix(layout, KEY, _fix(picture[1]))
    with pytest.raises(cf.ColourFixError, match="already has 2"):
        colour_fixes.add_fix(layout, KEY, _fix(picture[1]))


@pytest.mark.parametrize("key", ["../x/y", "a/../../b", "/abs/olute", "a/b/c", "a", "A/b", "a/" + "b" * 300])
def test_hostile_keys_never_become_paths(layout, key):
    with pytest.raises(ValueError, match="not a photo key"):
        colour_fix_path(layout, key)


def test_fixes_change_the_fingerprint_of_colorized_and_what_follows_only(layout, picture):
    settings = PhotoSettings()
    before = fingerprints("1:1", settings, touchup_signatures(layout, KEY))
    colour_fixes.add_fix(layout, KEY, _fix(picture[1]))
    touched = touchup_signatures(layout, KEY)
    assert COLOUR_FIX_DIRNAME in touched
    assert scan_touchups(layout) == {KEY: touched}, "the sensor's walk finds the same signature"
    after = fingerprints("1:1", settings, touched)
    changed = [stage for stage in STAGES if before[stage] != after[stage]]
    assert changed == ["colorized", "compressed", "published"]
    # Another fix changes it again; undoing it gives back the fingerprint of the one fix left.
    colour_fixes.add_fix(layout, KEY, _fix(picture[1], colour="#aa0000"))
    two = fingerprints("1:1", settings, touchup_signatures(layout, KEY))
    assert two["colorized"] != after["colorized"]
    colour_fixes.undo_fix(layout, KEY)
    assert fingerprints("1:1", settings, touchup_signatures(layout, KEY)) == after
    colour_fixes.undo_fix(layout, KEY)
    assert fingerprints("1:1", settings, touchup_signatures(layout, KEY)) == before, "no fix: the fingerprints of before"
    # A hand-coloured image replaces the stage: the fixes wait and do not enter the fingerprint.
    assert fingerprints("1:1", settings, {"colorized": "9:9", COLOUR_FIX_DIRNAME: "abc"})["colorized"] == \
        fingerprints("1:1", settings, {"colorized": "9:9"})["colorized"]


def test_the_listing_skips_other_files_and_hidden_ones(layout, picture):
    colour_fixes.add_fix(layout, KEY, _fix(picture[1]))
    folder = colour_fix_path(layout, KEY).parent
    (folder / ".abc.tmp").write_text("{}")  # an interrupted write
    (folder / "notes.txt").write_text("x")
    assert set(scan_touchups(layout)) == {KEY}
    assert (folder / ".lock").exists()  # the lock file is hidden: never taken for a photo


def test_a_fix_made_while_colorized_replays_is_not_lost(layout, picture, monkeypatch):
    """The stage's fingerprint is read from the fixes file after it ran: a fix added (or every fix
    undone) meanwhile must be in the output too, or the photo would count as done without it."""
    from types import SimpleNamespace

    from restore_dagster.assets.colorized import apply_colour_fixes
    from restore_dagster.lineage import stage_file

    image, luminance, _ = picture
    first, second = _fix(luminance, colour="#aa0000"), _fix(luminance, x=0.1, y=0.1, colour="#00aa00")
    colour_fixes.add_fix(layout, KEY, first)
    job = SimpleNamespace(layout=layout, key=KEY, touchup=None, log=None,
                          output=lambda s, ext: stage_file(layout, s, KEY, ext))
    replay, calls = colour_fixes.replay, []

    def owner_taps_during_the_run(*args):
        calls.append(len(args[2]))
        if len(calls) == 1:
            colour_fixes.add_fix(layout, KEY, second)
        return replay(*args)

    monkeypatch.setattr(colour_fixes, "replay", owner_taps_during_the_run)
    _, summary = apply_colour_fixes(job, image, image)
    assert calls == [1, 2] and summary["applied"] == [first.id, second.id]

    calls.clear()
    monkeypatch.setattr(colour_fixes, "replay", lambda *a: (calls.append(1), colour_fixes.forget_fixes(layout, KEY), replay(*a))[2])
    out, summary = apply_colour_fixes(job, image, image)
    assert summary == {} and out is image and not stage_file(layout, "colorized", KEY, "colour-fixes.png").exists()
