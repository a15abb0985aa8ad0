"""A large gallery is taken in bounded steps: partitions added in chunks and a few per tick, runs
requested only for registered photos and only while the queue has room."""
from __future__ import annotations

import functools

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from restore_dagster import sensors, sync
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import tick


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


@pytest.fixture
def small_bounds(monkeypatch):
    monkeypatch.setattr(sensors, "PARTITION_CHUNK", 2)
    monkeypatch.setattr(sensors, "NEW_PARTITIONS_PER_TICK", 3)
    monkeypatch.setattr(sensors, "RUNS_IN_FLIGHT", 2)
    monkeypatch.setattr(sensors, "plan_sync", functools.partial(sync.plan_sync, batch_size=1))  # a run per photo


def queue(instance, request: dg.RunRequest):
    """What the daemon does with a request: a run (started, in some other process) naming the photo."""
    create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED,
                        tags={**request.tags, "dagster/partition": request.partition_key})


def test_a_big_gallery_is_registered_in_chunks_and_runs_wait_for_room(layout, resources, instance, small_bounds):
    for i in range(7):
        write_scan(layout.gallery / "Album" / f"scan {i}.jpg", seed=i)

    first = tick(instance, resources)
    assert [len(r.partition_keys) for r in first.dynamic_partitions_requests] == [2, 1]  # chunks of 2, 3 in all
    registered = list(instance.get_dynamic_partitions("photos"))
    assert len(registered) == 3
    assert [e.partition for e in first.asset_events] == registered  # each original observed as it is added
    assert len(first.run_requests) == 2  # room for 2 in flight
    assert all(r.partition_key in registered for r in first.run_requests)
    for request in first.run_requests:
        queue(instance, request)

    second = tick(instance, resources, first.cursor)
    assert len(instance.get_dynamic_partitions("photos")) == 6
    assert second.run_requests == []  # the queue is full: nothing more until a run finishes
    third = tick(instance, resources, second.cursor)
    assert len(instance.get_dynamic_partitions("photos")) == 7
    observed = [e.partition for result in (first, second, third) for e in result.asset_events]
    assert sorted(observed) == sorted(instance.get_dynamic_partitions("photos"))  # once each

    for run in instance.get_runs():
        instance.delete_run(run.run_id)  # both finished (their records are what counts, not the runs)
    fourth = tick(instance, resources, third.cursor)
    requested = [r.partition_key for r in fourth.run_requests]
    assert len(requested) == 2
    # The photos of the deleted runs were never restored, so they are planned again; nothing twice at once.
    assert len(set(requested)) == 2


def test_defaults_keep_each_partition_query_inside_sqlites_variable_limit():
    assert sensors.PARTITION_CHUNK <= 32_766 and sensors.PARTITION_CHUNK <= sensors.NEW_PARTITIONS_PER_TICK
    assert sensors.RUNS_IN_FLIGHT * 2 <= 1000  # run_activity reads the newest 1,000 active runs
