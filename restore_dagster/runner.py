"""Restore photos synchronously (``restore-photos run``): the same assets, in this process, no daemon.

Plans like the sensor does, adds the partitions to the project's instance, then materializes each
planned batch with ``dagster.materialize`` so the runs, materializations and failures are the same
ones the Dagster UI shows. Repeats until nothing is left to do, so photos whose batch had a broken
neighbour are carried on to ``published`` too.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from restore_dagster.catalogue import CATALOGUE_FILE
from restore_dagster.config import Layout
from restore_dagster.keys import slugify
from restore_dagster.partitions import photos
from restore_dagster.sensors import RANGE_END, RANGE_START, plan_for_instance

MAX_ROUNDS = 6  # one round per stage a batch can be stopped at, plus one


@dataclass
class RunResult:
    runs: int = 0
    done: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    gallery_note: str = ""
    catalogue_note: str = ""  # why state/catalogue.csv was not refreshed, if it was not

    def summary(self) -> str:
        lines = [f"{self.runs} run(s); {len(self.done)} photo(s) processed, {len(self.failed)} failed"]
        lines += [f"  failed {key}: {reason}" for key, reason in sorted(self.failed.items())]
        lines += [self.catalogue_note] if self.catalogue_note else []
        return "\n".join(lines)


def run_pipeline(layout: Layout, album: str | None = None, photo: str | None = None, retry_failed: bool = False,
                 progress: bool = True, resources: dict | None = None) -> RunResult:
    import dagster as dg
    from tqdm import tqdm

    from restore_dagster.assets import STAGE_ASSETS
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import GpuResource, StorageResource

    instance = get_instance(layout)
    storage = StorageResource(home=str(layout.root), gallery_path=str(layout.gallery))
    resources = resources or {"storage": storage, "gpu": GpuResource()}
    result = RunResult()
    if photo and photo not in storage.registry().load().photos:
        raise ValueError(f"no photo {photo!r}; `restore-photos status --photos` lists the photos")
    bar = tqdm(total=0, unit="photo", disable=not progress, desc="restoring")
    for round_number in range(MAX_ROUNDS):
        only = _selection(album, photo)
        plan, order = plan_for_instance(
            instance, storage, only=only, retry_failed=(retry_failed or photo is not None) and round_number == 0
        )
        storage.registry().save(plan.registry)
        missing = [k for k in plan.registry.photos if k not in set(order)]
        if missing:
            instance.add_dynamic_partitions(photos.name, missing)
        result.failed.update(plan.failed)
        if not plan.requests:
            break
        bar.total += sum(len(r.keys) for r in plan.requests)
        bar.refresh()
        for request in plan.requests:
            tags = {"restore/start_stage": request.start, "restore/via": "cli"}
            kwargs = {"partition_key": request.keys[0]} if len(request.keys) == 1 else {}
            if len(request.keys) > 1:
                tags.update({RANGE_START: request.keys[0], RANGE_END: request.keys[-1]})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = dg.materialize(
                    STAGE_ASSETS, instance=instance, resources=resources, selection=list(request.stages),
                    tags=tags, raise_on_error=False, **kwargs,
                )
            result.runs += 1
            result.done.update(request.keys)
            bar.update(len(request.keys))
            if not outcome.success:
                bar.write(f"run {outcome.run_id[:8]} had failures; continuing with the others")
    bar.close()
    final, _ = plan_for_instance(instance, storage, only=_selection(album, photo))
    result.failed = dict(final.failed)
    result.done -= set(result.failed)
    if result.runs or not (layout.state / CATALOGUE_FILE).exists():
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


def _selection(album: str | None, photo: str | None):
    """A predicate for plan_sync's ``only``, evaluated after new uploads got their keys."""
    if photo:
        return lambda key, registry: key == photo
    if album:
        return lambda key, registry: key.split("/")[0] in {registry.albums.get(album), slugify(album)}
    return None
