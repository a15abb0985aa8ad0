"""`restore-photos run` as real processes: killed with SIGKILL, stopped with Ctrl-C or SIGTERM, run twice
at once, blocked on the gpu pool. Scans are made big enough (upscaled to 1280 px) that a photo spends a
few seconds in `upscaled`, and the tests act when a photo's progress record says it is in that stage.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from restore_dagster.gallery import FolderGallery
from restore_dagster.lineage import read_record
from restore_dagster.progress import DIRNAME as PROGRESS_DIR
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan

SLOW_SCAN = (160, 120)  # three 2x passes to 1280: a few seconds per photo on a CPU


@pytest.fixture
def slow_photos(layout):
    SettingsStore(layout.state).set_defaults(long_side=1280)
    return lambda count, album="Album": [
        write_scan(layout.gallery / album / f"photo {i}.jpg", size=SLOW_SCAN, seed=i) for i in range(count)
    ]


@pytest.fixture
def cli_env(layout, artistic_weights):
    env = dict(os.environ)
    env.update(RESTORE_HOME=str(layout.root), DAGSTER_HOME=str(layout.dagster_home), RESTORE_DEVICE="cpu",
               RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS=str(artistic_weights), PYTHONUNBUFFERED="1")
    env.pop("RESTORE_GALLERY", None)
    return env


def start_run(env, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "restore_dagster.cli", "run", "--quiet", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_stage(layout, stage: str, process: subprocess.Popen, timeout: float = 240) -> dict:
    """The first progress record of ``stage`` (a photo in the middle of that stage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (layout.state / PROGRESS_DIR).glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("stage") == stage:
                return record
        if process.poll() is not None:
            raise AssertionError(f"run ended before reaching {stage}:\n{process.stdout.read()}")
        time.sleep(0.05)
    raise AssertionError(f"no photo reached {stage} in {timeout}s")


def instance_for(layout):
    return dg.DagsterInstance.from_config(str(layout.dagster_home))


def held_slots(instance) -> list:
    storage = instance.event_log_storage
    return [slot for key in storage.get_concurrency_keys() for slot in storage.get_concurrency_info(key).claimed_slots]


def test_sigkill_mid_stage_then_run_again_finishes_every_photo(layout, cli_env, slow_photos):
    slow_photos(2)
    first = start_run(cli_env)
    wait_for_stage(layout, "upscaled", first)
    first.send_signal(signal.SIGKILL)
    first.wait(30)

    instance = instance_for(layout)
    [killed] = instance.get_runs()
    assert killed.status == dg.DagsterRunStatus.STARTED  # what kill -9 leaves behind
    assert held_slots(instance)  # ... with its gpu slot
    scanned_before = {k: read_record(layout, "scanned", k).metadata["run_id"] for k in ("album/photo-0", "album/photo-1")}
    assert set(scanned_before.values()) == {killed.run_id}

    second = start_run(cli_env)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out
    assert f"run {killed.run_id[:8]} marked failed" in out
    assert "2 photo(s) processed, 0 failed" in out
    instance = instance_for(layout)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert not held_slots(instance)
    for key in scanned_before:
        assert read_record(layout, "published", key) is not None
        # Resumed from the last completed stage: the killed run's scans were kept, not redone.
        assert read_record(layout, "scanned", key).metadata["run_id"] == killed.run_id
    assert len(FolderGallery(layout.gallery).restorations("Album")) == 2  # (a WebP's download JPEG beside it)
    assert not list((layout.state / PROGRESS_DIR).glob("*.json"))  # no stale progress left


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_cancels_the_step_and_stops(layout, cli_env, slow_photos, signo):
    slow_photos(2)
    process = start_run(cli_env)
    wait_for_stage(layout, "upscaled", process)
    sent = time.monotonic()
    process.send_signal(signo)
    out, _ = process.communicate(timeout=60)
    took = time.monotonic() - sent
    assert process.returncode == 128 + signo, out
    assert took < 10, f"took {took:.1f}s to stop"
    assert "0 photo(s) processed" in out and f"stopped: {signal.Signals(signo).name} received" in out

    instance = instance_for(layout)
    runs = instance.get_runs()
    assert len(runs) == 1  # the next batch or round was not started
    assert runs[0].status == dg.DagsterRunStatus.CANCELED
    assert not held_slots(instance)
    assert read_record(layout, "published", "album/photo-0") is None


def test_second_ctrl_c_quits_at_once(tmp_path):
    # The first signal only asks to stop (the caller is busy); the second ends the process at once.
    script = ("import time\nfrom restore_dagster.stopping import SignalStop\n"
              "with SignalStop() as stop:\n    print('ready', flush=True)\n    time.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None  # still running: asked to stop, not killed
    process.send_signal(signal.SIGINT)
    process.wait(5)
    assert process.returncode == 130
    assert "Ctrl-C again" in process.stderr.read()


def test_two_runs_at_once_do_not_process_the_same_photos(layout, cli_env, slow_photos):
    slow_photos(9)  # two batches (8 + 1): the second exists only in the first process's plan
    first = start_run(cli_env)
    wait_for_stage(layout, "upscaled", first)
    second = start_run(cli_env)
    out2, _ = second.communicate(timeout=300)
    assert first.poll() is None, "the first run should still be busy with its first batch"
    assert second.returncode == 0, out2
    assert "0 run(s); 0 photo(s) processed" in out2
    assert "9 photo(s) skipped: another live run is processing them" in out2
    # The second launched no stage run (it may refresh the catalogue, which processes no photo).
    runs = [r for r in instance_for(layout).get_runs() if "restore/start_stage" in r.tags]
    assert [r.tags["restore/owner_pid"] for r in runs] == [str(first.pid)]
    first.send_signal(signal.SIGINT)  # no need to wait for all nine photos
    first.communicate(timeout=60)


def test_a_step_blocked_on_the_pool_says_so_and_ctrl_c_still_stops(layout, cli_env, capsys):
    from restore_dagster.cli import main
    from restore_dagster.instance import get_instance
    from restore_dagster.owner import Owner

    write_scan(layout.gallery / "Album" / "one.jpg")
    instance = get_instance(layout)
    # A live run elsewhere (owned by this test process) holds the only gpu slot.
    holder_run = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id="f" * 36, status=dg.DagsterRunStatus.STARTED,
                                                tags=Owner.this_process().tags()))
    instance.event_log_storage.initialize_concurrency_limit_to_default("gpu")
    assert instance.event_log_storage.claim_concurrency_slot("gpu", holder_run.run_id, "upscaled").is_claimed

    process = start_run(cli_env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not any("waiting:" in line for line in lines) and process.poll() is None:
        time.sleep(0.2)
    waiting = [line for line in lines if "waiting:" in line]
    assert waiting, "".join(lines)
    assert "waits for the 'gpu' pool" in waiting[0] and f"held by run {holder_run.run_id[:8]}" in waiting[0]

    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "step repaired waits for the 'gpu' pool" in status  # the first GPU stage

    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode == 130 and time.monotonic() - sent < 10
    mine = [r for r in instance_for(layout).get_runs() if r.run_id != holder_run.run_id]
    assert [r.status for r in mine] == [dg.DagsterRunStatus.CANCELED]
    info = instance.event_log_storage.get_concurrency_info("gpu")
    assert not [s for s in info.pending_steps if s.run_id == mine[0].run_id]  # its wait is withdrawn
    assert {s.run_id for s in info.claimed_slots} == {holder_run.run_id}  # the live holder keeps its slot
