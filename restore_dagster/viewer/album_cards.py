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

A visit makes cards only for ``budget_s`` (half a second): making all 200 cards of 100,000 photos
takes more than a minute, on the first visit after the server starts or after a change to the
project defaults or weights. The other albums show their last card (even if its count is stale) or,
with none, an unknown count; one background thread makes them for the next visit. The cards and
their versions are kept in ``state/web/album_cards.json`` too, so a restart of the web server reuses
every card whose version still matches.
"""
from __future__ import annotations

import hashlib
import json
import os
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from restore_dagster.config import PUBLISHED_DIRNAME, Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.files import atomic_write_json, file_identity
from restore_dagster.lineage import scan_touchups, weights_signatures
from restore_dagster.registry import Registry, RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.viewer.library import Album, Library
from restore_dagster.viewer.pages import owner_scope
from restore_dagster.viewer.states import StateReader

SETTLE_SECONDS = 2.0
BUDGET_SECONDS = 0.5  # cards made while a visit waits; the rest in the background
# What a card costs a photo before any card was made: 0.1 s for an album of 500 at load 5–6 (BENCHMARKS.md).
# Per photo, not per card: one album of 100,000 (an archive's single folder) is never made while a visit waits.
PRIOR_SECONDS_PER_PHOTO = 0.0002
FILE_FORMAT = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Card:
    restored: int | None  # None: not counted yet (being made in the background)
    cover: str | None  # the cover thumbnail's URL (a restoration's where there is one)


class AlbumCards:
    def __init__(self, layout: Layout, library: Library, states: StateReader, budget_s: float = BUDGET_SECONDS):
        self.layout = layout
        self.library = library
        self.states = states
        self.budget_s = budget_s
        self.path = layout.state / "web" / "album_cards.json"
        # folder -> (version as plain JSON lists, or None: made while unsettled, shown only as a last card)
        self._kept: dict[str, tuple[list | None, Card]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._dirty = False
        self._worker: threading.Thread | None = None
        self._queued: set[str] = set()  # folders the background thread is making
        self._seconds_per_photo = PRIOR_SECONDS_PER_PHOTO  # what the last card counted took, a photo
        self._inputs = AlbumInputs(layout)
        self._load()

    def cards(self, albums: list[Album], restoration_version, budget_s: float | None = None) -> dict[str, Card]:
        """``{album folder: Card}``; ``restoration_version(photo, restorations)`` versions a cover's URL.

        A card whose ``restored`` is None is not counted yet: the background thread is making it.
        ``budget_s``: instead of the home page's budget (0: every card missing is made in the background,
        as an album page does, whose one album can hold 100,000 photos)."""
        if not albums:
            return {}
        budget = self.budget_s if budget_s is None else budget_s
        started = time.perf_counter()
        store = RegistryStore(self.layout.state)
        registry = store.load_shared()
        generation = _newest_generation(store)
        inputs = self._inputs.by_album(registry)
        busy = self.states.busy_keys()
        result = {}
        later: list[tuple[Album, list | None]] = []
        for album in albums:
            version = _plain(self._version(album.folder, registry, (generation, inputs.get(album.folder)), busy))
            with self._lock:
                kept = self._kept.get(album.folder)
                queued = album.folder in self._queued
            if version is not None and kept is not None and kept[0] == version:
                result[album.folder] = kept[1]
                continue
            # A card is started only if it should end within the budget, going by the last card made.
            expected = self._seconds_per_photo * (album.photo_count or 0)
            if queued or time.perf_counter() - started + expected >= budget:
                # No cover either: naming the first photo lists and stats the album's folder, 500 files each.
                result[album.folder] = kept[1] if kept is not None else Card(None, None)
                later.append((album, version))
                continue
            result[album.folder] = self._make_and_keep(album, version, restoration_version)
        if later:
            self._in_background(later, restoration_version)
        self._save()
        return result

    def _make_and_keep(self, album: Album, version: list | None, restoration_version) -> Card:
        started = time.perf_counter()
        card = self._make(album, restoration_version)
        with self._lock:
            if album.photo_count:  # counted (the home page's albums; an album page's is not)
                self._seconds_per_photo = (time.perf_counter() - started) / album.photo_count
            # An unsettled album's card is kept without a version: never current, but still the last card known.
            if self._kept.get(album.folder) != (version, card):  # an unsettled album is made on every visit
                self._kept[album.folder] = (version, card)
                self._dirty = True
        return card

    def _in_background(self, later: list[tuple[Album, list | None]], restoration_version) -> None:
        """Make ``later``'s cards in one daemon thread; while one runs, another is never started."""
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return  # the next visit queues what this one could not
            self._queued = {album.folder for album, _ in later}
            self._worker = threading.Thread(target=self._make_all, args=(later, restoration_version),
                                            name="album-cards", daemon=True)
            self._worker.start()

    def _make_all(self, later: list[tuple[Album, list | None]], restoration_version) -> None:
        try:
            for album, version in later:
                try:
                    self._make_and_keep(album, version, restoration_version)
                except Exception:  # one album's broken card never stops the others, nor the server
                    log.exception("album card for %r could not be made", album.folder)
                finally:
                    with self._lock:
                        self._queued.discard(album.folder)
            self._save()
        except Exception:
            log.exception("album cards could not be made in the background")
        finally:
            with self._lock:
                self._queued.clear()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background thread, if one runs (for tests and benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _load(self) -> None:
        """The cards kept by the last web server; an unreadable file is ignored and written again."""
        try:
            data = json.loads(Path(self.path).read_text("utf-8"))
            if not isinstance(data, dict) or data.get("format") != FILE_FORMAT or not isinstance(data.get("albums"), dict):
                raise ValueError("not an album cards file of format 1")
            kept = {}
            for folder, entry in data["albums"].items():
                restored, cover, version = entry["restored"], entry["cover"], entry["version"]
                if not (isinstance(restored, int) and restored >= 0 and (cover is None or isinstance(cover, str))
                        and (version is None or isinstance(version, list))):
                    raise ValueError(f"bad card for album {folder!r}")
                kept[folder] = (version, Card(restored, cover))
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            log.warning("ignoring the album cards file %s (it will be written again): %s", self.path, exc)
            self._dirty = True
            return
        self._kept = kept

    def _save(self) -> None:
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return
                albums = {folder: {"version": version, "restored": card.restored, "cover": card.cover}
                          for folder, (version, card) in self._kept.items() if card.restored is not None}
                self._dirty = False
            try:
                atomic_write_json(self.path, {"format": FILE_FORMAT, "albums": albums})
            except OSError as exc:  # a cache: the cards in memory serve all the same
                log.warning("could not write the album cards file %s: %s", self.path, exc)

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
        files = (file_identity(settings.path), file_identity(descriptions.path))
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


def _plain(version):
    """A version as JSON gives it back (tuples as lists, a set sorted), so a version read from the file compares equal."""
    if isinstance(version, (frozenset, set)):
        return sorted(_plain(v) for v in version)
    if isinstance(version, (tuple, list)):
        return [_plain(v) for v in version]
    return version


def _newest_generation(store: RegistryStore) -> tuple | None:
    generations = store.generations()
    return (generations[-1], _identity(store.folder / f"{generations[-1]}.json")) if generations else None


def _identity(path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_mtime_ns)
