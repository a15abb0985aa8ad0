"""Drive the real sensor and assets against an on-disk Dagster instance, as the daemon would."""
from __future__ import annotations

import warnings

import dagster as dg

from restore_dagster.assets import STAGE_ASSETS
from restore_dagster.partitions import photos
from restore_dagster.sensors import gallery_sensor


def tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None = None):
    """Evaluate gallery_sensor once and apply its partition requests, like the sensor daemon."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"storage": resources["storage"]})
    result = gallery_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(photos.name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(photos.name, key)
    return result


def execute(instance: dg.DagsterInstance, resources: dict, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run what a RunRequest asks for, through the same assets, in this process."""
    kwargs = {"partition_key": request.partition_key} if request.partition_key else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.materialize(
            STAGE_ASSETS,
            instance=instance,
            resources=resources,
            selection=list(request.asset_selection),
            tags=dict(request.tags),
            raise_on_error=False,
            **kwargs,
        )


def drain(instance, resources, max_ticks: int = 8) -> list[dg.RunRequest]:
    """Tick and execute until the sensor asks for nothing more; returns every request it made."""
    made, cursor = [], None
    for _ in range(max_ticks):
        result = tick(instance, resources, cursor)
        if not isinstance(result, dg.SensorResult) or not result.run_requests:
            return made
        cursor = result.cursor
        for request in result.run_requests:
            made.append(request)
            execute(instance, resources, request)
    raise AssertionError("the sensor kept asking for work")


def materialized(instance: dg.DagsterInstance, stage: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(stage)))
