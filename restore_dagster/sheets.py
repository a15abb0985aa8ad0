"""Flatbed sheets: each print on a scan of several becomes its own upload in an album.

Shared by ``restore-photos add --split`` and the web upload's "several prints on this scan".

- **The sheet** is kept untouched, byte for byte, in ``<storage root>/sheets/<album>/<name>``: beside
  the gallery, never inside it, so no listing of the gallery (the sensor's, the web's) ever takes it
  for a photo, and it is never deleted.
- **Each print** is written into the album as a lossless PNG named ``<sheet name>-print-<n>.png``,
  carrying the sheet's EXIF (its date, camera or scanner; Orientation 1 since the pixels are upright)
  and colour profile. From there it is an upload like any other.
- **The record**, ``state/sheets.json``, holds per album and sheet (its SHA-256) the kept sheet, and
  per print its position in reading order, its upload's file name and its corners on the sheet. A
  re-split of the same sheet into the same album writes the prints over the uploads recorded for
  those positions (a print whose pixels did not change is not touched, so it is not restored again);
  recorded uploads beyond the prints found now are moved out of the album, with their restorations,
  into ``sheets/<album>/retired/``. Nothing is ever duplicated, nothing deleted.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from restore_dagster.config import PUBLISHED_DIRNAME, Layout
from restore_dagster.filenames import fit_name
from restore_dagster.files import atomic_copy, atomic_write_bytes, atomic_write_json, read_json
from restore_dagster.gallery import FolderGallery, suffix_of
from restore_dagster.imaging import IMAGE_SUFFIXES, load_scan
from restore_dagster.imaging.sheet_split import split_sheet
from restore_dagster.models.weights import sha256_file
from restore_dagster.safepaths import LINK_REASON, UnsafePath, check_album_name, is_real_dir, make_real_dirs

SHEETS_DIRNAME = "sheets"
RETIRED_DIRNAME = "retired"
RECORD_NAME = "sheets.json"
PRINT_TAIL = "-print-{}.png"


@dataclass
class PrintUpload:
    position: int
    filename: str  # in the album
    status: str  # "added", "replaced" or "unchanged"
    size: tuple[int, int]


@dataclass
class SplitOutcome:
    album: str
    sheet: Path  # the kept copy
    prints: list[PrintUpload] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # uploads of an earlier split no longer found

    def summary(self) -> str:
        counts = {s: sum(1 for p in self.prints if p.status == s) for s in ("added", "replaced", "unchanged")}
        text = f"{len(self.prints)} print(s): {counts['added']} added, {counts['replaced']} replaced, {counts['unchanged']} unchanged"
        return text + (f", {len(self.retired)} earlier print(s) retired" if self.retired else "")


def sheets_root(layout: Layout) -> Path:
    return layout.root / SHEETS_DIRNAME


def split_into_album(layout: Layout, album: str, source: Path, name: str) -> SplitOutcome:
    """Split the sheet file ``source`` (any scan ``load_scan`` reads) into prints in ``album``.

    ``name`` is the sheet's name as the person knows it (the file's name, or the web's server-made
    one): only its last component is used, made safe. Raises ``ImageError`` (a ``SheetSplitError``
    when no prints can be told apart) before anything is written; ``ValueError`` for a bad album name.
    """
    check_album_name(album)
    gallery = layout.gallery
    album_dir = gallery / album
    if not is_real_dir(gallery, [album]):
        raise UnsafePath(f"{album_dir}: not a real album folder (missing, or {LINK_REASON}); nothing added")
    digest = sha256_file(source)
    scan = load_scan(source)
    prints = split_sheet(scan.image)  # before anything is written: a sheet that cannot be split adds nothing
    with uploads_locked(layout):
        records = read_json(layout.state / RECORD_NAME, {})
        key = f"{album}/{digest}"
        record = records.get(key) or {}
        kept = _keep_sheet(layout, album, source, name, record.get("sheet"))
        earlier = {int(p["position"]): p["upload"] for p in record.get("prints", [])}
        outcome = SplitOutcome(album, kept)
        taken = _names_of_other_sheets(records, album, key)
        written = []
        for found in prints:
            data = png_with_metadata(found.image, scan.exif, scan.icc_profile)
            filename = earlier.get(found.index)
            if filename is None or filename in taken or not is_recorded_upload(album_dir, filename):
                filename = _free_name(album_dir, Path(kept.name).stem, found.index, taken)
            status = write_derived_upload(album_dir / filename, data)
            taken.add(filename)
            outcome.prints.append(PrintUpload(found.index, filename, status, found.size))
            written.append({"position": found.index, "upload": filename,
                            "corners": [[round(x, 2), round(y, 2)] for x, y in found.corners], "size": list(found.size)})
        current = {p.filename for p in outcome.prints}
        for position, filename in sorted(earlier.items()):
            if filename not in current and is_recorded_upload(album_dir, filename):
                _retire(layout, album, filename)
                outcome.retired.append(filename)
        records[key] = {
            "album": album, "sha256": digest, "sheet": str(kept.relative_to(layout.root)), "name": kept.name,
            "split_at": time.time(), "size": list(scan.image.size), "prints": written,
        }
        atomic_write_json(layout.state / RECORD_NAME, records)
    return outcome


def print_origin(layout: Layout, album: str, filename: str) -> tuple[Path, int] | None:
    """(kept sheet, position) of an upload made by splitting a sheet; None for any other upload."""
    for record in read_json(layout.state / RECORD_NAME, {}).values():
        if record.get("album") != album:
            continue
        for entry in record.get("prints", []):
            if entry.get("upload") == filename:
                return layout.root / record["sheet"], int(entry["position"])
    return None


@contextmanager
def uploads_locked(layout: Layout) -> Iterator[None]:
    """One split at a time across processes (the CLI and the web may split into the same album)."""
    layout.state.mkdir(parents=True, exist_ok=True)
    with open(layout.state / "sheets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def safe_source_name(name: str, source: Path) -> str:
    """The last component of ``name``, never hidden, ``..`` or empty, with an image suffix, ≤ 255 bytes."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "").lstrip(".").strip()
    suffix = suffix_of(base) if suffix_of(base) in IMAGE_SUFFIXES else (suffix_of(source.name) if suffix_of(source.name) in IMAGE_SUFFIXES else ".img")
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    stem = stem.rstrip(".").strip() or "sheet"
    return fit_name(stem, suffix)


