"""Host-only stages work on several photos of a batch at once (``RESTORE_HOST_WORKERS``), GPU stages on one.

Concurrency is proved by rendezvous, never by timing: each photo's process function waits at a
barrier for a second photo to be inside the same function. Processed one after another, the first
photo would wait alone until the barrier's timeout and fail.
"""
from __future__ import annotations

import importlib
import threading
from pathlib import Path

import dagster as dg
import pytest

from restore_dagster import progress as progress_module
from restore_dagster import stopping
from restore_dagster.assets.host_workers import ENV_HOST_WORKERS, available_cores, host_workers
from restore_dagster.config import STAGES
from restore_dagster.gallery import FolderGallery
from restore_dagster.imaging import decode_stage_file
from restore_dagster.lineage import read_failure, read_record
from restore_dagster.progress import DIRNAME
from restore_dagster.run_activity import RANGE_END, RANGE_START
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain, execute, materialized, tick

HOST_STAGES = {"scanned": "scan_photo", "toned": "tone_photo", "compressed": "compress_photo", "published": "publish_photo"}
GPU_STAGES = {"repaired": "repair_photo", "upscaled": "upscale_photo", "colorized": "colorize_photo"}
# Long enough for a loaded machine to start a second photo; only ever waited out when photos do not overlap.
MEET_WITHIN_S = 30


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


@pytest.fixture
def stop_cleared():
    """A stop asked for in a test must not leak into the next one."""
    stopping._cancel.clear()
    yield
    stopping._cancel.clear()


def stage_module(stage: str):
    return importlib.import_module(f"restore_dagster.assets.{stage}")


def meet_in_pairs(monkeypatch, stage: str, then=None) -> threading.Barrier:
    """Make each photo of ``stage`` wait, inside its process function, for another photo to be there too."""
    module, name = stage_module(stage), HOST_STAGES[stage]
    real = getattr(module, name)
    barrier = threading.Barrier(2, timeout=MEET_WITHIN_S)

    def process(job):
        barrier.wait()  # BrokenBarrierError: the photos were not being processed at the same time
        if then is not None:
            then(job)
        return real(job)

    monkeypatch.setattr(module, name, process)
    return barrier


def one_at_a_time(monkeypatch, stage: str, overlaps: list[str]) -> None:
    """Record in ``overlaps`` any photo of a GPU ``stage`` that starts while another is still in it.
    The first photo lingers until a second one arrives (or two seconds pass): run one by one, none does."""
    module, name = stage_module(stage), GPU_STAGES[stage]
    real = getattr(module, name)
    lock, inside, arrived = threading.Lock(), [], threading.Event()

    def process(job):
        with lock:
            if inside:
                overlaps.append(f"{stage}: {job.key} started while {inside} was running")
            inside.append(job.key)
            first = len(inside) == 1
        try:
            if first:
                arrived.wait(2)
            else:
                arrived.set()
            return real(job)
        finally:
            with lock:
                inside.remove(job.key)

    monkeypatch.setattr(module, name, process)


def batch(instance, resources, stages, keys) -> dg.ExecuteInProcessResult:
    """One run of ``stages`` over the photos ``keys`` (in the gallery's order), as the sensor asks for it."""
    tags = {RANGE_START: keys[0], RANGE_END: keys[-1]}
    request = dg.RunRequest(asset_selection=[dg.AssetKey(s) for s in stages], tags=tags)
    return execute(instance, resources, request)


def register(instance, resources) -> list[str]:
    [request] = tick(instance, resources).run_requests
    return [request.tags[RANGE_START], request.tags[RANGE_END]]


def snapshot(layout, instance, keys) -> dict:
    """What the host stages left per photo: records and materialization metadata (less the time and
    run they took) and the bytes of every file they wrote."""
    seen = {}
    for stage in HOST_STAGES:
        for key in keys:
            record = read_record(layout, stage, key)
            metadata = {k: v for k, v in record.metadata.items() if k not in ("seconds", "run_id")}
            file = record.metadata["location"] if stage == "published" else record.file
            latest = dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[key])
            [event] = instance.fetch_materializations(latest, limit=1).records
            shown = {k: v.value for k, v in event.asset_materialization.metadata.items() if k != "seconds"}
            seen[stage, key] = (record.fingerprint, metadata, Path(file).read_bytes(), shown)
    return seen


def test_host_workers_setting(monkeypatch):
    monkeypatch.delenv(ENV_HOST_WORKERS, raising=False)
    assert host_workers() == available_cores() >= 1
    monkeypatch.setenv(ENV_HOST_WORKERS, " 3 ")
    assert host_workers() == 3
    for wrong in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(ENV_HOST_WORKERS, wrong)
        with pytest.raises(ValueError, match=ENV_HOST_WORKERS) as error:
            host_workers()
        assert repr(wrong) in str(error.value)


