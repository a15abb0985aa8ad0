"""Albums and photos as the web gallery sees them: the folder gallery plus titles, hashes and a trash.

The folder gallery stays the truth (scans copied in by hand or by ``restore-photos add`` show up
too). Every album or photo named in a request is looked up among what the gallery folder holds, never
joined onto a path, so no parameter can reach outside it. Folder and file names for what the web
creates are made here; the names people type are titles, kept in the web database. Renaming therefore
never changes a path, and the pipeline never redoes a photo because it was renamed.

Deleting moves to ``<gallery>/.trash/<id>/`` (the same file system, so it is one atomic rename; the
gallery and the sensor never look into hidden folders), and restoring moves everything back, keeping
the files' times, so a restored photo gets its old partition key and finished outputs back.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import stat
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from restore_dagster.config import PUBLISHED_DIRNAME
from restore_dagster.filenames import NAME_MAX  # a longer name names nothing: stat() would raise ENAMETOOLONG
from restore_dagster.gallery import FolderGallery
from restore_dagster.imaging import IMAGE_SUFFIXES
from restore_dagster.keys import slugify
from restore_dagster.models.weights import sha256_file
from restore_dagster.safepaths import album_name_problem, check_album_name, is_real_dir, lstat_inside, open_inside
from restore_dagster.viewer.webstate import WebState

TRASH_DIRNAME = ".trash"
COUNT_SETTLE_SECONDS = 2.0
MAX_TITLE = 120
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp", "HEIF": ".heic"}


class NotFound(LookupError):
    """No such album, photo or trash item (the web answers 404)."""


class Duplicate(Exception):
    """The upload's content is already in the album: ``existing`` is that photo."""

    def __init__(self, existing: "Photo"):
        super().__init__(f"the same picture is already in this album as {existing.title!r}")
        self.existing = existing


@dataclass(frozen=True)
class Album:
    folder: str
    title: str
    photo_count: int | None = None  # counted for the album list only: a lookup must not list the folder


@dataclass(frozen=True)
class Photo:
    album: str
    filename: str
    title: str
    size: int
    mtime_ns: int

    @property
    def source(self) -> str:  # the folder gallery's id of this upload (the registry maps it to a key)
        return f"{self.album}/{self.filename}"

    @property
    def version(self) -> str:
        return f"{self.size:x}{self.mtime_ns:x}"


@dataclass(frozen=True)
class TrashItem:
    id: str
    kind: str
    album: str
    filename: str | None
    title: str
    trashed: float


def clean_title(title: str) -> str:
    """A title as typed, normalised: NFC, no control characters, single-line, 1–120 characters."""
    text = unicodedata.normalize("NFC", str(title or ""))
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    text = " ".join(text.split())
    if not text:
        raise ValueError("a title cannot be empty")
    if len(text) > MAX_TITLE:
        raise ValueError(f"a title can have at most {MAX_TITLE} characters")
    return text


def _is_visible_name(name: str) -> bool:
    return (
        bool(name) and not name.startswith(".") and "/" not in name and "\\" not in name and "\x00" not in name
        and _fits_file_system(name)
    )


def _fits_file_system(name: str) -> bool:
    try:
        return len(os.fsencode(name)) <= NAME_MAX
    except UnicodeError:  # not encodable: no file can have this name
        return False


def _new_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)


