"""The `repaired` stage end to end: scratched photos through every stage, the owner's mask corrections,
missing weights (published, "repair pending", repaired once they appear), repair off and auto, the CLI.

The networks run with stand-in weights (conftest's ``scratch_weights`` and ``lama_weights``): their
masks and fills mean nothing, so the tests compare the stage's mask with what the detectors compute
on their own and mark the scratch they check with the owner's correction, as a person would.
"""
from __future__ import annotations

import dagster as dg
import numpy as np
import pytest
from PIL import Image, ImageDraw

from restore_dagster.assets.repaired import AUTO_MAX_COVERAGE_PERCENT, auto_decision
from restore_dagster.config import STAGES
from restore_dagster.lineage import read_failure, read_record, repair_mask_path, stage_file
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain, execute, materialized, tick

SIZE = (64, 48)
SCRATCH = ((6, 8), (58, 40))  # a white scratch across the print, one pixel wide
SPECKS = ((12, 36), (44, 10), (50, 30))  # dark dust, 2×2 each


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def gpu(artistic_weights, scratch_weights=None, lama_weights=None):
    from restore_dagster.resources import GpuResource

    return GpuResource(device="cpu", artistic_weights=str(artistic_weights), download_weights=False,
                       scratch_weights=str(scratch_weights or ""), lama_weights=str(lama_weights or ""))


@pytest.fixture
def repair_resources(layout, artistic_weights, scratch_weights, lama_weights):
    from restore_dagster.resources import StorageResource

    # 0.5: the stand-in network marks about 5% of the test scan (at BOPBTL's 0.4 it marks 63%).
    SettingsStore(layout.state).set_defaults(repair="on", repair_threshold=0.5)
    return {"storage": StorageResource(home=str(layout.root)), "gpu": gpu(artistic_weights, scratch_weights, lama_weights)}


def scratched_scan(path, seed=1):
    """A lossless grey print with a white scratch and dark specks (PNG: `scanned` keeps every pixel)."""
    write_scan(path, grey=True, size=SIZE, seed=seed, fmt="PNG")
    with Image.open(path) as image:
        image = image.convert("L")
    draw = ImageDraw.Draw(image)
    draw.line(SCRATCH, fill=255, width=1)
    for x, y in SPECKS:
        draw.rectangle((x, y, x + 1, y + 1), fill=15)
    image.save(path)
    return path


def scratch_pixels() -> np.ndarray:
    canvas = Image.new("L", SIZE, 0)
    ImageDraw.Draw(canvas).line(SCRATCH, fill=255, width=1)
    return np.asarray(canvas) > 0


def mark_scratch(layout, key, value=255, width=3):
    """The owner paints over the scratch (white: repair here; black: never here), grey elsewhere."""
    canvas = Image.new("L", SIZE, 128)
    ImageDraw.Draw(canvas).line(SCRATCH, fill=value, width=width)
    path = repair_mask_path(layout, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return np.asarray(canvas) == value


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def stage_mask(layout, key) -> np.ndarray:
    with Image.open(stage_file(layout, "repaired", key, "mask.png")) as image:
        assert image.mode == "L" and set(np.unique(np.asarray(image))) <= {0, 255}
        return np.asarray(image) > 0


def detectors_mask(scan_path, scratch_weights, threshold) -> tuple[np.ndarray, np.ndarray]:
    """(scratches, specks) the detectors find on their own, outside the pipeline."""
    from restore_dagster.imaging.specks import detect_specks
    from restore_dagster.models.scratch_detection import detect_scratches, load_detector

    with Image.open(scan_path) as image:
        scan = image.convert("RGB")
    scratches = np.asarray(detect_scratches(scan, load_detector(scratch_weights, device="cpu"), threshold=threshold)) > 0
    return scratches, np.asarray(detect_specks(scan)) > 0


def test_a_scratched_photo_is_repaired_through_every_stage(layout, instance, repair_resources, scratch_weights):
    scratched_scan(layout.gallery / "al" / "x.png")
    painted = mark_scratch(layout, "al/x")  # marked before the first run, as from the web brush
    drain(instance, repair_resources)

    for stage in STAGES:
        assert materialized(instance, stage) == {"al/x"}, stage
    scanned, repaired = read_record(layout, "scanned", "al/x"), read_record(layout, "repaired", "al/x")
    before, after = pixels(scanned.file), pixels(repaired.file)
    mask = stage_mask(layout, "al/x")
    scratches, specks = detectors_mask(scanned.file, scratch_weights, 0.5)
    assert (mask == (scratches | specks | painted)).all()  # network ∪ specks ∪ the owner's strokes
    assert (after[~mask] == before[~mask]).all()  # the rest of the scan is untouched
    line = scratch_pixels()
    changed = (after != before).any(axis=-1)
    assert changed[line].mean() > 0.95  # the scratch is painted out
    assert changed[mask].mean() > 0.5

    meta = repaired.metadata
    assert meta["repaired"] is True and meta["repair"].startswith("repaired ")
    assert meta["coverage_percent"] == pytest.approx(100 * mask.mean(), abs=1e-3)
    assert meta["regions"] >= 1 and meta["device"] == "cpu" and meta["seconds"] > 0
    assert meta["repair_mode"] == "on" and meta["repair_threshold"] == 0.5 and meta["corrected"] is True
    assert mask.mean() < 0.2  # most of the scan is outside the mask, and unchanged
    assert "optional_steps" not in meta and "optional_steps" not in read_record(layout, "published", "al/x").metadata
    assert "scratches and dust painted out" in read_record(layout, "compressed", "al/x").metadata["note"]

    event = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("repaired"), asset_partitions=["al/x"]), limit=1).records[0]
    shown = event.asset_materialization.metadata
    for preview in ("mask_overlay", "before_after"):
        assert "data:image/jpeg;base64," in shown[preview].value and len(shown[preview].value) < 80_000
    assert shown["coverage_percent"].value == meta["coverage_percent"]
    assert isinstance(tick(instance, repair_resources), dg.SkipReason)  # done: nothing more to do


