"""The gallery: where scans are uploaded and restorations are published.

``Gallery`` is the interface the sensor and the assets use; ``FolderGallery`` is the embedded
default: each sub-folder of the gallery root is an album and each image file directly inside it is an
uploaded scan. Restorations go into ``<album>/restored/``, a sub-folder the gallery never lists as
uploads. The pipeline only ever reads originals; it never modifies, moves or deletes them.

Symbolic links inside the gallery are never followed (``safepaths``): a linked album or scan is
reported by ``skipped_entries`` with the reason, like every other entry that is not a scan.
"""
from __future__ import annotations

import abc
import os
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Collection, Iterator

from restore_dagster.config import PUBLISHED_DIRNAME
from restore_dagster.filenames import NAME_MAX, fit_name
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging.decode import IMAGE_SUFFIXES  # the formats load_scan decodes

# A restoration may also be an AVIF (web_formats), which scans may not be; and beside a WebP or AVIF
# the gallery keeps a JPEG of the same name for downloads (``a.jpg.restored.webp`` + ``a.jpg.restored.jpg``).
RESTORATION_SUFFIXES = IMAGE_SUFFIXES | {".avif"}
DOWNLOAD_SUFFIXES = (".jpg", ".jpeg")
from restore_dagster.safepaths import LINK_REASON, UnsafePath, is_real_dir, lstat_inside, open_inside



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

    @contextmanager
    def open_original(self, source: str) -> Iterator[tuple[Path, BinaryIO]]:
        """``(path, reader)`` of the original; the folder gallery opens it without following links."""
        path = self.original_path(source)
        with open(path, "rb") as reader:
            yield path, reader

    def skipped_entries(self) -> list["Skipped"]:
        """Entries that are not uploaded scans, with the reason; none where the gallery cannot tell."""
        return []

    def remember_listings(self, listings: "AlbumListings") -> None:
        """Let ``list_uploads`` reuse what ``listings`` kept from earlier listings, and keep this one there.

        Only the folder gallery lists folders; other galleries ignore it."""

    @abc.abstractmethod
    def publish(self, source: str, data: bytes, extension: str, download: bytes | None = None) -> str:
        """Store the restoration of ``source`` (replacing a previous one); returns where it went.

        ``download`` is a JPEG of it for downloads where ``data`` is a WebP or an AVIF; a gallery
        keeps it beside the restoration, or publishes it instead when it cannot show ``extension``."""

    @abc.abstractmethod
    def published_location(self, source: str) -> str | None:
        """Where the current restoration of ``source`` is, if any."""

    def describe_published(self, source: str, location: str, description) -> None:
        """Tell the gallery the family's description of a restoration just published (``descriptions.Description``).

        Nothing to do for a folder: the file itself carries it (EXIF and XMP). A gallery with its own
        fields for dates and captions (Lychee) sets them.
        """


