"""Which photos a queued or running Dagster run is working on, read from the instance's run storage.

Used by the sensor (never request a photo twice) and by the web gallery (a photo's "processing"
state). Only run records are read: no assets, no models, so the web server stays light.
"""
from __future__ import annotations

from typing import Callable

import dagster as dg

from restore_dagster.stale_runs import owner_is_gone

PARTITION = "dagster/partition"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def busy_photo_keys(instance: dg.DagsterInstance, order: list[str] | Callable[[], list[str]]) -> set[str]:
    """Photos named by a queued or running run (a single partition or a range of them).

    ``order`` is the photos partition's key order, or a function that reads it: called only when a
    range run is active (the web gallery asks on every page; 100,000 keys are not read for nothing).
    """
    busy: set[str] = set()
    position = None
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE), limit=1000):
        if owner_is_gone(run):
            continue  # killed: nothing works on its photos (stale_runs.py marks it failed)
        tags = run.tags
        if PARTITION in tags:
            busy.add(tags[PARTITION])
        elif RANGE_START in tags and RANGE_END in tags:
            if position is None:
                order = order() if callable(order) else order
                position = {key: i for i, key in enumerate(order)}
            start, end = position.get(tags[RANGE_START]), position.get(tags[RANGE_END])
            if start is not None and end is not None:
                busy.update(order[start : end + 1])
    return busy
