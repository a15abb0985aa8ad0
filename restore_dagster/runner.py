"""Restore photos synchronously (``restore-photos run``): the same assets, in this process, no daemon.

Plans like the sensor does, adds the partitions to the project's instance, then materializes each
planned batch with ``dagster.materialize`` so the runs, materializations and failures are the same
ones the Dagster UI shows. Repeats until nothing is left to do, so photos whose batch had a broken
neighbour are carried on to ``published`` too.

Safe to interrupt and to run twice: every run is tagged with this process (owner.py), so a run left
behind by ``kill -9`` is found, marked failed and its pool slot freed at the start of the next one
(stale_runs.py); photos a live CLI run or the sensor's runs are working on are skipped
(run_claims.py); Ctrl-C or SIGTERM cancels the current step and stops (stopping.py).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field

from restore_dagster.catalogue import CATALOGUE_FILE
from restore_dagster.config import Layout
from restore_dagster.keys import slugify
from restore_dagster.owner import Owner
from restore_dagster.partitions import photos
from restore_dagster.run_claims import ClaimBoard
from restore_dagster.sensors import RANGE_END, RANGE_START, plan_for_instance
from restore_dagster.stale_runs import UNFINISHED, free_run_slots, pool_waits, reap_stale_runs
from restore_dagster.stopping import SignalStop

MAX_ROUNDS = 8  # one round per stage a batch can be stopped at, plus one
STOP_GRACE_S = 10  # after a stop request, how long the current step may take to notice it
POOL_NOTE_AFTER_S = 3  # say a step waits for the gpu pool once it has waited this long
POOL_NOTE_EVERY_S = 60


@dataclass
class RunResult:
    runs: int = 0
    done: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)  # left to another live run
    stopped: str = ""  # why the command stopped early (a signal), else ""
    gallery_note: str = ""
    catalogue_note: str = ""  # why state/catalogue.csv was not refreshed, if it was not

    def summary(self) -> str:
        lines = [f"{self.runs} run(s); {len(self.done)} photo(s) processed, {len(self.failed)} failed"]
        if self.busy:
            lines.append(f"{len(self.busy)} photo(s) skipped: another live run is processing them")
        if self.stopped:
            lines.append(f"stopped: {self.stopped}; run `restore-photos run` again to finish the rest")
        lines += [f"  failed {key}: {reason}" for key, reason in sorted(self.failed.items())]
        lines += [self.catalogue_note] if self.catalogue_note else []
        return "\n".join(lines)


def run_pipeline(layout: Layout, album: str | None = None, photo: str | None = None, retry_failed: bool = False,
                 progress: bool = True, resources: dict | None = None, stop: SignalStop | None = None) -> RunResult:
    from tqdm import tqdm

    from restore_dagster.instance import get_instance
    from restore_dagster.resources import GpuResource, StorageResource

    instance = get_instance(layout)
    storage = StorageResource(home=str(layout.root), gallery_path=str(layout.gallery))
    resources = resources or {"storage": storage, "gpu": GpuResource()}
    result = RunResult()
    if photo and photo not in storage.registry().load().photos:
        raise ValueError(f"no photo {photo!r}; `restore-photos status --photos` lists the photos")
    bar = tqdm(total=0, unit="photo", disable=not progress, desc="restoring")
    for note in reap_stale_runs(instance):
        bar.write(note)
    board = ClaimBoard(layout.state)
    try:
        for round_number in range(MAX_ROUNDS):
            if stop is not None and stop.requested:
                break
            only = _selection(album, photo)
            # Plan and claim under one lock: a second `run` starting now sees these photos as busy.
            with board.locked():
                plan, order = plan_for_instance(
                    instance, storage, only=only, retry_failed=(retry_failed or photo is not None) and round_number == 0
                )
                storage.registry().save(plan.registry)
                missing = [k for k in plan.registry.photos if k not in set(order)]
                if missing:
                    instance.add_dynamic_partitions(photos.name, missing)
                board.claim(key for request in plan.requests for key in request.keys)
            result.failed.update(plan.failed)
            result.busy = set(plan.busy)
            if not plan.requests:
                break
            bar.total += sum(len(r.keys) for r in plan.requests)
            bar.refresh()
            for number, request in enumerate(plan.requests):
                if stop is not None and stop.requested:
                    break
                run = _execute(instance, resources, request, stop, bar)
                result.runs += 1
                if stop is not None and stop.requested and not (run is not None and run.is_success):
                    break  # interrupted: its photos are not done, whatever the run managed
                result.done.update(request.keys)
                bar.update(len(request.keys))
                if run is not None and not run.is_success:
                    bar.write(f"run {run.run_id[:8]} had failures; continuing with the others")
                board.claim(key for later in plan.requests[number + 1:] for key in later.keys)
        bar.close()
        final, _ = plan_for_instance(instance, storage, only=_selection(album, photo))
    finally:
        board.release()
    if stop is not None and stop.requested:
        result.stopped = f"{stop.signal_name} received; the current step was cancelled"
    result.failed = dict(final.failed)
    result.done -= set(result.failed)
    stopping = stop is not None and stop.requested  # leave at once: the next run refreshes it
    if not stopping and (result.runs or not (layout.state / CATALOGUE_FILE).exists()):
        result.catalogue_note = _refresh_catalogue(instance, resources)
    return result


def _refresh_catalogue(instance, resources: dict) -> str:
    """Materialize ``catalogue`` once at the end (no daemon here to run the catalogue sensor)."""
    import dagster as dg

    from restore_dagster.assets import catalogue

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = dg.materialize([catalogue], instance=instance, resources={"storage": resources["storage"]},
                                 tags={"restore/via": "cli"}, raise_on_error=False)
    if not outcome.success:
        return f"catalogue not refreshed: see run {outcome.run_id} in the Dagster UI"
    return ""


def _execute(instance, resources, request, stop: SignalStop | None, bar):
    """Materialize one planned batch in a worker thread; the main thread watches for signals and pool waits."""
    import dagster as dg

    from restore_dagster.assets import STAGE_ASSETS

    owner = Owner.this_process()
    tags = {"restore/start_stage": request.start, "restore/via": "cli", **owner.tags()}
    kwargs = {"partition_key": request.keys[0]} if len(request.keys) == 1 else {}
    if len(request.keys) > 1:
        tags.update({RANGE_START: request.keys[0], RANGE_END: request.keys[-1]})
    box: dict = {}

    def work():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                box["result"] = dg.materialize(
                    STAGE_ASSETS, instance=instance, resources=resources, selection=list(request.stages),
                    tags=tags, raise_on_error=False, **kwargs,
                )
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="restore-photos-run", daemon=True)
    started = time.monotonic()
    worker.start()
    cancelling_since = None
    last_pool_check = last_pool_note = 0.0
    while worker.is_alive():
        worker.join(0.2)
        if not worker.is_alive():
            break
        now = time.monotonic()
        if stop is not None and stop.requested:
            mine = _unfinished_runs(instance, owner)
            if cancelling_since is None and mine:
                for run in mine:
                    instance.report_run_canceling(run, message=f"{stop.signal_name} received: cancelling the run")
                stop.cancel_steps()  # only now: the run is CANCELING, so Dagster records it CANCELED
                cancelling_since = now
            waiting = pool_waits(instance, {run.run_id for run in mine}) if mine else []
            if cancelling_since is not None and (waiting or now - cancelling_since > STOP_GRACE_S):
                _force_stop(instance, mine, stop, "waiting for a pool slot" if waiting else "the step did not stop in time")
            continue
        # Dagster says a step waits for a pool slot only at debug level: say it here, and in the run's log.
        if now - started > POOL_NOTE_AFTER_S and now - last_pool_check > 2 and now - last_pool_note > POOL_NOTE_EVERY_S:
            last_pool_check = now
            mine = _unfinished_runs(instance, owner)
            waiting = pool_waits(instance, {run.run_id for run in mine}) if mine else []
            if waiting:
                last_pool_note = now
                for line in waiting:
                    bar.write(f"waiting: {line}")
                    instance.report_engine_event(f"Waiting: {line}", mine[0])  # INFO in the run's log
    if "error" in box:
        raise box["error"]
    outcome = box.get("result")
    if outcome is None:
        return None
    run = instance.get_run_by_id(outcome.run_id)
    if run is not None and run.is_finished:
        free_run_slots(instance, run.run_id)  # an interrupted step may not have given its slot back
    return run


def _unfinished_runs(instance, owner: Owner) -> list:
    import dagster as dg

    return list(instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags=owner.tags())))


def _force_stop(instance, runs, stop: SignalStop, why: str) -> None:
    """The worker cannot be stopped politely (no checkpoint reached): record the runs canceled, free
    their slots and leave. Outputs are written atomically, so nothing half-written is kept."""
    for run in runs:
        instance.report_run_canceled(run, message=f"Canceled: {stop.signal_name} received ({why})")
        free_run_slots(instance, run.run_id)
    sys.stderr.write(f"stopped: {stop.signal_name} received ({why}); run `restore-photos run` again to finish\n")
    sys.stderr.flush()
    os._exit(stop.exit_code)


def _selection(album: str | None, photo: str | None):
    """A predicate for plan_sync's ``only``, evaluated after new uploads got their keys."""
    if photo:
        return lambda key, registry: key == photo
    if album:
        return lambda key, registry: key.split("/")[0] in {registry.albums.get(album), slugify(album)}
    return None