class FolderGallery(Gallery):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.listings: AlbumListings | None = None

    def remember_listings(self, listings: "AlbumListings") -> None:
        self.listings = listings

    def list_uploads(self) -> list[Upload]:
        return self.scan()[0]

    def skipped_entries(self) -> list[Skipped]:
        return self.scan()[1]

    def scan(self) -> tuple[list[Upload], list[Skipped]]:
        """Every uploaded scan, and every entry that is not one with the reason, in one listing.

        Nothing is decoded: the reason comes from the entry's type and extension, so a sensor tick
        stays a few ``stat`` calls per photo. Links are never followed (see ``safepaths``).
        """
        if not self.root.is_dir():
            raise GalleryUnavailable(f"gallery folder {self.root} does not exist or is not mounted")
        uploads, skipped, albums = [], [], set()
        listings = self.listings
        try:
            for album in sorted(os.scandir(self.root), key=lambda e: e.name):
                problem = album_problem(album)
                if problem is None:
                    albums.add(album.name)
                    if listings is None or not listings.rescan(album, uploads, skipped):
                        self._scan_album(album, uploads, skipped, listings)
                elif problem:
                    skipped.append(Skipped("", album.name, problem))
        except OSError as exc:
            raise GalleryUnavailable(f"gallery folder {self.root} cannot be read: {exc}") from exc
        if listings is not None:
            listings.keep_only(albums)
        return uploads, skipped

    @staticmethod
    def _scan_album(album: os.DirEntry, uploads: list, skipped: list, listings: "AlbumListings | None" = None) -> None:
        folder = album.stat(follow_symlinks=False) if listings is not None else None  # before listing: see AlbumListings
        listed = time.time_ns()
        first_upload, first_skipped = len(uploads), len(skipped)
        for entry in sorted(os.scandir(album.path), key=lambda e: e.name):
            problem = scan_problem(entry)
            if problem is None:
                st = entry.stat(follow_symlinks=False)
                uploads.append(Upload(f"{album.name}/{entry.name}", album.name, entry.name, st.st_size, st.st_mtime_ns))
            elif problem:
                skipped.append(Skipped(album.name, entry.name, problem))
        if listings is not None:
            listings.keep(album, folder, listed, uploads[first_upload:], skipped[first_skipped:])

    def _parts(self, source: str) -> list[str]:
        parts = source.split("/")
        if len(parts) != 2:
            raise ValueError(f"{source!r} is not inside the gallery {self.root}")
        return parts

    def original_path(self, source: str) -> Path:
        parts = self._parts(source)
        try:
            st = lstat_inside(self.root, parts)
        except UnsafePath as exc:
            raise ValueError(f"{source!r} is not inside the gallery {self.root}: {exc}") from None
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.root / source}: the original scan is missing from the gallery") from None
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(f"{self.root / source}: the original scan is not a regular file")
        return self.root.joinpath(*parts)

    @contextmanager
    def open_original(self, source: str) -> Iterator[tuple[Path, BinaryIO]]:
        """The original opened without following any link on the way (race-free, unlike a path)."""
        parts = self._parts(source)
        try:
            reader = open_inside(self.root, parts)
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.root / source}: the original scan is missing from the gallery") from None
        with reader:
            yield self.root.joinpath(*parts), reader

    @staticmethod
    def restoration_name(upload_name: str) -> str:
        """``<name>.restored``: the name (without extension) of an upload's restoration.

        The whole upload name, extension included (``Wedding.jpg.restored.webp``): names are unique in
        a folder, so ``Wedding.jpg`` and ``Wedding.png`` never share a restoration. Room is kept for the
        longest image extension (``.webp``, ``.tiff``), so an original whose name is already near the
        255-byte limit gets ``<shortened name>~<hash>.restored``, the same every time.
        """
        return fit_name(upload_name, ".restored", NAME_MAX - _LONGEST_SUFFIX)

    @staticmethod
    def legacy_restoration_name(upload_name: str) -> str:
        """The name restorations had before the upload's extension was part of it (``<stem>.restored``)."""
        return fit_name(upload_name.rsplit(".", 1)[0], ".restored", NAME_MAX - _LONGEST_SUFFIX)

    def restorations(self, album: str, bases: Collection[str] | None = None) -> dict[str, Path]:
        """``{restoration name: path}`` for an album's published restorations, in one listing.

        Names are matched exactly (no glob patterns), so ``scan [1].jpg`` and ``scan 1.jpg``, or
        ``a.jpg`` and ``a.restored.b.jpg``, never take each other's restoration. Where a JPEG for
        downloads sits beside a WebP or AVIF, the WebP or AVIF is the restoration shown.
        ``bases``: only these restoration names (see ``restoration_files``).
        """
        return {base: files[0] for base, files in self.restoration_files(album, bases).items()}

    def restoration_downloads(self, album: str, bases: Collection[str] | None = None) -> dict[str, Path]:
        """``{restoration name: path}`` of the file to download: the JPEG where there is one."""
        return {
            base: next((f for f in files if f.suffix.lower() in DOWNLOAD_SUFFIXES), files[0])
            for base, files in self.restoration_files(album, bases).items()
        }

    def restoration_files(self, album: str, bases: Collection[str] | None = None) -> dict[str, list[Path]]:
        """``{restoration name: [files]}``, the one to show first (a WebP or AVIF before its download JPEG).

        ``bases``: only these restoration names, each looked for by its possible file names instead of
        a listing of the folder: one photo's thumbnail, or a page of 200 photos of an album of 100,000,
        cost a listing of 50,000 restorations (0.1 s, and over a second with a ``Path`` each) when
        listed. The suffixes looked for are those the pipeline writes (lower case) and their upper case.
        """
        if not is_real_dir(self.root, [album, PUBLISHED_DIRNAME]):
            return {}  # missing, or a link: restorations are never read through a link
        if bases is not None:
            return self._looked_up(self.root / album / PUBLISHED_DIRNAME, bases)
        try:
            entries = sorted(os.scandir(self.root / album / PUBLISHED_DIRNAME), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        found: dict[str, list[Path]] = {}
        for entry in entries:
            base, suffix = os.path.splitext(entry.name)
            if (
                suffix.lower() in RESTORATION_SUFFIXES and base.endswith(".restored") and not entry.name.startswith(".")
                and entry.is_file(follow_symlinks=False)
            ):
                found.setdefault(base, []).append(Path(entry.path))
        for files in found.values():
            files.sort(key=_shown_first)
        return found

    @staticmethod
    def _looked_up(folder: Path, bases: Collection[str]) -> dict[str, list[Path]]:
        """``restoration_files`` for ``bases`` by ``lstat`` of each possible name (see there)."""
        found: dict[str, list[Path]] = {}
        for base in dict.fromkeys(bases):
            if base.startswith(".") or not base.endswith(".restored"):
                continue
            files, seen = [], set()
            for suffix in _LOOKED_UP_SUFFIXES:
                path = os.path.join(folder, base + suffix)
                try:
                    st = os.lstat(path)
                except OSError:  # not there (nor anything too long to be there)
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_ino not in seen:  # one file on a case-insensitive disk
                    seen.add(st.st_ino)
                    files.append(Path(path))
            if files:
                files.sort(key=_shown_first)
                found[base] = files
        return found

    def publish(self, source: str, data: bytes, extension: str, download: bytes | None = None) -> str:
        album, name = self._parts(source)
        base = self.restoration_name(name)
        published = self.root / album / PUBLISHED_DIRNAME
        # Never write through a link: a linked album or ``restored`` folder would put the file elsewhere.
        if not is_real_dir(self.root, [album]):
            raise UnsafePath(f"{self.root / album}: not a real album folder (missing, or {LINK_REASON}); nothing published")
        published.mkdir(exist_ok=True)
        if not is_real_dir(self.root, [album, PUBLISHED_DIRNAME]):
            raise UnsafePath(f"{published}: not a real folder ({LINK_REASON}); nothing published")
        target = published / f"{base}.{extension.lstrip('.').lower()}"
        keep = {target}
        if download is not None and target.suffix not in DOWNLOAD_SUFFIXES:
            # The download first: a reader that finds the new restoration finds its JPEG too.
            keep.add(published / f"{base}.jpg")
            atomic_write_bytes(published / f"{base}.jpg", download)
        atomic_write_bytes(target, data)
        # A restoration published earlier in another format is ours, not an original: replace it. So is
        # one under the old name without the upload's extension, unless that name is now another
        # upload's (``a.png.jpg``'s old name is ``a.png``'s new one).
        legacy = self.legacy_restoration_name(name)
        legacy_is_ours = not os.path.lexists(self.root / album / legacy.removesuffix(".restored"))
        for old in published.iterdir():
            if old in keep or old.suffix.lower() not in RESTORATION_SUFFIXES:
                continue
            if old.stem == base or (legacy_is_ours and old.stem == legacy):
                old.unlink(missing_ok=True)
        return str(target)

    def published_location(self, source: str) -> str | None:
        album, name = source.split("/", 1)
        base = self.restoration_name(name)
        found = self.restorations(album, [base]).get(base)
        return str(found) if found else None


def _shown_first(path: Path) -> tuple[bool, str]:
    """Order of a restoration's files: the WebP or AVIF shown before its download JPEG, then by name."""
    return path.suffix.lower() in DOWNLOAD_SUFFIXES, path.name


_LONGEST_SUFFIX = max(len(suffix) for suffix in RESTORATION_SUFFIXES)
_LOOKED_UP_SUFFIXES = sorted(RESTORATION_SUFFIXES | {suffix.upper() for suffix in RESTORATION_SUFFIXES})


class AlbumListings:
    """What each album folder held when last listed, so a folder that has not changed is not listed again.

    A folder's modification time changes whenever an entry is added, removed or renamed in it (an
    upload, a deletion, an atomic replace), but not when a file's content is rewritten in place. So an
    album whose folder kept its inode and time is not listed again, but every scan it held is still
    ``lstat``-ed: a scan replaced in place (new size or time) is seen at once; a scan that is gone or
    no longer a regular file makes the album be listed again. A folder changed within
    ``SETTLE_SECONDS`` of its listing is listed again next time, since a change in the same tick of its
    file system's clock would leave the time as it was (git's "racy" files). Hidden and temporary
    entries are never reported, so they never matter; everything else is in the listing.

    A sensor keeps one between ticks (plan_inputs.PlanMemo); a fresh one on every ``FULL_PASS_EVERY``-th
    tick lists every folder again, for file systems whose folder times cannot be trusted.
    """

    SETTLE_SECONDS = 2.0

    def __init__(self):
        self._albums: dict[str, tuple[tuple[int, int], list[Upload], list[Skipped]]] = {}

    def keep(self, album: os.DirEntry, folder: os.stat_result, listed_ns: int, uploads: list, skipped: list) -> None:
        if folder.st_mtime_ns < listed_ns - self.SETTLE_SECONDS * 1e9:
            self._albums[album.name] = ((folder.st_ino, folder.st_mtime_ns), list(uploads), list(skipped))
        else:
            self._albums.pop(album.name, None)

    def rescan(self, album: os.DirEntry, uploads: list, skipped: list) -> bool:
        """Append the album's scans (each ``lstat``-ed now) and skipped entries as kept; False if it must be listed."""
        known = self._albums.get(album.name)
        if known is None:
            return False
        folder = album.stat(follow_symlinks=False)
        if known[0] != (folder.st_ino, folder.st_mtime_ns):
            return False
        fresh = []
        for upload in known[1]:
            try:
                st = os.lstat(os.path.join(album.path, upload.name))
            except OSError:
                return False
            if not stat.S_ISREG(st.st_mode):
                return False
            same = st.st_size == upload.size and st.st_mtime_ns == upload.mtime_ns
            fresh.append(upload if same else Upload(upload.source, upload.album, upload.name, st.st_size, st.st_mtime_ns))
        uploads.extend(fresh)
        skipped.extend(known[2])
        known[1][:] = fresh
        return True

    def keep_only(self, albums: set[str]) -> None:
        for name in [name for name in self._albums if name not in albums]:
            del self._albums[name]

# Image types people scan or export to that the pipeline does not decode, with what to do instead.
UNSUPPORTED_TYPES = {
    ".gif": "GIF is not supported (a palette or animated image: convert it to PNG)",
    ".avif": "AVIF is not supported (export it as JPEG or PNG)",
    ".svg": "SVG is a drawing, not a scan",
    ".pdf": "PDF is not supported (export the page as JPEG, PNG or TIFF)",
    ".jp2": "JPEG 2000 is not supported (export it as JPEG or TIFF)",
    ".jxl": "JPEG XL is not supported (export it as JPEG or PNG)",
    ".psd": "Photoshop files are not supported (export a flattened TIFF or PNG)",
    ".dng": "camera RAW files are not supported (export JPEG or TIFF)",
}
SUPPORTED = "JPEG, PNG, TIFF, WebP, BMP or HEIC"


@dataclass(frozen=True)
class Skipped:
    """An entry of the gallery that is not an uploaded scan, and why (``album`` is "" at the top)."""

    album: str
    name: str
    reason: str

    @property
    def where(self) -> str:
        return f"{self.album}/{self.name}" if self.album else self.name


def suffix_of(name: str) -> str:
    """The lower-case extension from the last dot, also for names like ``..jpg`` (splitext says none)."""
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def scan_problem(entry: os.DirEntry) -> str | None:
    """None for an uploaded scan; otherwise why not ("" for what is never reported: temp files of
    the atomic writers, hidden non-images, the ``restored`` folder). No link is followed."""
    name = entry.name
    suffix = suffix_of(name)
    looks_like_image = suffix in IMAGE_SUFFIXES or suffix in UNSUPPORTED_TYPES
    if name.endswith(".tmp") or (entry.is_dir(follow_symlinks=False) and name == PUBLISHED_DIRNAME):
        return ""  # half-written files (atomic writers use dot-temp names) and our own outputs
    if name.startswith("."):
        return "a hidden name (it starts with '.')" if looks_like_image else ""
    if entry.is_symlink():
        return LINK_REASON if os.path.exists(entry.path) else "a broken symbolic link (its target is missing)"
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "a folder inside an album (albums are not nested: its files are not read)"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    if suffix in IMAGE_SUFFIXES:
        return None
    if suffix in UNSUPPORTED_TYPES:
        return UNSUPPORTED_TYPES[suffix]
    if not suffix:
        return f"no file extension (the gallery reads {SUPPORTED} files)"
    return f"{suffix} files are not photos the gallery reads ({SUPPORTED})"


def album_problem(entry: os.DirEntry) -> str | None:
    """None for an album folder at the top of the gallery; otherwise why not ("": never reported)."""
    if entry.name.startswith("."):
        return ""  # the web's trash and other hidden folders
    if entry.is_symlink():
        return "an album folder that is " + LINK_REASON if os.path.isdir(entry.path) else LINK_REASON
    if entry.is_dir(follow_symlinks=False):
        return None
    return "a file outside any album (scans go into an album folder)"
