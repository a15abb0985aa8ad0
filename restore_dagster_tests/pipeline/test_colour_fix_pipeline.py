"""A colour fix through the real sensor and assets: made, it re-runs only that photo and only from
``colorized``; the region takes the colour under the colouriser's luminance; undone, the photo is
coloured as before (the DeOldify stand-in weights, as in the other pipeline tests)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster import colour_fixes
from restore_dagster.config import STAGES
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.imaging import decode_stage_file
from restore_dagster.lineage import read_record, stage_file, stage_image_file
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.imaging.colour_fix_scene import scene
from restore_dagster_tests.pipeline.harness import drain
from restore_dagster_tests.test_sync import plan

BLUE = "#2b4f9e"


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def _records(layout, key):
    return {stage: read_record(layout, stage, key).at for stage in STAGES}


def test_a_colour_fix_reruns_only_colorized_and_what_follows_and_undo_gives_the_colours_back(layout, instance, resources):
    SettingsStore(layout.state).set_defaults(long_side=240, tone="off")
    rgb, _, _ = scene(size=(240, 180), grain=3.0)
    (layout.gallery / "al").mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(layout.gallery / "al" / "x.png")
    write_scan(layout.gallery / "al" / "y.jpg", grey=True, seed=2)
    plan(layout)  # registered, so its framing can be set: the whole picture (print detection would take the dress for a print)
    SettingsStore(layout.state).set("al/x", frame_corners=((0, 0), (1, 0), (1, 1), (0, 1)))
    drain(instance, resources)
    assert read_record(layout, "published", "al/x") is not None and read_record(layout, "published", "al/y") is not None
    before_x, before_y = _records(layout, "al/x"), _records(layout, "al/y")
    coloured = decode_stage_file(stage_image_file(layout, "colorized", "al/x"))
    upscaled = decode_stage_file(stage_image_file(layout, "upscaled", "al/x"))
    assert read_record(layout, "colorized", "al/x").metadata["colorized"] is True
    fingerprint = read_record(layout, "colorized", "al/x").fingerprint

    # The owner taps the dress (the web and the CLI make fixes the same way).
    fix, region = colour_fixes.make_fix(cf.working_luminance(upscaled), 0.45, 0.8, 24, BLUE)
    assert 0.1 < region.area < 0.35, "the dress"
    colour_fixes.add_fix(layout, "al/x", fix)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.tags["restore/start_stage"]) for r in requests] == [("al/x", "colorized")]
    after_x = _records(layout, "al/x")
    assert all(after_x[s] == before_x[s] for s in ("scanned", "repaired", "toned", "upscaled")), "nothing before colorized"
    assert all(after_x[s] != before_x[s] for s in ("colorized", "compressed", "published"))
    assert _records(layout, "al/y") == before_y, "the other photo is left alone"

    record = read_record(layout, "colorized", "al/x").metadata
    assert record["colour_fixes"] == {"applied": [fix.id], "skipped": []} and record["colour_fixes_applied"] == 1
    fixed = decode_stage_file(stage_image_file(layout, "colorized", "al/x"))
    lab_before, lab_after = cf._lab(np.asarray(coloured)), cf._lab(np.asarray(fixed))
    assert np.abs(lab_after[..., 0] - lab_before[..., 0]).max() < 0.6, "the colouriser's luminance is kept"
    full = cf.soft_mask(region.mask, fixed.size) > 0.999
    target = cf._lab(np.array([cf.parse_colour(BLUE)], np.uint8))[0]
    hue = np.degrees(np.arctan2(lab_after[full][:, 2], lab_after[full][:, 1]))
    assert np.percentile(np.abs(hue - np.degrees(np.arctan2(target[2], target[1]))), 99) < 3, "the dress is blue"
    untouched = cf.soft_mask(region.mask, fixed.size) == 0
    assert (np.asarray(fixed)[untouched] == np.asarray(coloured)[untouched]).all(), "the rest as the colouriser made it"
    with Image.open(stage_file(layout, "colorized", "al/x", "colour-fixes.png")) as audit:
        assert (np.asarray(audit) == 1).sum() == region.mask.sum(), "the audit mask shows what was coloured"

    # Re-colourised with another render factor: the fix is replayed on the new colours.
    SettingsStore(layout.state).set("al/x", render_factor=9)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.tags["restore/start_stage"]) for r in requests] == [("al/x", "colorized")]
    assert read_record(layout, "colorized", "al/x").metadata["colour_fixes"]["applied"] == [fix.id]
    SettingsStore(layout.state).set("al/x", render_factor=8)
    drain(instance, resources)

    # Undone: coloured again from colorized, as it was before the fix.
    assert colour_fixes.undo_fix(layout, "al/x") == fix
    requests = drain(instance, resources)
    assert [(r.partition_key, r.tags["restore/start_stage"]) for r in requests] == [("al/x", "colorized")]
    assert np.asarray(decode_stage_file(stage_image_file(layout, "colorized", "al/x"))).tobytes() == np.asarray(coloured).tobytes()
    assert "colour_fixes" not in read_record(layout, "colorized", "al/x").metadata
    assert not stage_file(layout, "colorized", "al/x", "colour-fixes.png").exists()
    assert read_record(layout, "colorized", "al/x").fingerprint == fingerprint, "the fingerprint of before the fix"