class Library:
    def __init__(self, gallery_root: Path, web: WebState):
        self.root = Path(gallery_root)
        self.web = web
        self.gallery = FolderGallery(self.root)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._counts: dict[str, tuple[tuple[int, int], int]] = {}  # folder -> (its identity, photo count)
        self._names: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {}  # folder -> (its identity, photo names)

    @property
    def trash_root(self) -> Path:
        return self.root / TRASH_DIRNAME

    def _lock(self, folder: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(folder, threading.Lock())

    # --- albums ---------------------------------------------------------------------------------

    def _album_folders(self) -> list[str]:
        if not self.root.is_dir():
            return []
        # A linked folder is never an album: it could lead anywhere (see restore_dagster.safepaths).
        return sorted(e.name for e in os.scandir(self.root) if _is_visible_name(e.name) and e.is_dir(follow_symlinks=False))

    def _titles(self) -> dict[str, str]:
        with self.web.connect() as db:
            return {row["folder"]: row["title"] for row in db.execute("SELECT folder, title FROM albums")}

    def albums(self, query: str = "") -> list[Album]:
        titles = self._titles()
        needle = unicodedata.normalize("NFC", query).casefold().strip()
        result = []
        for folder in self._album_folders():
            title = titles.get(folder, folder)
            if needle and needle not in title.casefold():
                continue
            result.append(Album(folder, title, self._photo_count(folder)))
        return sorted(result, key=lambda a: a.title.casefold())

    def _photo_count(self, folder: str) -> int:
        """How many photos the album holds, counted again only when its folder changed.

        An entry added, removed or renamed changes the folder's time; one changed within
        ``COUNT_SETTLE_SECONDS`` of now is counted every time (a second change in the same tick of the
        file system's clock would keep the time). 200 albums of 500 photos were 100,000 entries to
        look at on every visit to the home page."""
        try:
            st = os.lstat(self.root / folder)
        except OSError:
            return 0
        identity = (st.st_ino, st.st_mtime_ns)
        with self._locks_guard:
            kept = self._counts.get(folder)
        if kept is not None and kept[0] == identity:
            return kept[1]
        count = len(self._photo_entries(folder))
        if st.st_mtime_ns < time.time_ns() - COUNT_SETTLE_SECONDS * 1e9:
            with self._locks_guard:
                self._counts[folder] = (identity, count)
        return count

    def album(self, folder: str) -> Album:
        if not _is_visible_name(folder) or not is_real_dir(self.root, [folder]):
            raise NotFound(f"no album {folder!r}")
        with self.web.connect() as db:
            row = db.execute("SELECT title FROM albums WHERE folder = ?", (folder,)).fetchone()
        return Album(folder, row["title"] if row else folder)

    def create_album(self, title: str) -> Album:
        title = clean_title(title)
        with self._locks_guard:
            taken = set(self._album_folders()) | self._trashed_album_folders()
            base = slugify(title)
            folder, counter = base, 2
            # The folder is made here, so a reserved name (a title "Restored") gets a free one, not an error.
            while folder in taken or album_name_problem(folder):
                folder = f"{base}-{counter}"
                counter += 1
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / check_album_name(folder)).mkdir()
            with self.web.connect() as db:
                db.execute("INSERT OR REPLACE INTO albums VALUES (?, ?, ?)", (folder, title, time.time()))
        return Album(folder, title, 0)

    def _trashed_album_folders(self) -> set[str]:
        # A trashed album keeps its folder name reserved, so restoring it never needs a new name
        # (a new name would mean new partition keys and the whole album restored again).
        with self.web.connect() as db:
            return {row["album"] for row in db.execute("SELECT album FROM trash WHERE kind = 'album'")}

    def rename_album(self, folder: str, title: str) -> Album:
        album = self.album(folder)
        title = clean_title(title)
        with self.web.connect() as db:
            db.execute("INSERT OR REPLACE INTO albums VALUES (?, ?, ?)", (album.folder, title, time.time()))
        return Album(album.folder, title, album.photo_count)

    # --- photos ---------------------------------------------------------------------------------

    def _photo_entries(self, folder: str) -> list[os.DirEntry]:
        try:
            entries = list(os.scandir(self.root / folder))
        except FileNotFoundError:
            return []
        return [
            e for e in entries
            if _is_visible_name(e.name) and not e.name.endswith(".tmp")
            and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES and e.is_file(follow_symlinks=False)
        ]

    def _photo_titles(self, folder: str) -> dict[str, str]:
        with self.web.connect() as db:
            rows = db.execute("SELECT filename, title FROM photos WHERE album = ? AND title IS NOT NULL", (folder,))
            return {row["filename"]: row["title"] for row in rows}

    def photos(self, folder: str) -> list[Photo]:
        self.album(folder)
        titles = self._photo_titles(folder)
        result = []
        for entry in sorted(self._photo_entries(folder), key=lambda e: e.name):
            st = entry.stat()
            result.append(Photo(folder, entry.name, titles.get(entry.name, os.path.splitext(entry.name)[0]), st.st_size, st.st_mtime_ns))
        return result

    def photo_names(self, folder: str) -> tuple[str, ...]:
        """The album's photo file names in album order (by name, as ``photos``), without a stat per photo.

        Kept by the folder's identity, as the counts are (``_photo_count``): a page of an album of
        100,000 photos then costs no listing of the folder, only the stats of its own photos
        (``photos_named``). A folder changed within ``COUNT_SETTLE_SECONDS`` of now is listed every time."""
        self.album(folder)
        try:
            st = os.lstat(self.root / folder)
        except OSError:
            return ()
        identity = (st.st_ino, st.st_mtime_ns)
        with self._locks_guard:
            kept = self._names.get(folder)
        if kept is not None and kept[0] == identity:
            return kept[1]
        names = tuple(sorted(entry.name for entry in self._photo_entries(folder)))
        if st.st_mtime_ns < time.time_ns() - COUNT_SETTLE_SECONDS * 1e9:
            with self._locks_guard:
                self._names[folder] = (identity, names)
        return names

    def titles(self, folder: str, names: list[str] | None = None) -> dict[str, str]:
        """``{file name: title}`` of the album's photos that have one (``names``: only those)."""
        if names is None:
            return self._photo_titles(folder)
        titles: dict[str, str] = {}
        with self.web.connect() as db:
            for start in range(0, len(names), 500):  # well under SQLite's limit of bound values
                chunk = list(names[start:start + 500])
                marks = ", ".join("?" * len(chunk))
                rows = db.execute(f"SELECT filename, title FROM photos WHERE album = ? AND title IS NOT NULL "
                                  f"AND filename IN ({marks})", (folder, *chunk))
                titles.update((row["filename"], row["title"]) for row in rows)
        return titles

    def photos_named(self, folder: str, names: list[str]) -> list[Photo]:
        """The photos of ``names`` (from ``photo_names``), in that order, a stat each; one gone since is left out."""
        titles = self.titles(folder, names)
        result = []
        for name in names:
            try:
                st = os.lstat(self.root / folder / name)
            except OSError:  # trashed or renamed since the listing
                continue
            if stat.S_ISREG(st.st_mode):  # never a link put in its place since the listing
                result.append(Photo(folder, name, titles.get(name) or os.path.splitext(name)[0], st.st_size, st.st_mtime_ns))
        return result

    def photo(self, folder: str, filename: str) -> Photo:
        self.album(folder)
        if (
            not _is_visible_name(filename) or filename.endswith(".tmp")
            or os.path.splitext(filename)[1].lower() not in IMAGE_SUFFIXES
        ):
            raise NotFound(f"no photo {filename!r} in album {folder!r}")
        try:
            st = lstat_inside(self.root, [folder, filename])
        except OSError:  # missing, or a link: nothing is served, shared or trashed through a link
            raise NotFound(f"no photo {filename!r} in album {folder!r}") from None
        if not stat.S_ISREG(st.st_mode):
            raise NotFound(f"no photo {filename!r} in album {folder!r}")
        with self.web.connect() as db:
            row = db.execute("SELECT title FROM photos WHERE album = ? AND filename = ?", (folder, filename)).fetchone()
        title = row["title"] if row and row["title"] else os.path.splitext(filename)[0]
        return Photo(folder, filename, title, st.st_size, st.st_mtime_ns)

    def original_path(self, photo: Photo) -> Path:
        return self.root / photo.album / photo.filename

    def open_original(self, photo: Photo) -> BinaryIO:
        """The original opened without following any link on the way (checked again at every open)."""
        try:
            return open_inside(self.root, [photo.album, photo.filename])
        except OSError:
            raise NotFound(f"no photo {photo.filename!r} in album {photo.album!r}") from None

    def open_restoration(self, photo: Photo, path: Path) -> BinaryIO:
        try:
            return open_inside(self.root, [photo.album, PUBLISHED_DIRNAME, path.name])
        except OSError:
            raise NotFound(f"no restoration of {photo.filename!r} in album {photo.album!r}") from None

    def restoration_path(self, photo: Photo, restorations: dict[str, Path] | None = None, download: bool = False) -> Path | None:
        """The photo's published restoration; pass ``gallery.restorations(album)`` to look up many with one listing.

        ``download``: the JPEG kept beside a WebP or AVIF restoration for downloads, where there is one.
        """
        name = FolderGallery.restoration_name(photo.filename)
        if restorations is None:  # this photo's only
            restorations = (self.gallery.restoration_downloads if download else self.gallery.restorations)(photo.album, [name])
        return restorations.get(name)

    def restoration_paths(self, photo: Photo) -> list[Path]:
        """Every file of the photo's restoration (the one shown and its download JPEG)."""
        name = FolderGallery.restoration_name(photo.filename)
        return self.gallery.restoration_files(photo.album, [name]).get(name, [])

    def rename_photo(self, folder: str, filename: str, title: str) -> Photo:
        photo = self.photo(folder, filename)
        title = clean_title(title)
        with self.web.connect() as db:
            db.execute(
                "INSERT INTO photos (album, filename, title) VALUES (?, ?, ?) "
                "ON CONFLICT (album, filename) DO UPDATE SET title = excluded.title",
                (folder, filename, title),
            )
        return Photo(photo.album, photo.filename, title, photo.size, photo.mtime_ns)

    def _content_hash(self, folder: str, entry: os.DirEntry) -> str:
        """The SHA-256 of an album file, cached against its size and modification time."""
        st = entry.stat()
        signature = f"{st.st_size}:{st.st_mtime_ns}"
        with self.web.connect() as db:
            row = db.execute("SELECT sha256, signature FROM photos WHERE album = ? AND filename = ?", (folder, entry.name)).fetchone()
        if row and row["signature"] == signature and row["sha256"]:
            return row["sha256"]
        digest = sha256_file(Path(entry.path))
        with self.web.connect() as db:
            db.execute(
                "INSERT INTO photos (album, filename, sha256, signature) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (album, filename) DO UPDATE SET sha256 = excluded.sha256, signature = excluded.signature",
                (folder, entry.name, digest, signature),
            )
        return digest

    def add_upload(self, folder: str, staged: Path, sha256: str, image_format: str, client_name: str) -> Photo:
        """Move a validated upload from ``staged`` into the album under a name made here.

        Raises :class:`Duplicate` (and leaves ``staged`` for the caller to remove) when the album
        already holds the same bytes. Only files of the same size are hashed, so a big album costs a
        ``stat`` per photo, not a read.
        """
        self.album(folder)
        size = staged.stat().st_size
        title = _title_from_client_name(client_name)
        with self._lock(folder):
            for entry in self._photo_entries(folder):
                if entry.stat().st_size == size and self._content_hash(folder, entry) == sha256:
                    raise Duplicate(self.photo(folder, entry.name))
            # The time to the microsecond: names sort in upload order, which is the album's order.
            filename = f"scan-{dt.datetime.now():%Y%m%d-%H%M%S-%f}{EXTENSIONS[image_format]}"
            while (self.root / folder / filename).exists():
                filename = f"scan-{dt.datetime.now():%Y%m%d-%H%M%S-%f}-{secrets.token_hex(2)}{EXTENSIONS[image_format]}"
            target = self.root / folder / filename
            os.replace(staged, target)
            st = target.stat()
            with self.web.connect() as db:
                db.execute(
                    "INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?, ?, ?)",
                    (folder, filename, title, sha256, f"{st.st_size}:{st.st_mtime_ns}", time.time()),
                )
        return Photo(folder, filename, title, st.st_size, st.st_mtime_ns)

    # --- trash ----------------------------------------------------------------------------------

    def trash_photo(self, folder: str, filename: str) -> str:
        photo = self.photo(folder, filename)
        item_id = _new_id()
        target = self.trash_root / item_id
        with self._lock(folder):
            restorations = self.restoration_paths(photo)
            (target / PUBLISHED_DIRNAME).mkdir(parents=True)
            with self.web.connect() as db:
                row = db.execute("SELECT * FROM photos WHERE album = ? AND filename = ?", (folder, filename)).fetchone()
                meta = {k: row[k] for k in row.keys()} if row else {}
                db.execute("INSERT INTO trash VALUES (?, 'photo', ?, ?, ?, ?, ?)", (item_id, folder, filename, photo.title, json.dumps(meta), time.time()))
                db.execute("DELETE FROM photos WHERE album = ? AND filename = ?", (folder, filename))
            os.replace(self.original_path(photo), target / filename)
            for restoration in restorations:  # the one shown and its download JPEG go together
                if restoration.exists():
                    os.replace(restoration, target / PUBLISHED_DIRNAME / restoration.name)
        return item_id

    def trash_album(self, folder: str) -> str:
        album = self.album(folder)
        item_id = _new_id()
        target = self.trash_root / item_id
        with self._lock(folder):
            target.mkdir(parents=True)
            with self.web.connect() as db:
                photos = [dict(row) for row in db.execute("SELECT * FROM photos WHERE album = ?", (folder,))]
                meta = {"photos": photos, "title": album.title}
                db.execute("INSERT INTO trash VALUES (?, 'album', ?, NULL, ?, ?, ?)", (item_id, folder, album.title, json.dumps(meta), time.time()))
                db.execute("DELETE FROM photos WHERE album = ?", (folder,))
                db.execute("DELETE FROM albums WHERE folder = ?", (folder,))
                db.execute("DELETE FROM shares WHERE album = ?", (folder,))  # a deleted album's link stops working
            os.replace(self.root / folder, target / folder)
        return item_id

    def trash_items(self) -> list[TrashItem]:
        with self.web.connect() as db:
            rows = db.execute("SELECT id, kind, album, filename, title, trashed FROM trash ORDER BY trashed DESC").fetchall()
        return [TrashItem(**dict(row)) for row in rows]

    def restore(self, item_id: str) -> tuple[str, str | None]:
        """Put a trashed album or photo back; returns (album folder, photo file name or None)."""
        with self.web.connect() as db:
            row = db.execute("SELECT * FROM trash WHERE id = ?", (str(item_id),)).fetchone()
        if row is None or not (self.trash_root / row["id"]).is_dir():
            raise NotFound(f"no item {item_id!r} in the trash")
        meta = json.loads(row["meta"])
        if row["kind"] == "album":
            return self._restore_album(row, meta), None
        return self._restore_photo(row, meta)

    def _restore_album(self, row, meta) -> str:
        folder = row["album"]
        with self._lock(folder):
            if os.path.lexists(self.root / folder):  # a link too, even a broken one
                raise FileExistsError(f"an album folder {folder!r} exists again; rename it before restoring")
            os.replace(self.trash_root / row["id"] / folder, self.root / folder)
            with self.web.connect() as db:
                db.execute("INSERT OR REPLACE INTO albums VALUES (?, ?, ?)", (folder, meta["title"], time.time()))
                for photo in meta["photos"]:
                    db.execute("INSERT OR REPLACE INTO photos VALUES (:album, :filename, :title, :sha256, :signature, :uploaded)", photo)
                db.execute("DELETE FROM trash WHERE id = ?", (row["id"],))
        shutil.rmtree(self.trash_root / row["id"], ignore_errors=True)
        return folder

    def _restore_photo(self, row, meta) -> tuple[str, str]:
        folder, filename = row["album"], row["filename"]
        if not is_real_dir(self.root, [folder]):  # never put back through a linked album folder
            raise NotFound(f"its album {folder!r} is not there any more; restore the album first")
        source = self.trash_root / row["id"]
        with self._lock(folder):
            if os.path.lexists(self.root / folder / filename):
                raise FileExistsError(f"a photo named {filename!r} is in the album again")
            restorations = list((source / PUBLISHED_DIRNAME).glob("*"))
            if restorations:
                (self.root / folder / PUBLISHED_DIRNAME).mkdir(exist_ok=True)
                if not is_real_dir(self.root, [folder, PUBLISHED_DIRNAME]):  # never moved through a link
                    raise FileExistsError(f"{folder}/{PUBLISHED_DIRNAME} is a symbolic link; replace it with a folder first")
            os.replace(source / filename, self.root / folder / filename)
            for restoration in restorations:
                os.replace(restoration, self.root / folder / PUBLISHED_DIRNAME / restoration.name)
            with self.web.connect() as db:
                if meta:
                    db.execute("INSERT OR REPLACE INTO photos VALUES (:album, :filename, :title, :sha256, :signature, :uploaded)", meta)
                db.execute("DELETE FROM trash WHERE id = ?", (row["id"],))
        shutil.rmtree(source, ignore_errors=True)
        return folder, filename


def _title_from_client_name(name: str) -> str:
    """The client's file name as a title only (never a path): its last component, without extension."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    try:
        return clean_title(stem)
    except ValueError:
        return clean_title("scan " + dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
