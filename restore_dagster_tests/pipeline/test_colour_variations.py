"""Colour variations through the real assets and sensors: made on request only, models without weights
left out, colour photos passed through, a choice honoured by the pipeline's later runs.

DeOldify artistic and DDColor tiny run with their deterministic stand-in weights at the smallest knobs
(render factor 7-8, input size 64-96) so a candidate costs a few seconds on a loaded CPU.
"""
from __future__ import annotations

import subprocess
import sys
import warnings

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from restore_dagster import variation_requests, variations
from restore_dagster.assets.colour_variations import colour_variations, colour_variations_sensor
from restore_dagster.lineage import read_record
from restore_dagster.partitions import photos
from restore_dagster.progress import PhotoProgress, describe
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain, materialized
from restore_dagster_tests.pipeline.test_colour_models_pipeline import ddcolor_tiny_weights  # noqa: F401 (fixture)

# The smallest knobs each model takes: the candidates' cost, not their beauty, is what tests can afford.
SMALL = {"render_factors": [8, 7], "input_sizes": [64, 96]}


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def make(instance, resources, key: str, config: dict | None = None) -> dg.ExecuteInProcessResult:
    """Materialise colour_variations for one photo, as colour_variations_job does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.materialize(
            [colour_variations], instance=instance, resources=resources, partition_key=key, raise_on_error=False,
            run_config={"ops": {"colour_variations": {"config": config if config is not None else SMALL}}})


def chroma(image: Image.Image) -> float:
    """Mean distance of the pixels from grey: 0 for a black-and-white picture."""
    rgb = np.asarray(image.convert("RGB"), dtype=float)
    return float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())


@pytest.fixture
def restored(layout, instance, resources):
    """A black-and-white photo and a colour one, restored by the sensor's runs (DeOldify artistic, rf 8)."""
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, size=(80, 60), seed=1)
    write_scan(layout.gallery / "al" / "c.png", grey=False, size=(80, 60), seed=3, fmt="PNG")
    requests = drain(instance, resources)
    assert materialized(instance, "published") == {"al/x", "al/c"}
    # Never part of the automatic runs: no request of the sensor's names it, nothing was made.
    assert all(dg.AssetKey(variations.STAGE) not in r.asset_selection for r in requests)
    assert materialized(instance, variations.STAGE) == set()
    return "al/x", "al/c"


