"""Run one stage over every photo of a (possibly multi-photo) run, one photo's failure never the others'.

Each photo is processed on its own: its output and record are written, or its failure is recorded
with the reason. When every photo succeeded the step returns normally and Dagster records one
materialization per photo, each with its own metadata. When some failed, the successful ones are
reported as materializations of their own partitions and the step then fails naming the broken
photos, so the UI shows exactly which partitions failed; the sensor carries the successful ones on
to the next stages in a follow-up run, and a failed one can be re-materialized alone.

A host-only stage (one that does not take the ``gpu`` resource) works on several photos at once, on
threads (``$RESTORE_HOST_WORKERS``, host_workers.py); a GPU stage on one at a time. Either way the
photos' outcomes are handed over in the batch's order on the step's own thread, where records and
failures are written, and a stop starts no new photo.
"""
from __future__ import annotations

import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import dagster as dg

from restore_dagster.assets.host_workers import host_workers
from restore_dagster.assets.stage_io import STAGE_IMAGES, WRITER_THREADS, StageWriter, write_stage_image
from restore_dagster.config import TOUCHUP_STAGES, Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.files import atomic_copy
from restore_dagster.lineage import (
    clear_failure,
    fingerprints,
    read_record,
    stage_file,
    stage_image_extensions,
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
    writer: StageWriter | None = None  # the step's background writer; None writes at once
    writes: list[Future] = field(default_factory=list)  # this photo's writes still in flight
    stale: list[Path] = field(default_factory=list)  # removed once the new record is written

    def output(self, stage: str, extension: str) -> Path:
        return stage_file(self.layout, stage, self.key, extension)

    def image_output(self, stage: str) -> Path:
        """The stage's image file: ``.tif`` for the 4K stages, ``.png`` for the others. A file in the
        other format (from before the change) is left for the old record until the new one is written."""
        extension, other = stage_image_extensions(stage)
        self.stale.append(self.output(stage, other))
        return self.output(stage, extension)

    def write_image(self, path: Path, image) -> None:
        """Write ``image`` as the stage file ``path`` (PNG or TIFF by its extension): in the background when the step has a writer (its
        record waits for it), else now. ``image`` must not be changed afterwards."""
        if self.writer is None:
            write_stage_image(path, image)
        else:
            self.writes.append(self.writer.write(path, image))

    def copy_stage_file(self, source: Path, target: Path, image) -> None:
        """``source`` copied byte for byte to ``target``, or ``image`` (what ``source`` decodes to) written
        when the two are in different formats (a PNG from before the 4K stages' TIFF); ``image`` is kept
        for the next stage's read like a written image."""
        if Path(source).suffix != Path(target).suffix:
            self.write_image(target, image)
            return
        atomic_copy(source, target)
        STAGE_IMAGES.remember(target, image)

    @staticmethod
    def read_image(path: str | Path):
        """An upstream stage's image: from memory when this process wrote that very file, else decoded."""
        return STAGE_IMAGES.read(path)

    def upstream(self, stage: str):
        record = read_record(self.layout, stage, self.key)
        if record is None:
            raise FileNotFoundError(f"{self.key}: stage '{stage}' has no output yet; materialize it first")
        return record


@dataclass
class _Pending:
    """A photo processed, its record waiting for its files to be written."""

    key: str
    entry: PhotoEntry
    stored: PhotoSettings
    out: "StageOutput"
    record: dict[str, Any]
    writes: list[Future]
    stale: list[Path]


@dataclass
class _Failed:
    """A photo whose processing failed: why, told as text, so that no frame (and none of the tensors
    its locals hold) outlives the photo while the failure waits to be recorded."""

    key: str
    entry: PhotoEntry | None
    stored: PhotoSettings | None
    reason: str
    trace: str

    @classmethod
    def of(cls, key: str, entry: PhotoEntry | None, stored: PhotoSettings | None, exc: BaseException) -> "_Failed":
        return cls(key, entry, stored, _reason(exc), "".join(traceback.format_exception(exc, limit=6)))


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
    # A GPU stage works on one photo at a time: the "gpu" pool gives its step the device and the
    # batch's models are loaded once. A host-only stage works on several (host_workers.py).
    workers = 1 if gpu is not None else min(host_workers(), max(1, len(keys)))
    writer = StageWriter(threads=max(WRITER_THREADS, workers))
    pending: list[_Pending] = []

    def fail(failure: _Failed) -> None:
        failed[failure.key] = failure.reason
        entry, stored = failure.entry, failure.stored
        fingerprint = _fingerprint(layout, stage, entry, stored) if entry and stored else ""
        record_failure(layout, failure.key, stage, fingerprint, failure.reason, context.run_id)
        context.log.error(f"{stage} {failure.key} failed: {failure.reason}\n{failure.trace}")

    def finish(item: _Pending) -> None:
        """The photo's record, once its files are on disk; a failed write fails the photo."""
        try:
            for write in item.writes:
                write.result()
            out, record = item.out, item.record
            if out.file is not None and "bytes" not in record:  # known once the background write is done
                record["bytes"] = Path(out.file).stat().st_size
            write_record(layout, stage, item.key, _fingerprint(layout, stage, item.entry, item.stored), out.file, record)
            clear_failure(layout, item.key)
            for stale in item.stale:  # the other format's file, once no record names it
                if out.file is None or Path(out.file) != stale:
                    stale.unlink(missing_ok=True)
            out.record = record
            done[item.key] = out
            context.log.info(f"{stage} {item.key}: done in {record['seconds']:.2f}s")
        except Exception as exc:  # one broken photo must not fail or lose the others
            fail(_Failed.of(item.key, item.entry, item.stored, exc))

    def finish_ready(block: bool) -> None:
        # In order: a photo's record is written once its writes are done, the next one's after it.
        while pending and (block or all(w.done() for w in pending[0].writes)):
            finish(pending.pop(0))

    def process_photo(number: int, key: str) -> _Pending | _Failed:
        """One photo processed (on a worker thread in a host-only stage); its record waits in ``pending``."""
        started = time.perf_counter()
        progress = PhotoProgress(layout.state, stage, key, number, len(keys), context.run_id, context.log)
        progress.start()
        entry, stored = registry.photos.get(key), None
        try:
            if entry is None:
                raise KeyError(f"{key}: not in the photo registry (its original was removed from the gallery?)")
            stored = settings_store.get(key, stored_overrides)  # a hand-edited, invalid value fails this photo only
            touchup = touchup_path(layout, stage, key) if stage in TOUCHUP_STAGES else None
            job = PhotoJob(key, entry, stored.updated(**overrides), layout, touchup, storage, gpu, context.log,
                           progress, writer)
            out = process(job)
            # The stage's own time; its files' encoding overlaps the next photo and is not in it.
            seconds = round(time.perf_counter() - started, 3)
            record = {**out.record, "seconds": seconds, "touched_up": touchup is not None, "run_id": context.run_id}
            if overrides:
                record["one_off_overrides"] = overrides
            return _Pending(key, entry, stored, out, record, job.writes, job.stale)
        except Exception as exc:  # one broken photo must not fail or lose the others
            return _Failed.of(key, entry, stored, exc)
        finally:
            progress.clear()
            if gpu is not None:
                gpu.free_memory(context.log, label=f"{stage} {key}")

    def hand_over(outcome: _Pending | _Failed) -> None:
        if isinstance(outcome, _Failed):
            fail(outcome)
        else:
            pending.append(outcome)
        finish_ready(block=False)

    try:
        if workers == 1:
            for number, key in enumerate(keys, start=1):
                checkpoint()  # a stop asked for (Ctrl-C in `restore-photos run`) ends the step between photos
                hand_over(process_photo(number, key))
        else:
            _process_concurrently(keys, workers, f"{stage}-photo", process_photo, hand_over)
    finally:
        writer.close()  # every write lands (or fails) before the step ends, even when it is stopped
        finish_ready(block=True)

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


def _process_concurrently(
    keys: list[str],
    workers: int,
    name: str,
    process_photo: Callable[[int, str], _Pending | _Failed],
    hand_over: Callable[[_Pending | _Failed], None],
) -> None:
    """``process_photo(number, key)`` for every key, ``workers`` photos at a time on threads, each
    outcome handed over (on this thread) in the keys' order, as the one-by-one loop does.

    A stop asked for (``checkpoint``) starts no new photo: the ones already started run to their end
    and are handed over, so their records are written and nothing is left half-done; then the stop
    ends the step. So does anything a photo raised past its own failure handling (an interruption).
    """
    running: dict[Future, int] = {}
    ready: dict[int, _Pending | _Failed | None] = {}  # done, waiting for the photos before them
    next_number = 1
    stop: BaseException | None = None

    def collect(finished) -> None:
        nonlocal next_number, stop
        for future in finished:
            number = running.pop(future)
            if future.exception() is not None:  # process_photo handles Exception: this is an interruption
                stop = stop or future.exception()
                ready[number] = None  # nothing to hand over; the photos after it still are
            else:
                ready[number] = future.result()
        while next_number in ready:
            outcome = ready.pop(next_number)
            next_number += 1
            if outcome is not None:
                hand_over(outcome)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        try:
            for number, key in enumerate(keys, start=1):
                while len(running) >= workers:  # a free worker before the next photo starts
                    collect(wait(running, return_when=FIRST_COMPLETED).done)
                if stop is not None:
                    break
                checkpoint()  # a stop asked for (Ctrl-C in `restore-photos run`) starts no new photo
                running[pool.submit(process_photo, number, key)] = number
        finally:
            while running:  # the photos in flight end and are handed over, whatever ended the loop
                collect(wait(running, return_when=FIRST_COMPLETED).done)
    if stop is not None:
        raise stop


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