def test_a_batch_with_two_host_workers_matches_one_photo_at_a_time(layout, resources, instance, monkeypatch):
    """Four photos through every stage one at a time, then again with two host workers: the host
    stages' photos meet in pairs (so ran two at a time), the GPU stages' never overlap, the gallery
    is written one photo at a time, and every record, file and materialization is the same."""
    for n in range(4):
        write_scan(layout.gallery / "al" / f"p{n}.jpg", seed=n, grey=n % 2 == 0, size=(48, 36))
    monkeypatch.setenv(ENV_HOST_WORKERS, "1")
    drain(instance, resources)
    keys = [f"al/p{n}" for n in range(4)]
    assert materialized(instance, "published") == set(keys)
    one_by_one = snapshot(layout, instance, keys)

    monkeypatch.setenv(ENV_HOST_WORKERS, "2")
    for stage in HOST_STAGES:
        meet_in_pairs(monkeypatch, stage)
    overlaps: list[str] = []
    for stage in GPU_STAGES:
        one_at_a_time(monkeypatch, stage, overlaps)
    publishing, publishes_at_once = [], []
    real_publish = FolderGallery.publish

    def publish(self, source, *args, **kwargs):
        if publishing:
            publishes_at_once.append(source)
        publishing.append(source)
        try:
            if len(publishing) == 1:  # long enough for the other photo's publish to come in, were it let in
                threading.Event().wait(1)
            return real_publish(self, source, *args, **kwargs)
        finally:
            publishing.remove(source)

    monkeypatch.setattr(FolderGallery, "publish", publish)
    written = []
    original = progress_module.atomic_write_json
    monkeypatch.setattr(progress_module, "atomic_write_json",
                        lambda path, value: (written.append(dict(value)), original(path, value))[1])

    result = batch(instance, resources, STAGES, keys)
    assert result.success
    assert overlaps == []  # the GPU stages kept to one photo at a time
    assert publishes_at_once == []  # Lychee's "(restored)" album must not be created twice
    assert snapshot(layout, instance, keys) == one_by_one
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    for stage in HOST_STAGES:
        for number, key in enumerate(keys, start=1):
            assert any(m.startswith(f"{stage} {key}: started (photo {number} of 4 in this run)") for m in messages)
            assert any(m.startswith(f"{stage} {key}: done in ") for m in messages)
        reported = {(r["key"], r["photo"], r["photos"]) for r in written if r["stage"] == stage}
        assert reported == {(key, number, 4) for number, key in enumerate(keys, start=1)}
    assert not list((layout.state / DIRNAME).glob("*.json"))  # each photo's progress cleared when it ended


def test_a_broken_photo_fails_alone_while_the_others_are_processed(layout, resources, instance, monkeypatch):
    for n in (0, 2, 3):
        write_scan(layout.gallery / "al" / f"p{n}.jpg", seed=n, size=(48, 36))
    (layout.gallery / "al" / "p1.jpg").write_bytes(b"this is not a jpeg at all")
    monkeypatch.setenv(ENV_HOST_WORKERS, "2")
    meet_in_pairs(monkeypatch, "scanned")  # the broken photo fails while a good one is being processed
    keys = register(instance, resources)

    result = batch(instance, resources, ["scanned"], keys)
    assert not result.success
    assert materialized(instance, "scanned") == {"al/p0", "al/p2", "al/p3"}
    failure = read_failure(layout, "al/p1")
    assert failure["stage"] == "scanned" and "p1.jpg" in failure["reason"] and "not an image" in failure["reason"].lower()
    for key in ("al/p0", "al/p2", "al/p3"):
        record = read_record(layout, "scanned", key)
        assert decode_stage_file(record.file).size == (48, 36) and read_failure(layout, key) is None
    assert read_record(layout, "scanned", "al/p1") is None
    [step_failure] = [e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_step_failure]
    description = step_failure.dagster_event.step_failure_data.error.message
    assert "1 of 4 photo(s) failed" in description and "al/p1" in description and "al/p0" not in description


def test_a_stop_lets_the_photos_in_flight_finish_and_starts_no_other(layout, resources, instance, monkeypatch,
                                                                       stop_cleared):
    for n in range(4):
        write_scan(layout.gallery / "al" / f"p{n}.jpg", seed=n, size=(48, 36))
    monkeypatch.setenv(ENV_HOST_WORKERS, "2")
    # Ctrl-C while the first two photos are both being processed.
    meet_in_pairs(monkeypatch, "scanned", then=lambda job: stopping._cancel.set())
    keys = register(instance, resources)

    result = batch(instance, resources, ["scanned"], keys)
    assert not result.success
    for key in ("al/p0", "al/p1"):  # finished, their records written after their files
        record = read_record(layout, "scanned", key)
        assert decode_stage_file(record.file).size == (48, 36)
    for key in ("al/p2", "al/p3"):  # never started: nothing written, nothing failed
        assert read_record(layout, "scanned", key) is None and read_failure(layout, key) is None
        assert not list((layout.root / "stages" / "scanned" / "al").glob(f"{key.split('/')[1]}*"))
    leftovers = [p for p in (layout.root / "stages").rglob("*") if p.is_file() and p.suffix not in (".png", ".json", ".exif")]
    assert leftovers == []  # no temporary file of a half-written output
    assert not list((layout.state / DIRNAME).glob("*.json"))
