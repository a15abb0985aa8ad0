"""The planning the sensor and the CLI share: registry, fingerprints, batches (no Dagster)."""
import os

from restore_dagster.gallery import FolderGallery
from restore_dagster.lineage import fingerprints, record_failure, write_record
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.sync import plan_sync
from restore_dagster_tests.conftest import write_scan

STAGES = ("scanned", "upscaled", "colorized", "compressed", "published")


def plan(layout, **kwargs):
    registry = RegistryStore(layout.state).load()
    result = plan_sync(FolderGallery(layout.gallery), layout, registry, SettingsStore(layout.state), **kwargs)
    RegistryStore(layout.state).save(result.registry)
    return result


def mark_done(layout, key):
    entry = RegistryStore(layout.state).load().photos[key]
    store = SettingsStore(layout.state)
    from restore_dagster.lineage import touchup_signatures, weights_signatures

    desired = fingerprints(entry.signature, store.get(key), touchup_signatures(layout, key), weights_signatures(layout))
    for stage, fp in desired.items():
        write_record(layout, stage, key, fp, None, {})


def test_new_uploads_are_added_and_batched(layout):
    for i in range(5):
        write_scan(layout.gallery / "Album" / f"p{i}.jpg", seed=i)
    result = plan(layout, batch_size=2)
    assert result.added == [f"album/p{i}" for i in range(5)]
    assert [r.keys for r in result.requests] == [("album/p0", "album/p1"), ("album/p2", "album/p3"), ("album/p4",)]
    assert all(r.start == "scanned" for r in result.requests)


def test_keys_are_stable_and_unique(layout):
    write_scan(layout.gallery / "Album" / "Photo 1.jpg")
    write_scan(layout.gallery / "Album" / "photo-1.png", fmt="PNG")
    first = plan(layout)
    keys = sorted(first.registry.photos)
    assert len(set(keys)) == 2
    write_scan(layout.gallery / "Album" / "another.jpg")
    second = plan(layout)
    assert set(keys) <= set(second.registry.photos)
    assert {k: e.source for k, e in first.registry.photos.items()}.items() <= {
        k: e.source for k, e in second.registry.photos.items()}.items()


def test_done_photos_cost_nothing_and_changes_start_at_the_right_stage(layout):
    write_scan(layout.gallery / "al" / "x.jpg")
    write_scan(layout.gallery / "al" / "y.jpg", seed=1)
    plan(layout)
    mark_done(layout, "al/x")
    mark_done(layout, "al/y")
    assert plan(layout).requests == []

    SettingsStore(layout.state).set("al/y", noise_level=3)
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("upscaled", ("al/y",))]
    mark_done(layout, "al/y")

    touch = layout.touchup_dir("compressed") / "al" / "x.jpg"
    write_scan(touch)
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("compressed", ("al/x",))]


def test_failed_photo_waits_until_its_inputs_change(layout):
    path = write_scan(layout.gallery / "al" / "x.jpg")
    first = plan(layout)
    entry = first.registry.photos["al/x"]
    fp = fingerprints(entry.signature, SettingsStore(layout.state).get("al/x"), {}, {})["scanned"]
    record_failure(layout, "al/x", "scanned", fp, "broken", None)
    again = plan(layout)
    assert again.requests == [] and "broken" in again.failed["al/x"]
    assert plan(layout, retry_failed=True).requests[0].keys == ("al/x",)
    os.utime(path, ns=(1, 1))  # a replaced original is a new attempt
    assert plan(layout).requests[0].keys == ("al/x",)


def test_removed_original_and_busy_photos(layout):
    write_scan(layout.gallery / "al" / "x.jpg")
    write_scan(layout.gallery / "al" / "y.jpg")
    plan(layout)
    result = plan(layout, busy_keys={"al/x"})
    assert result.busy == ["al/x"] and [r.keys for r in result.requests] == [("al/y",)]
    (layout.gallery / "al" / "y.jpg").unlink()
    assert plan(layout).removed == ["al/y"]


def test_registry_generations_are_kept_small(layout):
    write_scan(layout.gallery / "al" / "x.jpg")
    for _ in range(6):
        plan(layout)
    assert len(RegistryStore(layout.state).generations()) <= 3
