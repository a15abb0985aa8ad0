"""The gallery: where scans are uploaded and restorations are published.

``Gallery`` is the interface the sensor and the assets use; ``FolderGallery`` is the embedded
default: each sub-folder of the gallery root is an album and each image file directly inside it is an
uploaded scan. Restorations go into ``<album>/restored/``, a sub-folder the gallery never lists as
uploads. The pipeline only ever reads originals; it never modifies, moves or deletes them.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from pathlib import Path

from restore_dagster.config import PUBLISHED_DIRNAME
from restore_dagster.filenames import NAME_MAX, fit_name
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging.decode import IMAGE_SUFFIXES  # the formats load_scan decodes



class GalleryUnavailable(RuntimeError):
    """The gallery cannot be read right now (missing mount, server down): skip, lose nothing."""


@dataclass(frozen=True)
class Upload:
    """One uploaded scan as the gallery lists it. ``source`` identifies it within the gallery."""

    source: str
    album: str
    name: str
    size: int
    mtime_ns: int

    @property
    def signature(self) -> str:
        # Size and modification time: enough to notice a replaced file without re-hashing every tick.
        return f"{self.size}:{self.mtime_ns}"


class Gallery(abc.ABC):
    @abc.abstractmethod
    def list_uploads(self) -> list[Upload]:
        """Every uploaded scan; raises GalleryUnavailable when the gallery cannot be read."""

    @abc.abstractmethod
    def original_path(self, source: str) -> Path:
        """A local, read-only path to the original of ``source``."""

    @abc.abstractmethod
    def publish(self, source: str, data: bytes, extension: str) -> str:
        """Store the restoration of ``source`` (replacing a previous one); returns where it went."""

    @abc.abstractmethod
    def published_location(self, source: str) -> str | None:
        """Where the current restoration of ``source`` is, if any."""


class FolderGallery(Gallery):
    def __init__(self, root: Path):
        self.root = Path(root)

    def list_uploads(self) -> list[Upload]:
        if not self.root.is_dir():
            raise GalleryUnavailable(f"gallery folder {self.root} does not exist or is not mounted")
        uploads = []
        try:
            albums = sorted((e for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith(".")), key=lambda e: e.name)
            for album in albums:
                for entry in sorted(os.scandir(album.path), key=lambda e: e.name):
                    if not _is_upload(entry):
                        continue
                    st = entry.stat()
                    uploads.append(Upload(f"{album.name}/{entry.name}", album.name, entry.name, st.st_size, st.st_mtime_ns))
        except OSError as exc:
            raise GalleryUnavailable(f"gallery folder {self.root} cannot be read: {exc}") from exc
        return uploads

    def original_path(self, source: str) -> Path:
        path = (self.root / source).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"{source!r} is not inside the gallery {self.root}")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the original scan is missing from the gallery")
        return path

    @staticmethod
    def restoration_name(upload_name: str) -> str:
        """``<stem>.restored``: the name (without extension) of an upload's restoration.

        Room is kept for the longest image extension (``.webp``, ``.tiff``), so an original whose name
        is already near the 255-byte limit gets ``<shortened stem>~<hash>.restored``, the same every time.
        """
        return fit_name(upload_name.rsplit(".", 1)[0], ".restored", NAME_MAX - _LONGEST_SUFFIX)

    def restorations(self, album: str) -> dict[str, Path]:
        """``{restoration name: path}`` for an album's published restorations, in one listing.

        Names are matched exactly (no glob patterns), so ``scan [1].jpg`` and ``scan 1.jpg``, or
        ``a.jpg`` and ``a.restored.b.jpg``, never take each other's restoration.
        """
        try:
            entries = sorted(os.scandir(self.root / album / PUBLISHED_DIRNAME), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        found: dict[str, Path] = {}
        for entry in entries:
            base, suffix = os.path.splitext(entry.name)
            if suffix.lower() in IMAGE_SUFFIXES and base.endswith(".restored") and not entry.name.startswith("."):
                found.setdefault(base, Path(entry.path))
        return found

    def publish(self, source: str, data: bytes, extension: str) -> str:
        album, name = source.split("/", 1)
        base = self.restoration_name(name)
        target = self.root / album / PUBLISHED_DIRNAME / f"{base}.{extension.lstrip('.').lower()}"
        atomic_write_bytes(target, data)
        # A restoration published earlier in another format is ours, not an original: replace it.
        for old in (self.root / album / PUBLISHED_DIRNAME).iterdir():
            if old != target and old.stem == base and old.suffix.lower() in IMAGE_SUFFIXES:
                old.unlink(missing_ok=True)
        return str(target)

    def published_location(self, source: str) -> str | None:
        album, name = source.split("/", 1)
        found = self.restorations(album).get(self.restoration_name(name))
        return str(found) if found else None


_LONGEST_SUFFIX = max(len(suffix) for suffix in IMAGE_SUFFIXES)


def _is_upload(entry: os.DirEntry) -> bool:
    name = entry.name
    if name.startswith(".") or name.endswith(".tmp"):
        return False  # hidden files and half-written uploads (atomic writers use dot-temp names)
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES and entry.is_file()