def test_upscaled_is_made_from_repaired_and_a_hand_repaired_image_replaces_it(layout, instance, repair_resources):
    scratched_scan(layout.gallery / "al" / "x.png")
    drain(instance, repair_resources)
    upscaled_before = pixels(read_record(layout, "upscaled", "al/x").file)

    hand = layout.touchup_dir("repaired") / "al" / "x.png"
    hand.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", SIZE, (90, 90, 90)).save(hand)
    requests = drain(instance, repair_resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "repaired")]
    record = read_record(layout, "repaired", "al/x")
    assert record.metadata["touched_up"] is True and record.metadata["repaired"] is False
    assert (pixels(record.file) == 90).all() and not stage_mask(layout, "al/x").any()
    upscaled = pixels(read_record(layout, "upscaled", "al/x").file)
    assert upscaled.std() < 2 and not np.array_equal(upscaled, upscaled_before)  # the upscaler read the hand-repaired image


def test_a_scanned_touch_up_still_feeds_repaired(layout, instance, repair_resources, scratch_weights):
    write_scan(layout.gallery / "al" / "x.jpg", seed=3)
    drain(instance, repair_resources)
    touch = scratched_scan(layout.touchup_dir("scanned") / "al" / "x.png", seed=4)
    painted = mark_scratch(layout, "al/x")
    requests = drain(instance, repair_resources)
    assert requests[0].asset_selection[0] == dg.AssetKey("scanned")
    scratches, specks = detectors_mask(touch, scratch_weights, 0.5)
    assert (stage_mask(layout, "al/x") == (scratches | specks | painted)).all()
    assert read_record(layout, "repaired", "al/x").metadata["repaired"] is True


def test_a_mask_correction_reruns_only_that_photo_from_repaired(layout, instance, repair_resources, scratch_weights):
    scratched_scan(layout.gallery / "al" / "x.png", seed=1)
    scratched_scan(layout.gallery / "al" / "y.png", seed=2)
    drain(instance, repair_resources)
    y_records = {s: read_record(layout, s, "al/y").at for s in STAGES}
    x_scanned = read_record(layout, "scanned", "al/x").at
    first_mask = stage_mask(layout, "al/x")

    painted = mark_scratch(layout, "al/x")
    requests = drain(instance, repair_resources)
    assert len(requests) == 1 and requests[0].partition_key == "al/x"
    assert [k.path[-1] for k in requests[0].asset_selection] == list(STAGES[1:])  # from repaired down
    assert read_record(layout, "scanned", "al/x").at == x_scanned
    assert {s: read_record(layout, s, "al/y").at for s in STAGES} == y_records
    mask = stage_mask(layout, "al/x")
    assert (mask == (first_mask | painted)).all()

    # Black over the same strokes: never repaired there, whatever a detector says.
    erased = mark_scratch(layout, "al/x", value=0, width=5)
    requests = drain(instance, repair_resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "repaired")]
    assert not (stage_mask(layout, "al/x") & erased).any()
    scratches, specks = detectors_mask(read_record(layout, "scanned", "al/x").file, scratch_weights, 0.5)
    assert (stage_mask(layout, "al/x") == ((scratches | specks) & ~erased)).all()
    assert repair_mask_path(layout, "al/x").exists()  # the owner's file is never removed


