"""Run one stage over every photo of a (possibly multi-photo) run, one photo's failure never the others'.

Each photo is processed on its own: its output and record are written, or its failure is recorded
with the reason. When every photo succeeded the step returns normally and Dagster records one
materialization per photo, each with its own metadata. When some failed, the successful ones are
reported as materializations of their own partitions and the step then fails naming the broken
photos, so the UI shows exactly which partitions failed; the sensor carries the successful ones on
to the next stages in a follow-up run, and a failed one can be re-materialized alone.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import dagster as dg

from restore_dagster.config import TOUCHUP_STAGES, Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import (
    clear_failure,
    fingerprints,
    read_record,
    stage_file,
    record_failure,
    touchup_path,
    touchup_signatures,
    weights_signatures,
    write_record,
)
from restore_dagster.optional_steps import OptionalStep, pending_label
from restore_dagster.progress import PhotoProgress
from restore_dagster.registry import PhotoEntry
from restore_dagster.resources import GpuResource, StorageResource
from restore_dagster.settings import PhotoSettings
from restore_dagster.stopping import checkpoint


class RestoreConfig(dg.Config):
    """One-off overrides for this run (launchpad); empty fields keep each photo's stored settings."""

    noise_level: int | None = None
    long_side: int | None = None
    colorize: str | None = None
    model: str | None = None
    render_factor: int | None = None
    input_size: int | None = None
    ssim_floor: float | None = None
    detail_floor_1to1: float | None = None
    web_formats: str | None = None
    max_bytes: int | None = None
    repair: str | None = None
    repair_threshold: float | None = None
    max_magnification: float | None = None
    tone: str | None = None

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


@dataclass
class PhotoJob:
    """Everything a stage needs to process one photo."""

    key: str
    entry: PhotoEntry
    settings: PhotoSettings  # effective: stored settings plus this run's overrides
    layout: Layout
    touchup: Path | None
    storage: StorageResource
    gpu: GpuResource | None = None
    log: Any = None
    progress: PhotoProgress | None = None  # tiles(done, total) for stages that work in tiles

    def output(self, stage: str, extension: str) -> Path:
        return stage_file(self.layout, stage, self.key, extension)

    def upstream(self, stage: str):
        record = read_record(self.layout, stage, self.key)
        if record is None:
            raise FileNotFoundError(f"{self.key}: stage '{stage}' has no output yet; materialize it first")
        return record


@dataclass
class StageOutput:
    file: Path | None
    record: dict[str, Any]  # plain JSON kept beside the output for later stages and the catalogue
    metadata: dict[str, Any] = field(default_factory=dict)  # extra Dagster metadata (previews, markdown)


def run_stage(
    context: dg.AssetExecutionContext,
    stage: str,
    storage: StorageResource,
    process: Callable[[PhotoJob], StageOutput],
    config: RestoreConfig | None = None,
    gpu: GpuResource | None = None,
    checks: Callable[[dict[str, StageOutput]], list[dg.AssetCheckResult]] | None = None,
) -> Iterator[Any]:
    layout = storage.layout
    settings_store = storage.settings()
    stored_overrides = settings_store.all_overrides()
    registry = storage.registry().load()
    overrides = config.overrides() if config else {}
    done: dict[str, StageOutput] = {}
    failed: dict[str, str] = {}

    keys = context.partition_keys
    for number, key in enumerate(keys, start=1):
        checkpoint()  # a stop asked for (Ctrl-C in `restore-photos run`) ends the step between photos
        started = time.perf_counter()
        progress = PhotoProgress(layout.state, stage, key, number, len(keys), context.run_id, context.log)
        progress.start()
        entry, stored = registry.photos.get(key), None
        try:
            if entry is None:
                raise KeyError(f"{key}: not in the photo registry (its original was removed from the gallery?)")
            stored = settings_store.get(key, stored_overrides)  # a hand-edited, invalid value fails this photo only
            touchup = touchup_path(layout, stage, key) if stage in TOUCHUP_STAGES else None
            job = PhotoJob(key, entry, stored.updated(**overrides), layout, touchup, storage, gpu, context.log, progress)
            out = process(job)
            seconds = round(time.perf_counter() - started, 3)
            record = {**out.record, "seconds": seconds, "touched_up": touchup is not None, "run_id": context.run_id}
            if overrides:
                record["one_off_overrides"] = overrides
            write_record(layout, stage, key, _fingerprint(layout, stage, entry, stored), out.file, record)
            clear_failure(layout, key)
            out.record = record
            done[key] = out
            context.log.info(f"{stage} {key}: done in {seconds:.2f}s")
        except Exception as exc:  # one broken photo must not fail or lose the others
            reason = _reason(exc)
            failed[key] = reason
            fingerprint = _fingerprint(layout, stage, entry, stored) if entry and stored else ""
            record_failure(layout, key, stage, fingerprint, reason, context.run_id)
            context.log.error(f"{stage} {key} failed: {reason}\n{traceback.format_exc(limit=6)}")
        finally:
            progress.clear()
            if gpu is not None:
                gpu.free_memory(context.log, label=f"{stage} {key}")

    check_results = checks(done) if checks else []
    if not failed:
        for key, out in done.items():
            context.add_asset_metadata(_dagster_metadata(out), partition_key=key)
        yield dg.MaterializeResult(check_results=check_results)
        return
    for key, out in done.items():
        yield dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata=_dagster_metadata(out))
    yield from check_results
    lines = "\n".join(f"- {key}: {reason}" for key, reason in failed.items())
    raise dg.Failure(
        description=f"{stage}: {len(failed)} of {len(context.partition_keys)} photo(s) failed:\n{lines}",
        metadata={"failed": dg.MetadataValue.json(failed), "succeeded": dg.MetadataValue.json(sorted(done))},
        allow_retries=False,
    )


def _fingerprint(layout: Layout, stage: str, entry: PhotoEntry, stored: PhotoSettings) -> str:
    # Of the *stored* settings, so a one-off override is not undone by the sensor on its next tick;
    # taken after processing, so weights downloaded by this very run count as the ones used.
    touchups = touchup_signatures(layout, entry.key)
    description = DescriptionStore(layout.state).snapshot().signature(entry.source, entry.album) if stage == "published" else None
    return fingerprints(entry.signature, stored, touchups, weights_signatures(layout), description)[stage]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # Our own errors already say what went wrong with which file; others get their type for context.
    return text if type(exc).__module__.startswith("restore_dagster") else f"{type(exc).__name__}: {text}"


def _dagster_metadata(out: StageOutput) -> dict[str, Any]:
    plain = {k: v for k, v in out.record.items() if isinstance(v, (int, float, str, bool)) and k != "run_id"}
    if out.file is not None:
        plain["path"] = dg.MetadataValue.path(str(out.file))
    return {**plain, **out.metadata}


def preview_markdown(title: str, data_uri: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"**{title}**\n\n![{title}]({data_uri})")


def pending_metadata(steps: list[OptionalStep]) -> dict[str, dg.MetadataValue]:
    """Dagster metadata for optional steps a photo went without: a one-line label and the full detail."""
    return {
        "pending": dg.MetadataValue.text(pending_label(steps)),
        "pending_steps": dg.MetadataValue.json([step.to_json() for step in steps]),
        "pending_detail": dg.MetadataValue.md("\n\n".join(
            f"**{step.headline}** ({step.model}, {step.weights})\n\n```\n{step.detail}\n```" for step in steps)),
    }