def test_variations_cover_the_models_whose_weights_are_here_and_say_which_are_left_out(
        layout, instance, resources, restored, monkeypatch, ddcolor_tiny_weights):
    key, _ = restored
    monkeypatch.setenv("RESTORE_DDCOLOR_TINY_WEIGHTS", str(ddcolor_tiny_weights))
    for variable in ("RESTORE_DEOLDIFY_STABLE_WEIGHTS", "RESTORE_DDCOLOR_WEIGHTS", "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS"):
        monkeypatch.delenv(variable, raising=False)
    reported = []
    original = PhotoProgress.tiles
    monkeypatch.setattr(PhotoProgress, "tiles", lambda self, done, total, unit="tiles": (
        reported.append((done, total, unit, describe({**self.record, "done": done, "total": total, "unit": unit}))),
        original(self, done, total, unit))[1])

    result = make(instance, resources, key)
    assert result.success
    listing = variations.read_listing(layout, key)
    assert listing["state"] == variations.MADE
    # The photo's current choice (artistic at the test default 8) first, then each model's knobs in turn.
    assert [c["id"] for c in listing["candidates"]] == [
        "deoldify-artistic-8", "deoldify-artistic-7", "ddcolor-tiny-64", "ddcolor-tiny-96"]
    assert listing["current"] == "deoldify-artistic-8"
    assert {(o["model"], o["reason"]) for o in listing["omitted"]} == {
        ("deoldify-stable", "DeOldify stable: weights not here"),
        ("ddcolor", "DDColor large (ModelScope): weights not here"),
        ("ddcolor-artistic", "DDColor large (artistic): weights not here"),
    }
    toned = read_record(layout, "toned", key)
    assert listing["source_fingerprint"] == toned.fingerprint
    pictures = {}
    for candidate in listing["candidates"]:
        path = variations.candidate_file(layout, key, candidate["file"])
        assert path is not None and path.parent == variations.folder(layout, key)
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == tuple(listing["working_size"]) == (80, 60)
            pictures[candidate["id"]] = np.asarray(image.convert("RGB"), dtype=float)
            assert chroma(image) > 2, f"{candidate['id']} is not coloured"
    # Each candidate is its own colouring (the point of a contact sheet): another knob moves the colours a
    # little (render factor 7 and 8 are neighbours), another model a lot.
    ids = list(pictures)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            difference = np.abs(pictures[a] - pictures[b]).mean()
            same_model = a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0]
            assert difference > (0.05 if same_model else 2), f"{a} and {b} look the same ({difference:.2f})"
    with Image.open(variations.candidate_file(layout, key, listing["sheet"])) as sheet:
        assert sheet.width >= 3 * variations.SHEET_CELL and sheet.height > variations.SHEET_CELL
    # Progress went candidate by candidate: what the web shows as "3 of 4".
    assert [(d, t, u) for d, t, u, _ in reported] == [(n, 4, "candidates") for n in range(5)]
    assert reported[3][3] == "making colour variations: 3/4 candidates (75%)"

    # Making them again replaces the set: the old files go once the new listing is in place.
    old_files = {c["file"] for c in listing["candidates"]} | {listing["sheet"]}
    assert make(instance, resources, key, {**SMALL, "max_candidates": 2}).success
    again = variations.read_listing(layout, key)
    assert [c["id"] for c in again["candidates"]] == ["deoldify-artistic-8", "ddcolor-tiny-64"]
    assert {p.name for p in variations.folder(layout, key).iterdir()} == (
        {variations.LISTING, again["sheet"]} | {c["file"] for c in again["candidates"]})
    assert not old_files & {p.name for p in variations.folder(layout, key).iterdir()}
    # The restoration itself is untouched: the sensor has nothing to redo.
    assert drain(instance, resources) == []


def test_without_any_weights_nothing_fails_and_the_listing_says_why(layout, instance, resources, restored, monkeypatch):
    from restore_dagster.resources import GpuResource

    key, _ = restored
    for variable in ("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", "RESTORE_DEOLDIFY_STABLE_WEIGHTS", "RESTORE_DDCOLOR_WEIGHTS",
                     "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS", "RESTORE_DDCOLOR_TINY_WEIGHTS"):
        monkeypatch.delenv(variable, raising=False)
    bare = {**resources, "gpu": GpuResource(device="cpu", download_weights=False)}
    assert make(instance, bare, key).success
    listing = variations.read_listing(layout, key)
    assert listing["candidates"] == [] and listing["sheet"] is None
    assert listing["state"] == variations.FAILED
    assert len(listing["omitted"]) == 5 and "weights are here" in listing["message"]


def test_a_colour_photo_passes_through_and_offers_nothing_to_choose(layout, instance, resources, restored):
    _, colour = restored
    assert read_record(layout, "colorized", colour).metadata["model"] == "none (colour photo passed through)"
    assert make(instance, resources, colour).success
    listing = variations.read_listing(layout, colour)
    assert listing["state"] == variations.COLOUR_PHOTO and listing["candidates"] == []
    assert "passes through the colouriser" in listing["message"]
    assert {p.name for p in variations.folder(layout, colour).iterdir()} == {variations.LISTING}
    # Colour on for that photo: the owner asked for colour, so there are colourings to choose from.
    SettingsStore(layout.state).set(colour, colorize="on")
    assert make(instance, resources, colour, {**SMALL, "max_candidates": 1}).success
    assert [c["id"] for c in variations.read_listing(layout, colour)["candidates"]] == ["deoldify-artistic-8"]