def test_missing_weights_publish_unrepaired_marked_pending_then_repaired_when_they_appear(
    layout, instance, monkeypatch, tmp_path, artistic_weights, scratch_weights, lama_weights
):
    from restore_dagster.resources import StorageResource

    to_come = {"scratch": tmp_path / "later" / "FT_Epoch_latest.pt", "lama": tmp_path / "later" / "best.ckpt"}
    monkeypatch.setenv("RESTORE_SCRATCH_WEIGHTS", str(to_come["scratch"]))
    monkeypatch.setenv("RESTORE_LAMA_WEIGHTS", str(to_come["lama"]))
    # 0.5: the stand-in network marks about 5% of this scan there, which auto repairs (see the auto test).
    SettingsStore(layout.state).set_defaults(repair="auto", repair_threshold=0.5)
    resources = {"storage": StorageResource(home=str(layout.root)), "gpu": gpu(artistic_weights)}
    scan = scratched_scan(layout.gallery / "al" / "x.png")
    painted = mark_scratch(layout, "al/x")
    drain(instance, resources)

    assert materialized(instance, "published") == {"al/x"} and read_failure(layout, "al/x") is None
    repaired = read_record(layout, "repaired", "al/x")
    assert repaired.metadata["repaired"] is False and repaired.metadata["repair"] == "not repaired: weights missing"
    assert (pixels(repaired.file) == pixels(read_record(layout, "scanned", "al/x").file)).all()
    assert not stage_mask(layout, "al/x").any()
    [step] = repaired.metadata["optional_steps"]
    assert (step["step"], step["state"], step["reason"]) == ("repair", "pending", "weights missing")
    assert "FT_Epoch_latest.pt" in step["weights"] and "best.ckpt" in step["weights"]
    for kind, path in to_come.items():
        assert str(path) in step["detail"] and f"RESTORE_{kind.upper()}_WEIGHTS" in step["detail"]
    assert read_record(layout, "published", "al/x").metadata["optional_steps"] == [step]
    assert "no repair yet (repair pending: weights missing)" in read_record(layout, "compressed", "al/x").metadata["note"]
    assert isinstance(tick(instance, resources), dg.SkipReason)  # not redone on every tick

    # LaMa arrives first: specks and the owner's strokes are repaired; scratch detection still pending.
    to_come["scratch"].parent.mkdir()
    to_come["lama"].write_bytes(lama_weights.read_bytes())
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "repaired")]
    partly = read_record(layout, "repaired", "al/x").metadata
    assert partly["repaired"] is True and "without scratch detection" in partly["repair"]
    _, specks = detectors_mask(scan, scratch_weights, 0.5)
    assert (stage_mask(layout, "al/x") == (specks | painted)).all()
    [step] = partly["optional_steps"]
    assert step["weights"] == "FT_Epoch_latest.pt" and str(to_come["scratch"]) in step["detail"]
    assert str(to_come["lama"]) not in step["detail"]

    to_come["scratch"].write_bytes(scratch_weights.read_bytes())
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "repaired")]
    done = read_record(layout, "repaired", "al/x").metadata
    assert "optional_steps" not in done and "optional_steps" not in read_record(layout, "published", "al/x").metadata
    assert done["repaired"] is True and done["repair"].startswith("repaired ")
    scratches, specks = detectors_mask(scan, scratch_weights, 0.5)
    assert scratches.any() and (stage_mask(layout, "al/x") == (scratches | specks | painted)).all()  # the network's mask joined in


