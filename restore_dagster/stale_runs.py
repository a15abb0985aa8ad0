"""Runs whose process is gone, and runs waiting for the "gpu" pool.

A run killed with ``kill -9`` (or lost with its machine) stays STARTED in Dagster's run storage and
keeps its pool slot, so every later GPU step would wait for it for ever. ``reap_stale_runs`` finds
runs of this project whose owning process (see owner.py) is gone, marks them failed (or canceled,
when they were being cancelled), and frees their concurrency slots; it also frees the slots that
finished runs still hold (a run marked failed by hand in the UI keeps its slot otherwise). Their
photos are then planned again like any unfinished photo: from the first stage without a current
output. Called at the start of ``restore-photos run``, by ``status`` and by every sensor tick; under
``dagster dev`` the daemon's run monitoring (instance/dagster.yaml) frees finished runs' slots too.

``pool_waits`` says which runs wait for a pool slot and which runs hold it: Dagster logs that only at
debug level, so the CLI prints it and ``status`` lists it.
"""
from __future__ import annotations

import dagster as dg

from restore_dagster.owner import Owner

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def owner_is_gone(run: dg.DagsterRun) -> bool:
    """True only when the run names its process and that process certainly no longer exists."""
    owner = Owner.from_tags(run.tags)
    return owner is not None and owner.alive() is False


def reap_stale_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark runs whose process is gone failed (canceled if cancelling) and free the slots of finished
    runs; returns one line per run handled, for the caller to show."""
    notes = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED), limit=1000):
        if not owner_is_gone(run):
            continue
        owner = Owner.from_tags(run.tags)
        message = (f"the {owner.describe()} that ran it is gone (killed or crashed); its photos are "
                   "resumed from their last completed stage by the next run or sensor tick")
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message=f"Canceled: {message}")
            notes.append(f"run {run.run_id[:8]} marked canceled: {message}")
        else:
            instance.report_run_failed(run, message=f"Failed: {message}")
            notes.append(f"run {run.run_id[:8]} marked failed: {message}")
    notes += free_finished_runs_slots(instance)
    return notes


def free_finished_runs_slots(instance: dg.DagsterInstance) -> list[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = set(storage.get_concurrency_run_ids())
    for key in storage.get_concurrency_keys():
        holders |= {slot.run_id for slot in storage.get_concurrency_info(key).claimed_slots}
    if not holders:
        return []
    notes = []
    finished = instance.get_runs(filters=dg.RunsFilter(run_ids=sorted(holders), statuses=FINISHED))
    finished_ids = {run.run_id for run in finished}
    # A slot held by a run that no longer exists (deleted in the UI) is as stuck as a finished one's.
    existing = {run.run_id for run in instance.get_runs(filters=dg.RunsFilter(run_ids=sorted(holders)))}
    for run_id in sorted(finished_ids | (holders - existing)):
        storage.free_concurrency_slots_for_run(run_id)
        notes.append(f"run {run_id[:8]} had finished but still held a pool slot: freed")
    return notes


def free_run_slots(instance: dg.DagsterInstance, run_id: str) -> None:
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def pool_waits(instance: dg.DagsterInstance, run_ids: set[str] | None = None) -> list[str]:
    """'run X waits for the gpu pool (held by run Y, process …)' for each waiting step (of ``run_ids``)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    lines = []
    for key in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(key)
        waiting = [s for s in info.pending_steps if s.assigned_timestamp is None
                   and (run_ids is None or s.run_id in run_ids)]
        if not waiting:
            continue
        holders = []
        for run_id in sorted({slot.run_id for slot in info.claimed_slots}):
            run = instance.get_run_by_id(run_id)
            owner = Owner.from_tags(run.tags) if run else None
            where = f", {owner.describe()}" if owner else ""
            status = run.status.value if run else "deleted"
            holders.append(f"run {run_id[:8]} ({status}{where})")
        held = ", ".join(holders) or "no run (the limit is 0?)"
        for step in waiting:
            lines.append(f"run {step.run_id[:8]} step {step.step_key} waits for the '{key}' pool "
                         f"(limit {info.slot_count}), held by {held}")
    return lines
