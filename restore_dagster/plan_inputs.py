"""What a photo's fingerprints depend on besides its own original, and what a process remembers of them.

A photo's fingerprints (lineage.fingerprints) come from its original's signature (size and mtime, in
the registry) and from inputs every photo shares: the settings (project defaults, album defaults,
each photo's own in ``settings.json``), the touch-ups, the model weights and the family's
descriptions (``descriptions.json``). ``PlanInputs`` gathers them for one plan; the two files that
grow with the gallery (a line per photo) are read only when some photo's fingerprints are computed.

``PlanInputs.token`` identifies all of them: the content of what is small (defaults, album defaults,
touch-up and weights signatures) and the identity (inode, size, mtime) of the two big files, taken
before they are read. ``PlanMemo`` keeps, per photo, the ``published`` fingerprint computed under a
token for an original's signature: while the token is the same, a photo whose original is unchanged
gets it without computing seven fingerprints. So an unchanged tick over 100,000 photos reads neither
big file and hashes nothing (bench/bench_sensor.py). It also keeps the album folders' listings
(gallery.AlbumListings) and which published-records folders are unchanged (``PublishedRecords``),
and every ``FULL_PASS_EVERY``-th plan trusts no folder time (README, "Large galleries").

A file changed twice within its file system's timestamp granularity (a few ms) could keep its
identity only if rewritten in place with the same size; the stores write by atomic rename (a new
inode), and a big file modified in the last ``SETTLE_SECONDS`` makes the token one that never
matches again, so the next plan computes every fingerprint afresh (as git does for "racy" files).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from functools import cached_property
from pathlib import Path

from restore_dagster.config import Layout
from restore_dagster.descriptions import DescriptionSnapshot, DescriptionStore
from restore_dagster.files import file_identity
from restore_dagster.gallery import AlbumListings
from restore_dagster.keys import split_key
from restore_dagster.lineage import file_signature, fingerprints, scan_touchups, weights_signatures
from restore_dagster.settings import SettingsStore

SETTLE_SECONDS = 2.0


class PlanInputs:
    """The shared inputs of every photo's fingerprints, for one plan (a sensor tick, a CLI round)."""

    def __init__(self, layout: Layout, settings: SettingsStore, albums: list[str]):
        self.layout = layout
        self.settings = settings
        self.descriptions_path = DescriptionStore(layout.state).path
        # Identities first: what is read after this can only be newer than the token says, never older.
        big_files = [file_identity(settings.path), file_identity(self.descriptions_path)]
        self.touchups = scan_touchups(layout)
        self.weights = weights_signatures(layout)
        small = {
            "defaults": settings.defaults.as_dict(),
            # Album defaults by their album slug, as settings.get looks them up.
            "albums": {album: settings.album_defaults(album).as_dict() for album in sorted(albums)},
            "touchups": self.touchups,
            "weights": self.weights,
        }
        settling = any(identity and identity[2] > time.time_ns() - SETTLE_SECONDS * 1e9 for identity in big_files)
        text = json.dumps([big_files, small, secrets.token_hex(8) if settling else ""], sort_keys=True, default=str)
        self.token = hashlib.sha256(text.encode()).hexdigest()
        self._last = None

    @cached_property
    def overrides(self) -> dict:
        return self.settings.all_overrides()

    @cached_property
    def descriptions(self) -> DescriptionSnapshot:
        return DescriptionStore(self.layout.state).snapshot()

    def fingerprints(self, entry) -> dict[str, str]:
        """Every stage's fingerprint for the registry ``entry`` (the last one's kept: the memo asks first, then the plan)."""
        if self._last is not None and self._last[0] == (entry.key, entry.source, entry.signature):
            return self._last[1]
        result = fingerprints(entry.signature, self.settings.get(entry.key, self.overrides), self.touchups.get(entry.key, {}),
                              self.weights, self.descriptions.signature(entry.source, entry.album))
        self._last = ((entry.key, entry.source, entry.signature), result)
        return result