def test_status_catalogue_and_web_show_repair_pending(layout, monkeypatch, tmp_path, capsys, artistic_weights):
    """`restore-photos run` without the repair weights publishes; status, the catalogue and the web
    gallery say "repair pending" with the fix, like colour pending."""
    from restore_dagster.catalogue import build_catalogue
    from restore_dagster.cli import main
    from restore_dagster.registry import RegistryStore
    from restore_dagster.viewer.i18n import translator
    from restore_dagster.viewer.library import Photo
    from restore_dagster.viewer.states import StateReader
    from restore_dagster.viewer.views import public_reason, state_label

    missing = tmp_path / "weights-to-come"
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    monkeypatch.setenv("RESTORE_SCRATCH_WEIGHTS", str(missing / "FT_Epoch_latest.pt"))  # no network needed
    monkeypatch.setenv("RESTORE_LAMA_WEIGHTS", str(missing / "best.ckpt"))
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")
    assert main(["settings", "defaults", "--repair", "auto"]) == 0
    scratched_scan(layout.gallery / "Demo" / "scan.png")
    assert main(["run", "--quiet"]) == 0
    capsys.readouterr()

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["album", "restored", "repair", "pending", "pending", "failed"]
    assert "repair pending: weights missing: 1 photo(s) published without repair for now" in out
    assert str(missing / "best.ckpt") in out
    table = build_catalogue(layout, RegistryStore(layout.state).load(), SettingsStore(layout.state)).set_index("key")
    assert table.loc["demo/scan", "state"] == "repair pending" and table.loc["demo/scan", "repair"] == "not repaired: weights missing"
    scan = layout.gallery / "Demo" / "scan.png"
    photo = Photo("Demo", "scan.png", "scan", scan.stat().st_size, scan.stat().st_mtime_ns)
    status = StateReader(layout, lambda: set()).statuses([photo], with_details=True)[photo.source]
    assert status.state == "partial" and status.reason == "repair pending: weights missing"
    assert str(missing / "best.ckpt") in status.detail and status.details["repaired"] is False
    assert state_label(status, translator("en")) == "Repair pending"
    assert "repaired automatically" in public_reason(status, translator("en"))


def test_weights_that_are_there_but_wrong_fail_the_photo(layout, instance, monkeypatch, tmp_path, artistic_weights, lama_weights):
    from restore_dagster.resources import StorageResource

    bad = tmp_path / "FT_Epoch_latest.pt"
    bad.write_bytes(b"\x80\x02 truncated pickle")
    SettingsStore(layout.state).set_defaults(repair="on")
    resources = {"storage": StorageResource(home=str(layout.root)), "gpu": gpu(artistic_weights, bad, lama_weights)}
    scratched_scan(layout.gallery / "al" / "x.png")
    drain(instance, resources)
    assert materialized(instance, "published") == set()
    failure = read_failure(layout, "al/x")
    assert failure["stage"] == "repaired" and str(bad) in failure["reason"]


def test_repair_off_passes_the_scan_through_and_needs_no_weights(layout, instance, resources):
    """The conftest's project defaults have repair off; no repair weights are configured at all."""
    scratched_scan(layout.gallery / "al" / "x.png")
    drain(instance, resources)
    scanned, repaired = read_record(layout, "scanned", "al/x"), read_record(layout, "repaired", "al/x")
    with open(scanned.file, "rb") as a, open(repaired.file, "rb") as b:
        assert a.read() == b.read()
    assert not stage_mask(layout, "al/x").any() and stage_mask(layout, "al/x").shape == (SIZE[1], SIZE[0])
    meta = repaired.metadata
    assert meta["repair"] == "off: the scan passed through unchanged" and meta["repaired"] is False
    assert meta["coverage_percent"] == 0 and meta["regions"] == 0 and "optional_steps" not in meta
    assert meta["is_grey"] is scanned.metadata["is_grey"]
    assert "optional_steps" not in read_record(layout, "published", "al/x").metadata


def test_auto_repairs_plausible_damage_and_leaves_texture_alone():
    assert auto_decision("auto", AUTO_MAX_COVERAGE_PERCENT) == (True, "")
    assert auto_decision("auto", 0.0) == (True, "")
    repair, why = auto_decision("auto", AUTO_MAX_COVERAGE_PERCENT + 0.1)
    assert repair is False and "texture" in why and "repair on" in why
    assert auto_decision("on", 80.0) == (True, "")


