"""gallery_sensor: new uploads become partitions and get processed; changes re-run only what changed.

Each tick compares the gallery with the registry and the stage records (see sync.py): new uploads
are added as partitions and requested from ``scanned`` down, in batches of adjacent keys so models
load once per batch; a replaced original, a touch-up or a changed setting re-runs only that photo,
from the first stage whose inputs changed. Photos already being processed by a queued or running
run, or planned by a live ``restore-photos run``, are left alone, and a photo that failed on its
current inputs is not retried by itself. Each tick first marks runs whose process is gone as failed
and frees their pool slots (stale_runs.py), so their photos are planned again from their last
completed stage, and logs any step waiting for the gpu pool.

A large gallery is taken in bounded steps (a 100,000-photo archive is registered over several
ticks): at most NEW_PARTITIONS_PER_TICK new partitions a tick, added in requests of PARTITION_CHUNK
keys, and run requests only while fewer than RUNS_IN_FLIGHT runs are queued or running, so every
tick stays well inside the sensor's timeout and every query well inside SQLite's variable limit.
"""
from __future__ import annotations

import dagster as dg

from restore_dagster.assets import STAGE_ASSETS
from restore_dagster.gallery import GalleryUnavailable
from restore_dagster.partitions import photos
from restore_dagster.plan_inputs import memo_for
from restore_dagster.resources import StorageResource
from restore_dagster.run_activity import ACTIVE, RANGE_END, RANGE_START, busy_photo_keys
from restore_dagster.run_claims import ClaimBoard
from restore_dagster.stale_runs import pool_waits, reap_stale_runs
from restore_dagster.sync import SyncPlan, StageRequest, plan_sync

RUN_KEY_TAG = "dagster/run_key"

# Each partition request becomes one `partition IN (?, ...)` query in Dagster's storage: SQLite
# refuses more than 32,766 variables (Dagster issue #16260 fails at 36,000 partitions at once).
PARTITION_CHUNK = 5_000
# What one tick registers: a tick registering 10,000 new photos took 1.7 s on a 2-core machine
# (bench/bench_sensor.py, BENCHMARKS.md), so 20,000 stays far inside the daemon's 60 s sensor
# timeout; the rest comes in the next ticks, 30 s apart.
NEW_PARTITIONS_PER_TICK = 20_000
# Queued or running runs the sensor keeps ahead of the workers: 200 runs of 8 photos is hours of CPU
# work and minutes of GPU work, while the queue the daemon and run_activity.py read stays small (the
# latter looks at the newest 1,000 active runs to know which photos are busy).
RUNS_IN_FLIGHT = 200


def run_request(request: StageRequest, used_run_keys: set[str] = frozenset()) -> dg.RunRequest:
    selection = [dg.AssetKey(stage) for stage in request.stages]
    tags = {"restore/start_stage": request.start, "restore/photos": str(len(request.keys))}
    run_key = fresh_run_key(request.run_key, used_run_keys)
    if len(request.keys) == 1:
        return dg.RunRequest(run_key=run_key, asset_selection=selection, partition_key=request.keys[0], tags=tags)
    tags.update({RANGE_START: request.keys[0], RANGE_END: request.keys[-1]})
    return dg.RunRequest(run_key=run_key, asset_selection=selection, tags=tags)


def fresh_run_key(base: str, used: set[str]) -> str:
    """``base``, or ``base-N`` when a run already used it.

    Dagster skips a sensor's run request whose run key an earlier run of the sensor had, whatever
    became of that run. The plan only asks again for exactly the same work (same photos, same start
    stage, same inputs) when the earlier run did not do it: it was killed or cancelled (photos in
    queued or running runs are never planned). So a used key gets a suffix, and the work is resumed.
    """
    if base not in used:
        return base
    attempt = 1
    while f"{base}-{attempt}" in used:
        attempt += 1
    return f"{base}-{attempt}"


def used_run_keys(instance: dg.DagsterInstance) -> set[str]:
    return {value for _, values in instance.get_run_tags(tag_keys=[RUN_KEY_TAG]) for value in values}


