"""gallery_sensor: new uploads become partitions and get processed; changes re-run only what changed.

Each tick compares the gallery with the registry and the stage records (see sync.py): new uploads
are added as partitions and requested from ``scanned`` down, in batches of adjacent keys so models
load once per batch; a replaced original, a touch-up or a changed setting re-runs only that photo,
from the first stage whose inputs changed. Photos already being processed by a queued or running
run are left alone, and a photo that failed on its current inputs is not retried by itself.
"""
from __future__ import annotations

import dagster as dg

from restore_dagster.assets import STAGE_ASSETS
from restore_dagster.gallery import GalleryUnavailable
from restore_dagster.partitions import photos
from restore_dagster.resources import StorageResource
from restore_dagster.run_activity import RANGE_END, RANGE_START, busy_photo_keys
from restore_dagster.sync import SyncPlan, StageRequest, plan_sync

def run_request(request: StageRequest) -> dg.RunRequest:
    selection = [dg.AssetKey(stage) for stage in request.stages]
    tags = {"restore/start_stage": request.start, "restore/photos": str(len(request.keys))}
    if len(request.keys) == 1:
        return dg.RunRequest(run_key=request.run_key, asset_selection=selection, partition_key=request.keys[0], tags=tags)
    tags.update({RANGE_START: request.keys[0], RANGE_END: request.keys[-1]})
    return dg.RunRequest(run_key=request.run_key, asset_selection=selection, tags=tags)


def plan_for_instance(instance: dg.DagsterInstance, storage: StorageResource, **kwargs) -> tuple[SyncPlan, list[str]]:
    """Plan against the instance's partitions; returns the plan and the partition order after it applies."""
    order = list(instance.get_dynamic_partitions(photos.name))
    registry = storage.registry().load()
    plan = plan_sync(
        storage.gallery(), storage.layout, registry, storage.settings(),
        partition_order=order, busy_keys=busy_photo_keys(instance, order), **kwargs,
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

    events = [
        dg.AssetMaterialization(
            asset_key="raw_photo",
            partition=key,
            metadata={"source": plan.registry.photos[key].source, "signature": plan.registry.photos[key].signature},
        )
        for key in [*plan.added, *plan.changed]
    ]
    partition_requests = []
    if missing:
        partition_requests.append(photos.build_add_request(missing))
    if stale:
        partition_requests.append(photos.build_delete_request(stale))
    context.log.info(
        f"{len(plan.added)} new, {len(plan.changed)} replaced, {len(plan.removed)} removed; "
        f"{len(plan.requests)} run(s) for {sum(len(r.keys) for r in plan.requests)} photo(s); "
        f"{len(plan.busy)} busy, {len(plan.failed)} failed"
    )
    return dg.SensorResult(
        run_requests=[run_request(r) for r in plan.requests],
        dynamic_partitions_requests=partition_requests,
        asset_events=events,
        cursor=str(generation),
    )
