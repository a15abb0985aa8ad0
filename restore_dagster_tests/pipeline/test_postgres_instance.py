"""The instance on a real PostgreSQL server (Debian's, started by the tests): runs, events, dynamic
partitions and the gpu pool in Postgres, and a whole album restored on it."""
from __future__ import annotations

import itertools

import dagster as dg
import pytest

from restore_dagster.config import STAGES
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import execute, materialized, tick
from restore_dagster_tests.postgres_server import create_database, running_server

_names = itertools.count()


@pytest.fixture(scope="module")
def server():
    with running_server() as url:
        yield url


@pytest.fixture
def postgres_instance(server, layout, monkeypatch):
    """The project's instance, RESTORE_POSTGRES_URL pointing at a fresh database of its own."""
    from restore_dagster.instance import get_instance

    monkeypatch.setenv("RESTORE_POSTGRES_URL", create_database(server, f"restore_{next(_names)}"))
    with get_instance(layout) as instance:
        yield instance


def test_runs_events_and_the_pool_live_in_postgres(postgres_instance, layout):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(postgres_instance.run_storage, PostgresRunStorage)
    assert isinstance(postgres_instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(postgres_instance.schedule_storage, PostgresScheduleStorage)
    assert postgres_instance.event_log_storage.supports_global_concurrency_limits
    assert not (layout.dagster_home / "history").exists()  # nothing went to the embedded SQLite


def test_an_album_is_restored_on_postgres_and_another_process_sees_it(postgres_instance, layout, resources):
    album = layout.gallery / "Family 1962"
    write_scan(album / "Wedding.jpg", grey=True, seed=1)
    write_scan(album / "Beach.png", grey=False, seed=2, fmt="PNG")

    first = tick(postgres_instance, resources)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests) == 1
    result = execute(postgres_instance, resources, first.run_requests[0])
    assert result.success
    keys = {"family-1962/beach", "family-1962/wedding"}
    for stage in STAGES:
        assert materialized(postgres_instance, stage) == keys, stage
    assert isinstance(tick(postgres_instance, resources, first.cursor), dg.SkipReason)

    # A second instance from the same dagster.yaml (what the daemon, the webserver or another
    # machine opens) reads the same runs, partitions and materialisations from the server.
    with dg.DagsterInstance.from_config(str(layout.dagster_home)) as other:
        assert sorted(other.get_dynamic_partitions("photos")) == sorted(keys)
        assert [run.status for run in other.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
        assert set(other.get_materialized_partitions(dg.AssetKey("published"))) == keys


def test_the_gpu_pool_limit_is_enforced_from_postgres(postgres_instance):
    storage = postgres_instance.event_log_storage
    postgres_instance.event_log_storage.initialize_concurrency_limit_to_default("gpu")
    assert storage.get_concurrency_info("gpu").slot_count == 1
    first = storage.claim_concurrency_slot("gpu", "run-a", "upscaled")
    second = storage.claim_concurrency_slot("gpu", "run-b", "colorized")
    assert first.is_claimed and not second.is_claimed  # one GPU step at a time, across processes
    storage.free_concurrency_slots_for_run("run-a")
    assert storage.claim_concurrency_slot("gpu", "run-b", "colorized").is_claimed
