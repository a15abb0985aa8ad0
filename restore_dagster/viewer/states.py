"""Each photo's state for the web gallery: waiting, processing, restored, partial or failed (with the reason).

- processing: a queued or running run in the pipeline's Dagster instance names the photo (the reason
  is its progress within the stage, from progress.py, when it has started);
- restored: its published restoration was made from the current original, settings, touch-ups and
  weights (the same fingerprints the sensor compares);
- partial: published like a restored photo, but without an optional step whose model is missing
  ("colour pending"); the step is done automatically once the model's weights appear;
- failed: the pipeline recorded a failure on exactly these inputs (the reason is the run's message);
- waiting: anything else: a new upload the sensor has not seen yet, or a change not yet processed.

``reason`` is one line and ``detail`` the full text (where weights go, the error's lines): both are
for the owner only, since they can name server paths and environment variables; what a share-link
visitor gets instead is decided in ``views``.

A restored photo costs a stat of its published record (read again only when it changed) and no
fingerprint while the shared inputs are unchanged (plan_inputs.PlanMemo); one not restored costs its
fingerprints and a read of its failure record, so an album of 1,000 photos is read in well under a
second, also in a gallery of 100,000 (bench/bench_viewer.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from restore_dagster.config import Layout
from restore_dagster.lineage import StageRecord, file_signature, read_failure, read_record, record_path
from restore_dagster.optional_steps import OptionalStep, pending_steps
from restore_dagster.progress import describe as describe_progress, read_progress
from restore_dagster.plan_inputs import PlanInputs, PlanMemo
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import PhotoSettings, SettingsStore
from restore_dagster.viewer.library import Photo

log = logging.getLogger(__name__)
STATES = ("waiting", "processing", "restored", "partial", "failed")


@dataclass(frozen=True)
class PhotoStatus:
    state: str
    reason: str = ""  # one line, for the owner
    key: str | None = None
    settings: PhotoSettings | None = None
    details: dict = field(default_factory=dict)  # what the current restoration was made with
    detail: str = ""  # the owner's full explanation (failure message, how to get missing weights)
    pending: tuple[OptionalStep, ...] = ()  # optional steps the published restoration went without


BusyKeys = Callable[[], set[str]]


def instance_busy_keys(layout: Layout) -> BusyKeys:
    """Photos in queued or running runs of the Dagster instance under ``layout`` (none if it has none)."""
    cache: dict = {}

    def read() -> set[str]:
        home = layout.dagster_home
        if not (Path(home) / "dagster.yaml").exists():
            return set()  # no instance yet: nothing can be running
        try:
            import dagster as dg

            from restore_dagster.partitions import photos
            from restore_dagster.run_activity import busy_photo_keys

            if "instance" not in cache:
                cache["instance"] = dg.DagsterInstance.from_config(str(home))
            instance = cache["instance"]
            return busy_photo_keys(instance, lambda: list(instance.get_dynamic_partitions(photos.name)))
        except Exception as exc:  # a locked or damaged run database must not take the gallery down
            log.warning("cannot read runs from the Dagster instance in %s: %s", home, exc)
            cache.clear()
            return set()

    return read


class StateReader:
    # Published records kept by their stat signature (a stat instead of a JSON read per restored photo),
    # at most this many: the home page's first visit reads every photo's.
    KEEP_RECORDS = 20_000

    def __init__(self, layout: Layout, busy_keys: BusyKeys):
        self.layout = layout
        self.busy_keys = busy_keys
        # The sensor's memo of published fingerprints (plan_inputs.py), this process's own: an album of 500
        # restored photos costs no fingerprint while the settings, touch-ups and descriptions stay as they were.
        self._memo = PlanMemo(layout)
        self._records: dict[str, tuple[str, StageRecord]] = {}

    def statuses(self, photos: Iterable[Photo], with_details: bool = False) -> dict[str, PhotoStatus]:
        """``{photo.source: PhotoStatus}``; ``with_details`` also reads what the restoration was made with."""
        photos = list(photos)
        if not photos:
            return {}
        layout = self.layout
        registry = RegistryStore(layout.state).load_shared()  # only read here: parsed again only when it changed
        store = SettingsStore(layout.state)
        inputs = PlanInputs(layout, store, list(registry.albums.values()))
        busy = self.busy_keys()
        with self._memo.lock:
            self._memo.use(inputs)
            return {photo.source: self._status(photo, registry, store, inputs, busy, with_details) for photo in photos}

    def restored(self, photos: Iterable[Photo]) -> list[Photo]:
        """The photos whose state is restored or partial (published without an optional step), in order.

        What ``statuses`` says of them, for less: a photo that is not restored costs no fingerprints
        and no failure read (the home page's cards count 100,000 photos)."""
        photos = list(photos)
        if not photos:
            return []
        registry = RegistryStore(self.layout.state).load_shared()
        inputs = PlanInputs(self.layout, SettingsStore(self.layout.state), list(registry.albums.values()))
        busy = self.busy_keys()
        result = []
        with self._memo.lock:
            self._memo.use(inputs)
            for photo in photos:
                key = registry.key_for(photo.source)
                entry = registry.photos.get(key) if key else None
                if entry is None or key in busy or entry.signature != f"{photo.size}:{photo.mtime_ns}":
                    continue
                published = self._published_record(key)
                if published is not None and published.fingerprint == self._memo.published(entry, inputs):
                    result.append(photo)
        return result

    def _status(self, photo: Photo, registry, store: SettingsStore, inputs: PlanInputs, busy: set[str],
                with_details: bool) -> PhotoStatus:
        layout = self.layout
        key = registry.key_for(photo.source)
        entry = registry.photos.get(key) if key else None
        if entry is None:
            return PhotoStatus("waiting", "new upload: the pipeline picks it up within a minute")
        # A photo's own settings only for its page: working them out is most of the cost of a big album.
        settings = store.get(key, inputs.overrides) if with_details else None
        details = _restoration_details(layout, key) if with_details else {}
        if key in busy:  # the reason says how far it is, e.g. "upscaling: 37/120 tiles (31%)"
            progress = describe_progress(read_progress(layout.state, key))
            return PhotoStatus("processing", progress, key, settings, details)
        published = self._published_record(key)
        if entry.signature != f"{photo.size}:{photo.mtime_ns}":
            state, reason = "waiting", "the original was replaced: it will be restored again"
        elif published is not None and published.fingerprint == self._memo.published(entry, inputs):
            steps = tuple(pending_steps([published]))
            if steps:
                reason = "; ".join(step.headline for step in steps)
                detail = "\n\n".join(step.detail for step in steps if step.detail)
                return PhotoStatus("partial", reason, key, settings, details, detail, steps)
            state, reason = "restored", ""
        else:
            desired = inputs.fingerprints(entry)
            failure = read_failure(layout, key)
            if failure and desired.get(failure.get("stage")) == failure.get("fingerprint"):
                full = f"{failure['stage']}: {failure['reason']}".strip()
                headline, _, rest = full.partition("\n")
                return PhotoStatus("failed", headline, key, settings, details, full if rest else "")
            state, reason = "waiting", "queued for restoration"
            compressed = read_record(layout, "compressed", key) if published is not None else None
            if compressed is not None and compressed.fingerprint == desired["compressed"]:
                # Only publishing is left (e.g. a new date, caption or names): say so, nothing is restored again.
                reason = "waiting to be published again (no model runs again)"
        return PhotoStatus(state, reason, key, settings, details)

    def _published_record(self, key: str) -> StageRecord | None:
        """The photo's published record, read again only when its file's stat signature changed."""
        signature = file_signature(record_path(self.layout, "published", key))
        if signature is None:
            self._records.pop(key, None)
            return None
        kept = self._records.get(key)
        if kept is not None and kept[0] == signature:
            return kept[1]
        record = read_record(self.layout, "published", key)
        if record is not None:
            if len(self._records) >= self.KEEP_RECORDS:
                self._records.clear()
            self._records[key] = (signature, record)
        return record


def _restoration_details(layout: Layout, key: str) -> dict:
    """What the published restoration was made with, from the stage records (empty when none)."""
    records = {stage: read_record(layout, stage, key) for stage in ("repaired", "toned", "upscaled", "colorized", "published")}
    if records["published"] is None:
        return {}
    colour = records["colorized"].metadata if records["colorized"] else {}
    upscale = records["upscaled"].metadata if records["upscaled"] else {}
    repair = records["repaired"].metadata if records["repaired"] else {}
    tone = records["toned"].metadata if records["toned"] else {}
    published = records["published"].metadata
    return {
        "colorized": bool(colour.get("colorized")),
        "model": colour.get("model", ""),
        "render_factor": colour.get("render_factor", 0),
        "input_size": colour.get("input_size", 0),  # DDColor's knob (0 for DeOldify and older records)
        "noise_level": upscale.get("noise_level"),
        "repaired": bool(repair.get("repaired")),
        "repair": repair.get("repair", ""),  # one line: "repaired 3 region(s), 0.42% of the photo", "nothing to repair"
        "repair_regions": repair.get("regions", 0),
        "repair_coverage_percent": repair.get("coverage_percent", 0.0),
        "toned": bool(tone.get("toned")),
        "tone": tone.get("tone", ""),  # one line: "colour print: ... (blacks lifted to 45)", "auto: not faded ..."
        "width": published.get("width"),
        "height": published.get("height"),
        "format": published.get("format", ""),
        "bytes": published.get("bytes"),
        "at": records["published"].at,
    }
