"""Steps on Celery workers (celery_steps.py) against a real Redis broker and a real PostgreSQL
instance, both Debian's and started here: two runs at once, each coordinated by a process of its
own, their steps taken by two worker processes (CPU steps on one, GPU steps on the other), and one
GPU step's process killed with SIGKILL half-way through."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from restore_dagster import celery_steps
from restore_dagster.config import STAGES
from restore_dagster.partitions import GPU_OP_TAGS
from restore_dagster.run_activity import RANGE_END, RANGE_START
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import tick
from restore_dagster_tests.postgres_server import create_database, running_server as running_postgres
from restore_dagster_tests.redis_server import running_server as running_redis
from restore_dagster_tests.redis_server import url as redis_url

GPU_STEPS = {"repaired", "upscaled", "colorized"}
RUN_TAG = "restore/test-album"
LOADED = re.compile(r"model loaded: (\S+) on \S+ in [0-9.]+s \(process (\d+)\)")
DEADLINE_S = 600  # the runs took 1.5 to 3.5 minutes on 2 cores under a load of 10 to 17: only a hang reaches it


# --- configuration, no servers -------------------------------------------------------------------

def test_without_a_broker_the_project_keeps_its_in_process_executor(monkeypatch):
    monkeypatch.delenv(celery_steps.ENV_BROKER, raising=False)
    assert celery_steps.executor_from_env() is None


def test_a_broker_without_postgres_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv(celery_steps.ENV_BROKER, "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("RESTORE_POSTGRES_URL", raising=False)
    with pytest.raises(celery_steps.CeleryConfigError, match="RESTORE_POSTGRES_URL"):
        celery_steps.executor_from_env()


def test_the_celery_executor_acknowledges_late_and_requeues_a_lost_step(monkeypatch):
    monkeypatch.setenv(celery_steps.ENV_BROKER, "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("RESTORE_POSTGRES_URL", "postgresql://dagster@db.example/dagster")
    monkeypatch.setenv(celery_steps.ENV_VISIBILITY, "7200")
    executor = celery_steps.executor_from_env()
    assert executor.name == "celery"
    config = celery_steps.executor_config()
    assert config["backend"] == config["broker"] == "redis://127.0.0.1:6379/0"
    settings = config["config_source"]
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["broker_transport_options"]["visibility_timeout"] == 7200
    monkeypatch.setenv(celery_steps.ENV_VISIBILITY, "soon")
    with pytest.raises(celery_steps.CeleryConfigError, match="whole number of seconds"):
        celery_steps.executor_config()


def test_gpu_steps_go_to_the_gpu_queue_and_the_others_to_the_default_one():
    from restore_dagster.assets import STAGE_ASSETS

    assert GPU_OP_TAGS[celery_steps.QUEUE_TAG] == celery_steps.GPU_QUEUE
    for asset in STAGE_ASSETS:
        tags = asset.node_def.tags
        name = asset.key.path[-1]
        assert (tags.get(celery_steps.QUEUE_TAG) == "gpu") == (name in GPU_STEPS), name
        assert (asset.op.pool == "gpu") == (name in GPU_STEPS), name


# --- the real thing -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres():
    with running_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def redis():
    with running_redis() as sock:
        yield sock


def _start_worker(name: str, queue: str, env: dict, logs: Path) -> subprocess.Popen:
    # Two processes in each worker: the gpu worker could run two GPU steps at once, so only the
    # gpu pool keeps them one at a time (what this test checks).
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "restore_dagster.celery_worker", "worker", "-Q", queue,
         "-c", "2", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "INFO", "--logfile", str(logs / f"{name}.log")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the worker and its pool processes (its own session)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _run_of(instance, album: str):
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_TAG: album}))
    return runs[0] if runs else None


def _events(instance, run_id: str):
    return instance.all_logs(run_id)


def _step_events(records, kind: dg.DagsterEventType):
    return [r for r in records if r.dagster_event and r.dagster_event.event_type == kind]


def _loads(records) -> list[tuple[str, str, int]]:
    """(step, model, process) for every model load a step logged."""
    found = []
    for record in records:
        match = LOADED.search(record.user_message or "") if record.step_key else None
        if match and not record.dagster_event:
            found.append((record.step_key, match.group(1), int(match.group(2))))
    return found


def _diagnostics(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(logs.glob("*.log")))


def test_two_runs_on_two_workers_gpu_steps_one_at_a_time_and_a_killed_step_retried(
        postgres, redis, layout, artistic_weights, monkeypatch, tmp_path):
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource

    database = create_database(postgres, "restore_celery")
    monkeypatch.setenv("RESTORE_POSTGRES_URL", database)
    # The step's events come back through database 1; the steps' queues are in database 0.
    monkeypatch.setenv(celery_steps.ENV_BROKER, redis_url(redis, 0))
    monkeypatch.setenv(celery_steps.ENV_BACKEND, redis_url(redis, 1))
    env = {**os.environ, "RESTORE_DEVICE": "cpu", "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS": str(artistic_weights),
           "PYTHONWARNINGS": "ignore"}
    logs = tmp_path / "logs"
    logs.mkdir()

    # Attic: a photo upscaled 4x to 400 pixels (seconds of waifu2x: the step is killed during it) and
    # a tiny one; Boxes: two tiny ones. Each album is one run of two photos.
    layout_settings = StorageResource(home=str(layout.root)).settings()
    layout_settings.set_album_defaults("attic", long_side=400)
    originals = [write_scan(layout.gallery / "Attic" / "Wedding.jpg", grey=True, size=(100, 75), seed=1),
                 write_scan(layout.gallery / "Attic" / "Beach.png", grey=False, seed=2, fmt="PNG"),
                 write_scan(layout.gallery / "Boxes" / "Garden.jpg", grey=True, seed=3),
                 write_scan(layout.gallery / "Boxes" / "Dog.jpg", grey=True, seed=4)]
    before = {p: file_digest(p) for p in originals}

    with get_instance(layout) as instance:
        resources = {"storage": StorageResource(home=str(layout.root))}
        first = tick(instance, resources)
        assert isinstance(first, dg.SensorResult) and first.run_requests
        assets = sorted({key.path[-1] for r in first.run_requests for key in r.asset_selection})
        keys = list(instance.get_dynamic_partitions("photos"))
        requests = {}
        for album in ("attic", "boxes"):
            mine = [k for k in keys if k.startswith(f"{album}/")]
            assert len(mine) == 2, keys
            requests[album] = {"assets": assets,
                               "tags": {RANGE_START: mine[0], RANGE_END: mine[-1], RUN_TAG: album}}

        workers = {"cpu": _start_worker("cpu", celery_steps.CPU_QUEUE, env, logs),
                   "gpu": _start_worker("gpu", celery_steps.GPU_QUEUE, env, logs)}
        coordinators = {}
        try:
            for album, request in requests.items():
                with open(logs / f"run-{album}.log", "w") as out:
                    coordinators[album] = subprocess.Popen(
                        [sys.executable, "-m", "restore_dagster_tests.run_coordinator", json.dumps(request)],
                        env=env, stdout=out, stderr=subprocess.STDOUT)
            # Kill the process running Attic's upscaled step once it has loaded its model: mid-step.
            killed, deadline = None, time.monotonic() + DEADLINE_S
            while killed is None and time.monotonic() < deadline:
                run = _run_of(instance, "attic")
                loads = [l for l in _loads(_events(instance, run.run_id)) if l[0] == "upscaled"] if run else []
                if loads:
                    killed = loads[0][2]
                    os.kill(killed, signal.SIGKILL)
                    break
                assert coordinators["attic"].poll() is None, _diagnostics(logs)
                time.sleep(0.1)
            assert killed is not None, "Attic's upscaled step never started\n" + _diagnostics(logs)
            for album, coordinator in coordinators.items():
                assert coordinator.wait(timeout=max(1, deadline - time.monotonic())) == 0, album + "\n" + _diagnostics(logs)
        finally:
            for process in coordinators.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
            for worker in workers.values():
                _stop(worker)

        runs = {album: _run_of(instance, album) for album in requests}
        records = {album: _events(instance, run.run_id) for album, run in runs.items()}
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs.values())

    # Every step ran in a worker's process, none in this one or a coordinator's; CPU steps in the cpu
    # worker, GPU steps in the gpu worker, so every stage file crossed from one process to another.
    outsiders = {os.getpid()} | {p.pid for p in coordinators.values()}
    ran_on = {}
    for album, entries in records.items():
        for record in _step_events(entries, dg.DagsterEventType.STEP_START):
            assert record.dagster_event.pid not in outsiders, (album, record.step_key)
            ran_on.setdefault(record.step_key, set()).add(record.dagster_event.pid)
        for record in _step_events(entries, dg.DagsterEventType.ENGINE_EVENT):
            worker = (record.dagster_event.engine_event_data.metadata or {}).get("Celery worker")
            if worker is not None:
                expected = "gpu@" if record.step_key in GPU_STEPS else "cpu@"
                assert worker.value.startswith(expected), (album, record.step_key, worker.value)
    assert set(ran_on) == set(STAGES)
    gpu_pids = set().union(*(ran_on[s] for s in GPU_STEPS))
    cpu_pids = set().union(*(ran_on[s] for s in set(STAGES) - GPU_STEPS))
    assert not gpu_pids & cpu_pids

    # The killed step: started twice, in two processes, the first the one killed; the run went on.
    attic_starts = [r for r in _step_events(records["attic"], dg.DagsterEventType.STEP_START) if r.step_key == "upscaled"]
    assert [r.dagster_event.pid for r in attic_starts][:1] == [killed] and len(attic_starts) == 2, attic_starts
    assert attic_starts[1].dagster_event.pid != killed

    # GPU steps one at a time, across both runs (each from its first start to its success).
    spans = []
    for album, entries in records.items():
        for step in GPU_STEPS:
            starts = [r.timestamp for r in _step_events(entries, dg.DagsterEventType.STEP_START) if r.step_key == step]
            ends = [r.timestamp for r in _step_events(entries, dg.DagsterEventType.STEP_SUCCESS) if r.step_key == step]
            assert len(ends) == 1, (album, step)
            spans.append((min(starts), ends[0], album, step))
    spans.sort()
    for (_, end, *one), (start, _, *other) in zip(spans, spans[1:]):
        assert end <= start, f"GPU steps {one} and {other} overlapped"

    # Each step process loaded each model once for its batch of two photos.
    for album, entries in records.items():
        loads = _loads(entries)
        assert {(step, model) for step, model, _ in loads} >= {("upscaled", "upphoto/1"), ("colorized", "colorizer/deoldify-artistic")}
        assert len(loads) == len(set(loads)), (album, loads)

    # Nothing lost and nothing partial: every photo published whole, at its size, no temporary file
    # left beside the published ones; the originals untouched.
    sizes = {"Attic": {"Wedding.jpg": 400, "Beach.png": 160}, "Boxes": {"Garden.jpg": 96, "Dog.jpg": 96}}
    for album, expected in sizes.items():
        restored = layout.gallery / album / "restored"
        names = sorted(p.name for p in restored.iterdir())
        assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")], names
        for original, long_side in expected.items():
            published = [p for p in restored.iterdir() if p.name.startswith(f"{original}.restored.")]
            assert published, (album, original, names)
            for path in published:
                with Image.open(path) as image:
                    image.load()  # a truncated file fails here
                    assert max(image.size) == long_side, (path, image.size)
    assert {p: file_digest(p) for p in originals} == before
