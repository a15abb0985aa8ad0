"""The photo registry: which gallery upload has which partition key, and what the sensor last saw.

Keys are assigned once, when an upload is first seen, and kept for the life of the photo. The registry
is written as numbered generations (``state/registry/<n>.json``, the last few kept) and every tick
reads the newest. Nothing depends on a tick's result having been applied: partitions are reconciled
against the instance and work is derived from the stage records each tick, so a tick whose result
the daemon lost is simply redone. The sensor's cursor is the generation number it wrote: a few bytes.

A generation file is never rewritten (a save writes the next number), so a process keeps the last
one it read in memory, keyed by the file's identity, and reads it again only when a newer
generation or another file is there: a 100,000-photo registry is about 25 MB of JSON, a second to
parse, and the sensor wants it every 30 s (bench/bench_sensor.py).
"""
from __future__ import annotations

import dataclasses
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restore_dagster.files import atomic_write_json, file_identity, read_json
from restore_dagster.gallery import Upload
from restore_dagster.keys import make_key, photo_slug, slugify, unique_slug

KEEP_GENERATIONS = 3
_GEN_FILE = re.compile(r"^(\d+)\.json$")


@dataclass(frozen=True, slots=True)  # frozen: registries share entries (see Registry.copy); slots: 100,000 stay small
class PhotoEntry:
    key: str
    source: str
    album: str
    name: str
    signature: str
    # Cache of the published record's (stat signature, fingerprint) so an unchanged photo costs a stat.
    published: tuple | None = None

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["published"] = list(self.published) if self.published is not None else None
        return data


@dataclass
class Registry:
    generation: int = 0
    albums: dict[str, str] = field(default_factory=dict)  # album folder name -> album slug
    photos: dict[str, PhotoEntry] = field(default_factory=dict)  # key -> entry, in insertion order

    _index: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def _lookup(self) -> dict[str, Any]:
        # Built once per tick: sources -> key and album slug -> photo slugs, so assigning is O(1).
        if self._index is None:
            taken: dict[str, set[str]] = {}
            for key in self.photos:
                album, photo = key.split("/", 1)
                taken.setdefault(album, set()).add(photo)
            self._index = {"source": {e.source: k for k, e in self.photos.items()}, "taken": taken}
        return self._index

    def key_for(self, source: str) -> str | None:
        return self._lookup()["source"].get(source)

    def assign(self, upload: Upload) -> str:
        """The key for ``upload``: its existing key, or a new unique one."""
        index = self._lookup()
        key = index["source"].get(upload.source)
        if key is not None:
            return key
        album_slug = self.albums.get(upload.album)
        if album_slug is None:
            album_slug = unique_slug(slugify(upload.album), upload.album, set(self.albums.values()))
            self.albums[upload.album] = album_slug
        taken = index["taken"].setdefault(album_slug, set())
        photo = unique_slug(photo_slug(upload.name), upload.name, taken)
        taken.add(photo)
        key = make_key(album_slug, photo)
        index["source"][upload.source] = key
        self.photos[key] = PhotoEntry(key, upload.source, upload.album, upload.name, upload.signature)
        return key

    def remove(self, key: str) -> PhotoEntry:
        entry = self.photos.pop(key)
        self._index = None
        return entry

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "albums": self.albums,
            "photos": [entry.to_json() for entry in self.photos.values()],
        }

    def update(self, key: str, **changes: Any) -> PhotoEntry:
        """Change ``key``'s entry (entries are immutable: it is replaced, in this registry only)."""
        entry = self.photos[key] = dataclasses.replace(self.photos[key], **changes)
        return entry

    def copy(self) -> "Registry":
        """A registry to change freely; it shares the (immutable) entries, so copying 100,000 costs milliseconds."""
        return Registry(self.generation, dict(self.albums), dict(self.photos))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Registry":
        photos = {}
        for item in data.get("photos", []):
            published = item.get("published")
            entry = PhotoEntry(**{**item, "published": tuple(published) if published is not None else None})
            photos[entry.key] = entry
        return cls(int(data.get("generation", 0)), dict(data.get("albums", {})), photos)


class _Remembered:
    """Per registry folder, the generation last read by this process and its file's identity."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_folder: dict[Path, tuple[tuple, Registry]] = {}

    def get(self, folder: Path, identity: tuple) -> Registry | None:
        with self._lock:
            known = self._by_folder.get(folder)
        return known[1] if known and known[0] == identity else None

    def put(self, folder: Path, identity: tuple, registry: Registry) -> None:
        with self._lock:
            self._by_folder[folder] = (identity, registry)


_REMEMBERED = _Remembered()


class RegistryStore:
    def __init__(self, state_dir: Path):
        self.folder = Path(state_dir) / "registry"

    def generations(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for name in os.listdir(self.folder) if (m := _GEN_FILE.match(name)))

    def load(self, generation: int | None = None) -> Registry:
        """Generation ``generation`` (the newest when None); an empty registry when there is none.

        The caller owns what it gets (a copy of what is kept in memory) and may change it."""
        return self.load_shared(generation).copy()

    def load_shared(self, generation: int | None = None) -> Registry:
        """Like ``load``, but the registry kept in memory itself, for readers only (the web gallery):
        nobody may change it, since the next caller gets the same object."""
        if generation is None:
            known = self.generations()
            generation = known[-1] if known else None
        if generation is None or generation == 0:
            return Registry()
        path = self.folder / f"{generation}.json"
        identity = file_identity(path)
        remembered = _REMEMBERED.get(self.folder, identity) if identity else None
        if remembered is not None:
            return remembered
        data = read_json(path)
        if data is None:
            # The cursor names a generation that is gone (pruned or a wiped state folder): fall back to
            # the newest we have, which is never older than what the cursor saw.
            known = self.generations()
            return self.load_shared(known[-1]) if known else Registry()
        registry = Registry.from_json(data)
        _REMEMBERED.put(self.folder, identity, registry)
        return registry

    def save(self, registry: Registry) -> int:
        """Write ``registry`` as the generation after every existing one; returns its number."""
        known = self.generations()
        registry.generation = max([registry.generation, *known]) + 1
        # Not remembered here: another process may write the same number at the same moment, and only
        # the file as read tells which one won.
        atomic_write_json(self.folder / f"{registry.generation}.json", registry.to_json())
        for old in known[: -(KEEP_GENERATIONS - 1)]:
            (self.folder / f"{old}.json").unlink(missing_ok=True)
        return registry.generation