def plan_for_instance(instance: dg.DagsterInstance, storage: StorageResource, **kwargs) -> tuple[SyncPlan, list[str]]:
    """Plan against the instance's partitions; returns the plan and the partition order after it applies."""
    order = list(instance.get_dynamic_partitions(photos.name))
    registry = storage.registry().load()
    # Busy: photos in queued or running runs, and those a live `restore-photos run` has planned.
    busy = busy_photo_keys(instance, order) | ClaimBoard(storage.layout.state).others()
    plan = plan_sync(
        storage.gallery(), storage.layout, registry, storage.settings(),
        partition_order=order, busy_keys=busy, memo=memo_for(storage.layout), **kwargs,
    )
    return plan, order


@dg.sensor(
    name="gallery_sensor",
    asset_selection=dg.AssetSelection.assets(*STAGE_ASSETS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Watches the gallery: adds new uploads as photo partitions and gets them restored; re-runs a "
    "photo from the touched stage when its original, a touch-up or its settings change.",
)
def gallery_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    try:  # runs whose process was killed would keep their photos "busy" and the gpu pool held
        for note in reap_stale_runs(context.instance) + pool_waits(context.instance):
            context.log.info(note)
    except Exception as exc:  # never lose a tick to this housekeeping
        context.log.warning(f"could not check for stale runs: {exc}")
    try:
        plan, order = plan_for_instance(context.instance, storage)
    except GalleryUnavailable as exc:
        # Nothing was read, nothing is recorded: the next tick sees every upload this one missed.
        return dg.SkipReason(f"gallery unavailable, skipping this tick: {exc}")

    known = set(order)
    missing = [key for key in plan.registry.photos if key not in known]
    stale = [key for key in order if key not in plan.registry.photos]
    generation = plan.registry.generation
    if plan.registry_changed:
        generation = storage.registry().save(plan.registry)
    if not (missing or stale or plan.requests or plan.changed):
        waiting = f"; {len(plan.failed)} failed photo(s) wait for a retry" if plan.failed else ""
        return dg.SkipReason(f"no new uploads or changes in {len(plan.registry.photos)} photo(s){waiting}")

    registering = missing[:NEW_PARTITIONS_PER_TICK]  # the rest next tick: they stay missing until added
    # The original is observed when its partition is added (also a tick after it was registered, for
    # a gallery registered in several ticks) and whenever it is replaced.
    observed = dict.fromkeys([*registering, *(key for key in plan.changed if key in known)])
    events = [
        dg.AssetMaterialization(
            asset_key="raw_photo",
            partition=key,
            metadata={"source": plan.registry.photos[key].source, "signature": plan.registry.photos[key].signature},
        )
        for key in observed
    ]
    partition_requests = [photos.build_add_request(chunk) for chunk in _chunks(registering)]
    partition_requests += [photos.build_delete_request(chunk) for chunk in _chunks(stale)]
    # A run may only name partitions that exist once this tick's requests apply.
    registered = known | set(registering)
    ready = [r for r in plan.requests if all(key in registered for key in r.keys)]
    room = RUNS_IN_FLIGHT - context.instance.get_runs_count(dg.RunsFilter(statuses=ACTIVE)) if ready else 0
    requests = ready[: max(room, 0)]
    waiting = len(plan.requests) - len(requests)
    context.log.info(
        f"{len(plan.added)} new, {len(plan.changed)} replaced, {len(plan.removed)} removed; "
        f"{len(requests)} run(s) for {sum(len(r.keys) for r in requests)} photo(s)"
        + (f" ({waiting} more run(s) wait for room in the queue or their partitions)" if waiting else "")
        + (f"; {len(missing) - len(registering)} photo(s) to register in later ticks" if len(missing) > len(registering) else "")
        + f"; {len(plan.busy)} busy, {len(plan.failed)} failed"
    )
    used = used_run_keys(context.instance) if requests else set()
    return dg.SensorResult(
        run_requests=[run_request(r, used) for r in requests],
        dynamic_partitions_requests=partition_requests,
        asset_events=events,
        cursor=str(generation),
    )


def _chunks(keys: list[str]) -> list[list[str]]:
    return [keys[i : i + PARTITION_CHUNK] for i in range(0, len(keys), PARTITION_CHUNK)]
