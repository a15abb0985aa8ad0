"""Runs whose process is gone are marked failed and give their pool slots back; live ones are left alone."""
from __future__ import annotations

import os
import socket
import uuid

import dagster as dg
import pytest

from restore_dagster.owner import Owner
from restore_dagster.run_activity import busy_photo_keys
from restore_dagster.run_claims import ClaimBoard
from restore_dagster.sensors import fresh_run_key
from restore_dagster.stale_runs import pool_waits, reap_stale_runs
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import tick

LIVE = Owner.this_process()
# This very pid, but a different start time: the pid was reused, the run's process is gone.
DEAD = Owner(socket.gethostname(), os.getpid(), LIVE.started.rsplit("/", 1)[0] + "/1")
ELSEWHERE = Owner("another-host.example", 1, "boot/1")


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        inst.event_log_storage.initialize_concurrency_limit_to_default("gpu")
        yield inst


def add_run(instance, status, owner: Owner | None, partition: str | None = None, claim: bool = False) -> dg.DagsterRun:
    tags = owner.tags() if owner else {}
    if partition:
        tags["dagster/partition"] = partition
    run = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), status=status, tags=tags))
    if claim:
        assert instance.event_log_storage.claim_concurrency_slot("gpu", run.run_id, "upscaled").is_claimed
    return run


def holders(instance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info("gpu").claimed_slots}


def test_dead_owner_liveness():
    assert LIVE.alive() is True
    assert DEAD.alive() is False
    assert ELSEWHERE.alive() is None  # cannot be judged from here: never reaped


def test_run_of_a_killed_process_is_marked_failed_and_its_slot_freed(instance):
    killed = add_run(instance, dg.DagsterRunStatus.STARTED, DEAD, claim=True)
    notes = reap_stale_runs(instance)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert holders(instance) == set()
    assert any(killed.run_id[:8] in n and "marked failed" in n for n in notes)
    assert reap_stale_runs(instance) == []  # once


def test_live_foreign_and_untagged_runs_are_left_alone(instance):
    runs = [add_run(instance, dg.DagsterRunStatus.STARTED, owner) for owner in (LIVE, ELSEWHERE, None)]
    assert reap_stale_runs(instance) == []
    assert {instance.get_run_by_id(r.run_id).status for r in runs} == {dg.DagsterRunStatus.STARTED}


def test_cancelling_run_of_a_killed_process_ends_canceled(instance):
    run = add_run(instance, dg.DagsterRunStatus.CANCELING, DEAD)
    reap_stale_runs(instance)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED


def test_finished_run_still_holding_a_slot_gives_it_back(instance):
    # A run marked failed by hand in the UI keeps its slot: every later gpu step would wait for ever.
    run = add_run(instance, dg.DagsterRunStatus.STARTED, LIVE, claim=True)
    instance.report_run_failed(run, "marked failed in the UI")
    assert holders(instance) == {run.run_id}
    reap_stale_runs(instance)
    assert holders(instance) == set()


def test_pool_waits_name_the_holder(instance):
    holder = add_run(instance, dg.DagsterRunStatus.STARTED, LIVE, claim=True)
    waiter = add_run(instance, dg.DagsterRunStatus.STARTED, LIVE)
    assert not instance.event_log_storage.claim_concurrency_slot("gpu", waiter.run_id, "colorized").is_claimed
    [line] = pool_waits(instance)
    assert line.startswith(f"run {waiter.run_id[:8]} step colorized waits for the 'gpu' pool")
    assert f"held by run {holder.run_id[:8]} (STARTED, process {os.getpid()}" in line
    assert pool_waits(instance, {holder.run_id}) == []


def test_busy_keys_ignore_runs_of_killed_processes(instance):
    add_run(instance, dg.DagsterRunStatus.STARTED, DEAD, partition="a/killed")
    add_run(instance, dg.DagsterRunStatus.STARTED, LIVE, partition="a/live")
    assert busy_photo_keys(instance, ["a/killed", "a/live"]) == {"a/live"}


def test_claims_of_live_processes_count_and_dead_ones_are_removed(layout):
    mine, live_other, dead_other = (ClaimBoard(layout.state, o) for o in (LIVE, ELSEWHERE, DEAD))
    with mine.locked():
        mine.claim(["a/1"])
    live_other.claim(["a/2"])
    dead_other.claim(["a/3"])
    assert mine.others() == {"a/2"}
    assert not dead_other.path.exists()
    assert ClaimBoard(layout.state, Owner("h", 2, "")).others() == {"a/1", "a/2"}
    mine.release()
    assert not mine.path.exists()


def test_fresh_run_key_after_an_unfinished_run():
    assert fresh_run_key("abc", set()) == "abc"
    assert fresh_run_key("abc", {"abc"}) == "abc-1"
    assert fresh_run_key("abc", {"abc", "abc-1"}) == "abc-2"


def test_sensor_resumes_photos_of_a_killed_run_under_a_new_run_key(layout, resources, instance):
    write_scan(layout.gallery / "Album" / "one.jpg")
    first = tick(instance, resources)
    [request] = first.run_requests
    # The daemon launched it (tagged with its run key) and then the whole `dagster dev` was killed.
    run = add_run(instance, dg.DagsterRunStatus.STARTED, DEAD, partition=request.partition_key, claim=True)
    instance.add_run_tags(run.run_id, {"dagster/run_key": request.run_key, "dagster/sensor_name": "gallery_sensor"})

    again = tick(instance, resources, first.cursor)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert holders(instance) == set()
    [resumed] = again.run_requests  # Dagster would skip a request with the killed run's key
    assert resumed.partition_key == request.partition_key and resumed.run_key == f"{request.run_key}-1"


def test_status_cleans_up_a_killed_run_and_says_so(layout, instance, capsys):
    from restore_dagster.cli import main

    killed = add_run(instance, dg.DagsterRunStatus.STARTED, DEAD, claim=True)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"run {killed.run_id[:8]} marked failed: the process {DEAD.pid} on {DEAD.host} that ran it is gone" in out
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert holders(instance) == set()


def test_instance_config_has_the_daemon_free_slots_of_ended_runs(instance, monkeypatch):
    # Under `dagster dev` the monitoring daemon runs this iteration; the project's dagster.yaml turns it on.
    import datetime
    import logging
    from types import SimpleNamespace

    from dagster._daemon.monitoring import concurrency

    assert instance.run_monitoring_enabled
    run = add_run(instance, dg.DagsterRunStatus.STARTED, LIVE, claim=True)
    instance.report_run_failed(run, "marked failed in the UI")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    monkeypatch.setattr(concurrency, "get_current_datetime", lambda: later)
    list(concurrency.execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger("test")))
    assert holders(instance) == set()