def test_auto_declines_a_mask_that_covers_too_much_but_still_repairs_the_owners_strokes(
    layout, instance, repair_resources, scratch_weights
):
    """A low threshold makes the (stand-in) scratch network mark much of the photo: auto leaves that
    alone; at a higher one it marks a plausible share, and auto repairs it."""
    scan = scratched_scan(layout.gallery / "al" / "x.png")
    scratches, specks = detectors_mask(scan, scratch_weights, 0.05)
    assert 100 * (scratches | specks).mean() > AUTO_MAX_COVERAGE_PERCENT  # the premise of this test
    plausible, _ = detectors_mask(scan, scratch_weights, 0.5)
    assert 0 < 100 * (plausible | specks).mean() <= AUTO_MAX_COVERAGE_PERCENT  # and of its second half
    SettingsStore(layout.state).set("al/x", repair="auto", repair_threshold=0.05)
    painted = mark_scratch(layout, "al/x")
    drain(instance, repair_resources)
    meta = read_record(layout, "repaired", "al/x").metadata
    assert meta["detected_percent"] > AUTO_MAX_COVERAGE_PERCENT
    assert (stage_mask(layout, "al/x") == painted).all()  # only what the owner asked for
    assert meta["repaired"] is True

    SettingsStore(layout.state).set("al/x", repair="on")
    drain(instance, repair_resources)
    assert (stage_mask(layout, "al/x") == (scratches | specks | painted)).all()

    SettingsStore(layout.state).set("al/x", repair="auto", repair_threshold=0.5)
    drain(instance, repair_resources)
    meta = read_record(layout, "repaired", "al/x").metadata
    assert meta["detected_percent"] <= AUTO_MAX_COVERAGE_PERCENT and "auto" not in meta["repair"]
    assert (stage_mask(layout, "al/x") == (plausible | specks | painted)).all()


def test_repair_settings_from_the_cli_are_honoured_by_the_next_sensor_run(
    layout, instance, repair_resources, scratch_weights, capsys
):
    from restore_dagster.cli import main

    SettingsStore(layout.state).set_defaults(repair="off")
    scan = scratched_scan(layout.gallery / "al" / "x.png")
    write_scan(layout.gallery / "al" / "y.jpg", seed=5)
    drain(instance, repair_resources)
    assert read_record(layout, "repaired", "al/x").metadata["repair"].startswith("off")

    assert main(["settings", "al/x", "--repair", "on", "--repair-threshold", "0.45"]) == 0
    assert "repair = on" in capsys.readouterr().out
    result = tick(instance, repair_resources)
    [request] = result.run_requests
    assert (request.partition_key, request.asset_selection[0].path[-1]) == ("al/x", "repaired")
    execute(instance, repair_resources, request)
    meta = read_record(layout, "repaired", "al/x").metadata
    assert meta["repair_mode"] == "on" and meta["repair_threshold"] == 0.45
    scratches, specks = detectors_mask(scan, scratch_weights, 0.45)
    assert (stage_mask(layout, "al/x") == (scratches | specks)).all()

    assert main(["settings", "al/x", "--repair-threshold", "2"]) == 2  # refused, nothing stored
    assert "repair_threshold must be between 0.05 and 0.95" in capsys.readouterr().err
    assert main(["settings", "defaults", "--repair", "auto"]) == 0
    requests = drain(instance, repair_resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/y", "repaired")]
    assert read_record(layout, "repaired", "al/y").metadata["repair_mode"] == "auto"


def test_colour_is_decided_without_the_damage(layout, instance, repair_resources):
    """A grey print whose coloured stains read as colour in `scanned` is grey in `repaired` once the
    stains are in the repair mask, so it is colourised."""
    path = layout.gallery / "al" / "stained.png"
    write_scan(path, grey=True, size=SIZE, seed=6, fmt="PNG")
    with Image.open(path) as image:
        stained = image.convert("RGB")
    stains = Image.new("L", SIZE, 128)
    for box in ((4, 4, 22, 16), (40, 28, 60, 44)):
        ImageDraw.Draw(stained).rectangle(box, fill=(40, 160, 230))
        ImageDraw.Draw(stains).rectangle(box, fill=255)
    stained.save(path)
    corrections = repair_mask_path(layout, "al/stained")
    corrections.parent.mkdir(parents=True, exist_ok=True)
    stains.save(corrections)
    drain(instance, repair_resources)
    assert read_record(layout, "scanned", "al/stained").metadata["is_grey"] is False
    assert read_record(layout, "repaired", "al/stained").metadata["is_grey"] is True
    assert read_record(layout, "colorized", "al/stained").metadata["colorized"] is True
