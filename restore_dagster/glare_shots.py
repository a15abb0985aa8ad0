"""Several phone shots of one glossy print, from different angles: one photo of it without the glare.

Used by ``restore-photos add --merge-glare FILE... --album NAME``. The shots are aligned onto the
first and merged pixel by pixel leaving out the brightest (``imaging.glare.merge_without_glare``).

- **The shots** are kept untouched, byte for byte, in ``<storage root>/glare_shots/<album>/<merged
  name's stem>/``: beside the gallery, never inside it (like ``sheets/``), so no listing of the
  gallery takes a shot for a photo, and they are never deleted.
- **The merged picture** is written into the album as a lossless PNG named ``<first shot's
  name>-merged.png``, in the first shot's frame, carrying its EXIF (date, camera; Orientation 1 since
  the pixels are upright) and colour profile. From there it is an upload like any other.
- **The record**, ``state/glare_merges.json``, holds per album and set of shots (their SHA-256s, in
  order) the merged upload's file name, the kept shots and how many features aligned each shot.
  Merging the same shots into the same album again writes over the same upload (left alone when its
  pixels did not change): nothing is duplicated.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from restore_dagster.config import Layout
from restore_dagster.filenames import fit_name
from restore_dagster.files import atomic_copy, atomic_write_json, read_json
from restore_dagster.gallery import suffix_of
from restore_dagster.imaging import load_scan
from restore_dagster.imaging.glare import merge_without_glare
from restore_dagster.models.weights import sha256_file
from restore_dagster.safepaths import LINK_REASON, UnsafePath, check_album_name, is_real_dir, make_real_dirs
from restore_dagster.sheets import is_recorded_upload, png_with_metadata, safe_source_name, uploads_locked, write_derived_upload

SHOTS_DIRNAME = "glare_shots"
RECORD_NAME = "glare_merges.json"
MERGED_TAIL = "-merged.png"


@dataclass
class MergeOutcome:
    album: str
    filename: str  # the merged upload in the album
    status: str  # "added", "replaced" or "unchanged"
    shots: list[Path]  # the kept copies, in the order given
    inliers: list[int]  # per shot after the first, the features that agreed with its alignment


def merge_into_album(layout: Layout, album: str, sources: list[Path]) -> MergeOutcome:
    """Merge the shots ``sources`` (files ``load_scan`` reads, the first the frame kept) into one
    upload of ``album``. Raises ``ImageError`` naming the shot that cannot be read or aligned before
    anything is written; ``ValueError`` for a bad album name."""
    check_album_name(album)
    album_dir = layout.gallery / album
    if not is_real_dir(layout.gallery, [album]):
        raise UnsafePath(f"{album_dir}: not a real album folder (missing, or {LINK_REASON}); nothing added")
    digests = [sha256_file(source) for source in sources]
    scans = [load_scan(source) for source in sources]
    merged = merge_without_glare([scan.image for scan in scans])  # before anything is written
    data = png_with_metadata(merged.image, scans[0].exif, scans[0].icc_profile)
    with uploads_locked(layout):
        records = read_json(layout.state / RECORD_NAME, {})
        key = f"{album}/{hashlib.sha256(' '.join(digests).encode()).hexdigest()}"
        record = records.get(key) or {}
        filename = record.get("upload")
        if not filename or not is_recorded_upload(album_dir, filename):
            filename = _free_name(album_dir, sources[0].name, records, album)
        folder = layout.root / SHOTS_DIRNAME / album / filename[: -len(suffix_of(filename))]
        kept = _keep_shots(layout, folder, sources, record.get("shots") or [])
        status = write_derived_upload(album_dir / filename, data)
        records[key] = {
            "album": album, "upload": filename, "merged_at": time.time(), "size": list(merged.image.size),
            "shots": [str(path.relative_to(layout.root)) for path in kept], "sha256": digests,
            "inliers": merged.inliers[1:],
        }
        atomic_write_json(layout.state / RECORD_NAME, records)
    return MergeOutcome(album, filename, status, kept, merged.inliers[1:])


def shots_of(layout: Layout, album: str, filename: str) -> list[Path] | None:
    """The kept shots a merged upload was made from; None for any other upload."""
    for record in read_json(layout.state / RECORD_NAME, {}).values():
        if record.get("album") == album and record.get("upload") == filename:
            return [layout.root / shot for shot in record["shots"]]
    return None


def _free_name(album_dir: Path, first_shot: str, records: dict, album: str) -> str:
    """``<first shot's stem>-merged.png``, or ``...-2-merged.png``... when another file has that name."""
    safe = safe_source_name(first_shot, Path(first_shot))
    stem = safe[: -len(suffix_of(safe))]
    taken = {r["upload"] for r in records.values() if r.get("album") == album}
    candidate, counter = fit_name(stem, MERGED_TAIL), 2
    while candidate in taken or os.path.lexists(album_dir / candidate):
        candidate = fit_name(f"{stem}-{counter}", MERGED_TAIL)
        counter += 1
    return candidate


def _keep_shots(layout: Layout, folder: Path, sources: list[Path], recorded: list[str]) -> list[Path]:
    """The shots' kept copies: those recorded for them, or new copies ``shot-<n><suffix>``."""
    existing = [layout.root / path for path in recorded]
    if len(existing) == len(sources) and all(path.is_file() and not path.is_symlink() for path in existing):
        return existing
    make_real_dirs(layout.root, folder.relative_to(layout.root).parts, "the shots are not kept there")
    kept = []
    for number, source in enumerate(sources, start=1):
        suffix = suffix_of(safe_source_name(source.name, source))
        target, counter = folder / f"shot-{number}{suffix}", 2
        while os.path.lexists(target):
            target = folder / f"shot-{number}-{counter}{suffix}"
            counter += 1
        kept.append(atomic_copy(source, target))
    return kept