def _keep_sheet(layout: Layout, album: str, source: Path, name: str, recorded: str | None) -> Path:
    """The sheet's kept copy: the one recorded for it, or a new copy under a free name."""
    if recorded:
        path = layout.root / recorded
        if path.is_file() and not path.is_symlink():
            return path
    folder = make_real_dirs(layout.root, [SHEETS_DIRNAME, album], "the sheet is not kept there")
    wanted = safe_source_name(name, source)
    stem, suffix = wanted[: -len(suffix_of(wanted))], suffix_of(wanted)
    target, counter = folder / wanted, 2
    while os.path.lexists(target):
        target = folder / fit_name(stem, f"-{counter}{suffix}")
        counter += 1
    return atomic_copy(source, target)


def _names_of_other_sheets(records: dict, album: str, key: str) -> set[str]:
    return {p["upload"] for k, r in records.items() if k != key and r.get("album") == album for p in r.get("prints", [])}


def is_recorded_upload(album_dir: Path, filename: str) -> bool:
    """The recorded upload is still a plain file in the album (not replaced by a link or a folder)."""
    if not filename or "/" in filename or filename.startswith("."):
        return False  # not a name this module makes: the record was edited by hand
    path = album_dir / filename
    return path.is_file() and not path.is_symlink()


def _free_name(album_dir: Path, stem: str, position: int, taken: set[str]) -> str:
    """``<stem>-print-<n>.png``, or ``<stem>-2-print-<n>.png``... when another file has that name."""
    tail = PRINT_TAIL.format(position)
    candidate, counter = fit_name(stem, tail), 2
    while candidate in taken or os.path.lexists(album_dir / candidate):
        candidate = fit_name(f"{stem}-{counter}", tail)
        counter += 1
    return candidate


def png_with_metadata(image, exif: bytes, icc_profile: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options = {"exif": exif} if exif else {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def write_derived_upload(path: Path, data: bytes) -> str:
    if path.is_file() and not path.is_symlink():
        if sha256_file(path) == hashlib.sha256(data).hexdigest():
            return "unchanged"  # same pixels: left alone, so the photo is not restored again
        atomic_write_bytes(path, data)
        return "replaced"
    atomic_write_bytes(path, data)
    return "added"


def _retire(layout: Layout, album: str, filename: str) -> None:
    """Move an upload of an earlier split, and its restoration, out of the album (never deleted)."""
    folder = make_real_dirs(layout.root, [SHEETS_DIRNAME, album, RETIRED_DIRNAME, PUBLISHED_DIRNAME],
                            "nothing is retired there").parent
    restoration = FolderGallery(layout.gallery).published_location(f"{album}/{filename}")
    os.replace(layout.gallery / album / filename, _free_path(folder, filename))
    if restoration:
        os.replace(restoration, _free_path(folder / PUBLISHED_DIRNAME, Path(restoration).name))


def _free_path(folder: Path, name: str) -> Path:
    target, counter = folder / name, 2
    stem, suffix = os.path.splitext(name)
    while os.path.lexists(target):
        target = folder / fit_name(stem, f"-{counter}{suffix}")
        counter += 1
    return target
