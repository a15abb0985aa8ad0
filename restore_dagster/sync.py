"""Compare the gallery with what the pipeline has produced and plan the work that closes the gap.

The sensor and the synchronous CLI both call ``plan_sync``; the sensor turns the plan into partition
requests and run requests, the CLI executes it in-process. Nothing here talks to Dagster.
"""
from __future__ import annotations

import hashlib
from typing import Callable
from dataclasses import dataclass, field

from restore_dagster.config import STAGES, Layout
from restore_dagster.gallery import Gallery
from restore_dagster.lineage import read_failure, read_record
from restore_dagster.plan_inputs import PlanInputs, PlanMemo
from restore_dagster.registry import Registry
from restore_dagster.settings import SettingsStore

DEFAULT_BATCH = 8


@dataclass(frozen=True)
class StageRequest:
    """Process ``keys`` from ``start`` down to ``published``."""

    start: str
    keys: tuple[str, ...]
    fingerprints: tuple[str, ...]  # what ``start`` should become for each key: makes the run key unique

    @property
    def stages(self) -> tuple[str, ...]:
        return STAGES[STAGES.index(self.start):]

    @property
    def run_key(self) -> str:
        return hashlib.sha1(f"{self.start}|{'|'.join(self.keys)}|{'|'.join(self.fingerprints)}".encode()).hexdigest()[:20]


@dataclass
class SyncPlan:
    registry: Registry
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    requests: list[StageRequest] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> reason, not retried automatically
    busy: list[str] = field(default_factory=list)

    cache_changed: bool = False
    wanted: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (first stage to rebuild, its fingerprint)

    @property
    def registry_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.cache_changed)


def plan_sync(
    gallery: Gallery,
    layout: Layout,
    registry: Registry,
    settings: SettingsStore,
    partition_order: list[str] | None = None,
    busy_keys: set[str] = frozenset(),
    batch_size: int = DEFAULT_BATCH,
    only: Callable[[str, Registry], bool] | None = None,
    retry_failed: bool = False,
    memo: PlanMemo | None = None,
) -> SyncPlan:
    """Plan one reconciliation. Raises ``GalleryUnavailable`` (nothing changed) if the gallery is down.

    ``partition_order`` is the photos partition's current key order (new keys are appended after it),
    used to batch contiguous keys into range runs. ``only(key, registry)`` limits requests to some keys (the CLI's
    ``--album``/``--photo``); ``retry_failed`` re-plans photos whose last attempt failed. ``memo``
    (plan_inputs.memo_for) carries the photos' fingerprints from one plan to the next while their inputs
    are unchanged; without one every fingerprint is computed.
    """
    memo = memo or PlanMemo(layout)  # a fresh one trusts nothing: every folder listed, every record stat-ed
    with memo.lock:
        memo.begin(every_photo=only is None)
        gallery.remember_listings(memo.listings)
        plan = _plan(gallery, layout, registry, settings, memo, busy_keys, only, retry_failed)
        memo.end(registry.photos)
    order = list(partition_order or [])
    known = set(order)
    order += [k for k in registry.photos if k not in known]
    plan.requests = _batch(order, plan.wanted, batch_size)
    return plan


def _plan(gallery: Gallery, layout: Layout, registry: Registry, settings: SettingsStore, memo: PlanMemo,
          busy_keys: set[str], only, retry_failed: bool) -> SyncPlan:
    uploads = gallery.list_uploads()
    plan = SyncPlan(registry)
    seen = set()
    for upload in uploads:
        existing = registry.key_for(upload.source)
        key = registry.assign(upload)
        seen.add(key)
        entry = registry.photos[key]
        if existing is None:
            plan.added.append(key)
        elif entry.signature != upload.signature:
            registry.update(key, signature=upload.signature)
            plan.changed.append(key)
    for key in [k for k in registry.photos if k not in seen]:
        registry.remove(key)
        plan.removed.append(key)

    inputs = PlanInputs(layout, settings, list(registry.albums.values()))
    memo.use(inputs)
    wanted = plan.wanted
    for key, entry in registry.photos.items():
        if only is not None and not only(key, registry):
            continue
        if _published_is_current(layout, memo.records.signature(key), entry, memo.published(entry, inputs), plan):
            continue
        desired = inputs.fingerprints(entry)
        start = next((s for s in STAGES if _recorded(layout, s, key) != desired[s]), "published")
        if key in busy_keys:
            plan.busy.append(key)
            continue
        failure = read_failure(layout, key)
        if failure and not retry_failed and desired.get(failure.get("stage")) == failure.get("fingerprint"):
            # It failed on exactly these inputs: retrying by itself would fail again. A changed
            # original, setting or touch-up changes the fingerprint and so retries it.
            plan.failed[key] = f"{failure['stage']}: {failure['reason']}"
            continue
        wanted[key] = (start, desired[start])
    return plan


def _recorded(layout: Layout, stage: str, key: str) -> str | None:
    record = read_record(layout, stage, key)
    return record.fingerprint if record else None


def _published_is_current(layout: Layout, signature: str | None, entry, desired: str, plan: SyncPlan) -> bool:
    # The registry caches the published record's stat signature (``signature``: PublishedRecords)
    # and fingerprint, so a photo that is done and unchanged costs at most a stat, not seven records read.
    if signature is None:
        return False
    if entry.published and entry.published[0] == signature:
        return entry.published[1] == desired
    recorded = _recorded(layout, "published", entry.key)
    plan.registry.update(entry.key, published=(signature, recorded))
    plan.cache_changed = True
    return recorded == desired


def _batch(order: list[str], wanted: dict[str, tuple[str, str]], batch_size: int) -> list[StageRequest]:
    """Group keys that start at the same stage and are adjacent in partition order into range runs."""
    requests: list[StageRequest] = []
    run: list[str] = []
    run_stage = None

    def flush():
        if run:
            requests.append(StageRequest(run_stage, tuple(run), tuple(wanted[k][1] for k in run)))
            run.clear()

    for key in order:
        stage = wanted.get(key, (None, None))[0]
        if stage != run_stage or len(run) >= batch_size:
            flush()
        run_stage = stage
        if stage is not None:
            run.append(key)
    flush()
    return requests
