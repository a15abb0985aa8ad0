"""The home page's album cards (how many photos are restored, the cover), recomputed only for albums that changed.

A card needs every photo's state, which costs a record read per photo: 100,000 photos on every visit
to the home page would take many seconds. So each album's card is kept with a "version" of all that
its photos' states are made of, and made again only when that version changed:

- the album folder (inode and time: a photo added, deleted or renamed) and its ``restored`` folder
  (a restoration published), ``lstat``-ed;
- the album's published-records folder (a photo finished, or its record removed);
- the newest registry generation (the sensor saw an original replaced, even in place, within a tick);
- the inputs of its photos' fingerprints: the project defaults and weights, and the album's own slice
  of the album defaults, the photos' own settings, the touch-ups and the descriptions (so describing
  one photo makes only its album's card again);
- the album's photos that queued or running runs name (processing, not restored).

A folder changed within ``SETTLE_SECONDS`` gives no version, so a change in the same tick of the
file system's clock is never missed; the card is then made afresh on every visit until it settles.
What is not in the version: an original replaced in place between the sensor's ticks keeps its album's
card (its restored count) as it was until the sensor registers the change, at most one tick later.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass

from restore_dagster.config import PUBLISHED_DIRNAME, Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import scan_touchups, weights_signatures
from restore_dagster.registry import Registry, RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.viewer.library import Album, Library
from restore_dagster.viewer.pages import owner_scope
from restore_dagster.viewer.states import StateReader

SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Card:
    restored: int
    cover: str | None  # the cover thumbnail's URL (a restoration's where there is one)


class AlbumCards:
    def __init__(self, layout: Layout, library: Library, states: StateReader):
        self.layout = layout
        self.library = library
        self.states = states
        self._kept: dict[str, tuple[tuple, Card]] = {}
        self._lock = threading.Lock()
        self._inputs = AlbumInputs(layout)

    def cards(self, albums: list[Album], restoration_version) -> dict[str, Card]:
        """``{album folder: Card}``; ``restoration_version(photo, restorations)`` versions a cover's URL."""
        if not albums:
            return {}
        store = RegistryStore(self.layout.state)
        registry = store.load_shared()
        generation = _newest_generation(store)
        inputs = self._inputs.by_album(registry)
        busy = self.states.busy_keys()
        result = {}
        for album in albums:
            version = self._version(album.folder, registry, (generation, inputs.get(album.folder)), busy)
            with self._lock:
                kept = self._kept.get(album.folder)
            if version is not None and kept is not None and kept[0] == version:
                result[album.folder] = kept[1]
                continue
            card = self._make(album, restoration_version)
            result[album.folder] = card
            with self._lock:
                if version is None:
                    self._kept.pop(album.folder, None)
                else:
                    self._kept[album.folder] = (version, card)
        return result

    def _version(self, folder: str, registry: Registry, shared: tuple, busy: set[str]) -> tuple | None:
        slug = registry.albums.get(folder)
        folders = [
            _identity(self.layout.gallery / folder),
            _identity(self.layout.gallery / folder / PUBLISHED_DIRNAME),
            _identity(self.layout.stage_dir("published") / slug) if slug else None,
        ]
        settled_before = time.time_ns() - SETTLE_SECONDS * 1e9
        if folders[0] is None or any(f is not None and f[1] >= settled_before for f in folders):
            return None
        album_busy = frozenset(k for k in busy if k.split("/", 1)[0] == slug) if slug else frozenset()
        return (*folders, slug, shared, album_busy)

    def _make(self, album: Album, restoration_version) -> Card:
        photos = self.library.photos(album.folder)
        # A photo published without an optional step (colour pending) is restored all the same.
        restored = self.states.restored(photos)
        scope = owner_scope(album)
        if restored:  # versioned by the restoration itself, so a new one is never hidden by the cache
            cover = scope.photo_url(restored[0], f"/restored-thumb?v={restoration_version(restored[0])}")
        elif photos:
            cover = scope.photo_url(photos[0], f"/thumb?v={photos[0].version}")
        else:
            cover = None
        return Card(len(restored), cover)


class AlbumInputs:
    """Per album folder, a digest of what its photos' fingerprints take from the shared inputs.

    The two files that grow with the gallery (``settings.json``, ``descriptions.json``) are read again
    only when their identity changed (and not yet settled: see the module's doc)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._kept: tuple | None = None  # (files' identities, registry albums, digests)
        self._lock = threading.Lock()

    def by_album(self, registry: Registry) -> dict[str, str]:
        settings = SettingsStore(self.layout.state)
        descriptions = DescriptionStore(self.layout.state)
        files = (_file_identity(settings.path), _file_identity(descriptions.path))
        shared = json.dumps([settings.defaults.as_dict(), weights_signatures(self.layout)], sort_keys=True, default=str)
        touchups = scan_touchups(self.layout)
        slugs = dict(registry.albums)
        key = (files, shared, json.dumps(touchups, sort_keys=True), json.dumps(slugs, sort_keys=True))
        with self._lock:
            if self._kept is not None and self._kept[0] == key:
                return self._kept[1]
        slices: dict[str, list] = {folder: [shared] for folder in slugs}
        by_slug = {slug: folder for folder, slug in slugs.items()}
        for slug, folder in by_slug.items():
            slices[folder].append(settings.album_defaults(slug).as_dict())
        for photo_key, values in sorted(settings.all_overrides().items()):
            folder = by_slug.get(photo_key.split("/", 1)[0])
            if folder is not None:
                slices[folder].append([photo_key, values])
        for photo_key, stages in sorted(touchups.items()):
            folder = by_slug.get(photo_key.split("/", 1)[0])
            if folder is not None:
                slices[folder].append([photo_key, stages])
        snapshot = descriptions.snapshot()
        for source, values in sorted(snapshot.photos.items()):
            folder = source.split("/", 1)[0]
            if folder in slices:
                slices[folder].append([source, values])
        for folder, values in snapshot.albums.items():
            if folder in slices:
                slices[folder].append(["album", values])
        digests = {folder: hashlib.sha256(json.dumps([snapshot.problem, *parts], sort_keys=True, default=str).encode())
                   .hexdigest() for folder, parts in slices.items()}
        settled_before = time.time_ns() - SETTLE_SECONDS * 1e9
        with self._lock:
            settled = all(f is None or f[2] < settled_before for f in files)
            self._kept = (key, digests) if settled else None
        return digests


def _file_identity(path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _newest_generation(store: RegistryStore) -> tuple | None:
    generations = store.generations()
    return (generations[-1], _identity(store.folder / f"{generations[-1]}.json")) if generations else None


def _identity(path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_mtime_ns)