class PublishedRecords:
    """The stat signature of each photo's published record, stat-ed only where its album's records folder changed.

    Records are only ever written by atomic rename and removed whole, so a records folder that kept
    its inode and time holds the same records as when each of them was last stat-ed. A folder changed
    within ``SETTLE_SECONDS`` of that check is checked again next time.
    """

    def __init__(self, published_dir: Path):
        self.folder = os.fspath(published_dir)
        self._trusted: dict[str, tuple[int, int]] = {}  # album slug -> folder identity when all its records were stat-ed
        self._signatures: dict[str, str | None] = {}  # key -> its record's signature then (None: no record)
        # This plan: album slug -> whether its folder is trusted, and the folder's identity as first stat-ed.
        self._seen: dict[str, bool] = {}
        self._fresh: dict[str, tuple[int, int] | None] = {}
        self._started = 0
        self._remember = True

    def begin(self, trust: bool, remember: bool = True) -> None:
        """``remember``: every photo's record is looked at in this plan (not so for the CLI's ``--album``)."""
        self._seen, self._fresh = {}, {}
        self._started = time.time_ns()
        self._remember = remember
        if not trust:
            self._trusted.clear()

    def signature(self, key: str) -> str | None:
        album, photo = split_key(key)
        if album not in self._seen:
            identity = _folder_identity(os.path.join(self.folder, album))
            self._seen[album] = identity is not None and self._trusted.pop(album, None) == identity
            self._fresh[album] = identity
        if self._seen[album] and key in self._signatures:
            return self._signatures[key]
        signature = file_signature(os.path.join(self.folder, album, f"{photo}.json"))
        self._signatures[key] = signature
        return signature

    def end(self, keys) -> None:
        """Trust each album's records folder next time if it had settled before this plan stat-ed its records."""
        for album, identity in self._fresh.items():
            if self._remember and identity is not None and identity[1] < self._started - SETTLE_SECONDS * 1e9:
                self._trusted[album] = identity
        self._fresh = {}
        if len(self._signatures) > len(keys):
            for key in [k for k in self._signatures if k not in keys]:
                del self._signatures[key]


class PlanMemo:
    """What a process remembers from one plan to the next (see the module's doc); one plan at a time uses it.

    Every ``FULL_PASS_EVERY``-th plan trusts no folder time: every album is listed and every
    published record stat-ed, for file systems whose folder times cannot be trusted.
    """

    FULL_PASS_EVERY = 20

    def __init__(self, layout: Layout):
        self.lock = threading.Lock()
        self.token = None
        self._published: dict[str, tuple[str, str, str]] = {}  # key -> (source, signature, fingerprint)
        self.listings = AlbumListings()
        self.records = PublishedRecords(layout.stage_dir("published"))
        self.plans = 0

    def begin(self, every_photo: bool = True) -> bool:
        """Start a plan (``every_photo``: it looks at every photo, no ``only``); False when it is a full pass."""
        trust = self.plans % self.FULL_PASS_EVERY != 0
        self.plans += 1
        if not trust:
            self.listings = AlbumListings()
        self.records.begin(trust and every_photo, remember=every_photo)
        return trust

    def use(self, inputs: PlanInputs) -> None:
        if inputs.token != self.token:
            self._published.clear()
            self.token = inputs.token

    def published(self, entry, inputs: PlanInputs) -> str:
        """The ``published`` fingerprint of the registry ``entry`` under ``inputs``."""
        known = self._published.get(entry.key)
        if known is not None and known[0] == entry.source and known[1] == entry.signature:
            return known[2]
        fingerprint = inputs.fingerprints(entry)["published"]
        self._published[entry.key] = (entry.source, entry.signature, fingerprint)
        return fingerprint

    def end(self, keys) -> None:
        """Drop photos no longer in the registry (a long-lived process must not grow without end)."""
        self.records.end(keys)
        if len(self._published) > len(keys):
            for key in [k for k in self._published if k not in keys]:
                del self._published[key]


_MEMOS: dict[tuple[Path, Path], PlanMemo] = {}
_MEMOS_GUARD = threading.Lock()


def memo_for(layout: Layout) -> PlanMemo:
    """The memo of this process for the storage root ``layout`` (the sensor's code server keeps it between ticks)."""
    with _MEMOS_GUARD:
        where = (Path(layout.state).resolve(), Path(layout.gallery).resolve())
        if where not in _MEMOS:
            _MEMOS[where] = PlanMemo(layout)
        return _MEMOS[where]


def _folder_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)