def test_a_choice_becomes_the_photos_settings_and_later_runs_honour_it(
        layout, instance, resources, restored, monkeypatch, ddcolor_tiny_weights):
    key, colour = restored
    monkeypatch.setenv("RESTORE_DDCOLOR_TINY_WEIGHTS", str(ddcolor_tiny_weights))
    assert make(instance, resources, key).success
    store = SettingsStore(layout.state)
    with pytest.raises(ValueError, match="no colour variation"):
        variations.choose(layout, store, key, "../../etc/passwd")

    choice = variations.choose(layout, store, key, "ddcolor-tiny-96")
    assert choice.changed and choice.note == ""
    assert store.overrides(key) == {"model": "ddcolor-tiny", "input_size": 96}
    # The sensor redoes this photo alone, from its colour; the published restoration is DDColor's.
    requests = drain(instance, resources)
    assert [(r.partition_key, r.tags["restore/start_stage"]) for r in requests] == [(key, "colorized")]
    colour_record = read_record(layout, "colorized", key).metadata
    assert (colour_record["colorized"], colour_record["model"], colour_record["input_size"]) == (
        True, "DDColor tiny (paper)", 96)
    assert read_record(layout, "published", key).at > read_record(layout, "colorized", key).at - 1
    assert drain(instance, resources) == []  # honoured: nothing left to redo
    # The panel marks it as the current colouring; choosing it again changes nothing.
    assert variations.choose(layout, store, key, "ddcolor-tiny-96").changed is False

    # Colour turned off by the owner: choosing a colouring is asking for colour again.
    store.set(key, colorize="off")
    drain(instance, resources)
    choice = variations.choose(layout, store, key, "deoldify-artistic-7")
    assert choice.changed and "now automatic" in choice.note
    assert (choice.settings.colorize, choice.settings.model, choice.settings.render_factor) == ("auto", "deoldify-artistic", 7)
    drain(instance, resources)
    colour_record = read_record(layout, "colorized", key).metadata
    assert (colour_record["colorized"], colour_record["model"], colour_record["render_factor"]) == (
        True, "DeOldify artistic", 7)


def test_a_web_request_becomes_one_run_of_the_variations_job(layout, instance, resources):
    from restore_dagster.definitions import defs

    write_scan(layout.gallery / "al" / "x.jpg", grey=True, size=(80, 60), seed=1)
    drain(instance, resources)
    storage = resources["storage"]

    def tick():
        return colour_variations_sensor(dg.build_sensor_context(instance=instance, resources={"storage": storage}))

    assert isinstance(tick(), dg.SkipReason)  # nothing asked for
    asked = variation_requests.request(layout.state, "al/x")
    variation_requests.request(layout.state, "gone/photo")  # a photo removed since
    # A live `restore-photos run` in another process has claimed the photo: the request waits for it.
    claimer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from restore_dagster.run_claims import ClaimBoard; "
         "ClaimBoard(sys.argv[1]).claim(['al/x']); print('claimed', flush=True); time.sleep(120)", str(layout.state)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert claimer.stdout.readline().strip() == "claimed"
        waiting = tick()
        assert isinstance(waiting, dg.SkipReason) and "al/x: waits" in waiting.skip_message
    finally:
        claimer.kill()
        claimer.wait()
    assert variation_requests.read_request(layout.state, "gone/photo") is None  # dropped, said in the log

    result = tick()
    [run] = result.run_requests
    assert run.partition_key == "al/x" and run.job_name in (None, "colour_variations_job")
    assert run.run_key == f"colour-variations:al/x:{asked['id']}"
    assert isinstance(tick(), dg.SkipReason)  # one request, one run
    job = defs.resolve_job_def("colour_variations_job")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = job.execute_in_process(instance=instance, resources=resources, partition_key=run.partition_key,
                                         run_config={"ops": {"colour_variations": {"config": {**SMALL, "max_candidates": 1}}}})
    assert outcome.success
    assert variation_requests.read_request(layout.state, "al/x") is None  # answered
    assert variations.read_listing(layout, "al/x")["state"] == variations.MADE
    assert "al/x" in materialized(instance, variations.STAGE)
    assert instance.get_dynamic_partitions(photos.name) == ["al/x"]
