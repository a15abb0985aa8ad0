"""Progress of a photo inside a stage: a small record under ``state/progress/`` and throttled log lines.

On a CPU one photo can take minutes in ``upscaled``; without this the UI and the web gallery show
only "processing". A stage reports each photo as it starts (``photo 3/8``) and, where the model
works in tiles (waifu2x), the tiles done over all its 2× passes. The record is rewritten at most
once a second and the Dagster log gets a line at most every few seconds; the record is removed when
the photo's stage ends. The web gallery reads it for photos in the "processing" state; a record
whose process is gone (killed mid-stage) is ignored.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.owner import Owner

DIRNAME = "progress"
WRITE_EVERY_S = 1.0
LOG_EVERY_S = 5.0
ACTIVITY = {
    "scanned": "reading the scan",
    "repaired": "repairing scratches and dust",
    "toned": "restoring tone and colour",
    "upscaled": "upscaling",
    "colorized": "colourising",
    "compressed": "compressing",
    "published": "publishing",
    "colour_variations": "making colour variations",  # on request only (assets/colour_variations.py)
}


def progress_path(state: Path, key: str) -> Path:
    # A hash: keys hold '/' and may be up to two 255-byte names long; one flat, short file name each.
    return Path(state) / DIRNAME / (hashlib.sha1(key.encode("utf-8")).hexdigest()[:24] + ".json")


def read_progress(state: Path, key: str) -> dict | None:
    """The photo's progress record, or None (none, unreadable, or left by a process that is gone)."""
    try:
        record = read_json(progress_path(state, key))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    owner = Owner.from_dict(record.get("owner") or {})
    if owner is None or owner.alive() is False:
        return None
    return record


def describe(record: dict | None) -> str:
    """'upscaling: 37/120 tiles (31%), photo 2 of 8 in this run' and the like; '' for no record."""
    if not record:
        return ""
    text = ACTIVITY.get(record.get("stage", ""), record.get("stage", ""))
    done, total = record.get("done", 0), record.get("total", 0)
    if total:
        text += f": {done}/{total} {record.get('unit', 'tiles')} ({100 * done // total}%)"
    if record.get("photos", 1) > 1:
        text += f", photo {record['photo']} of {record['photos']} in this run"
    return text


class PhotoProgress:
    """Reports one photo's progress through one stage; call ``tiles(done, total)`` from the model."""

    def __init__(self, state: Path, stage: str, key: str, photo: int, photos: int, run_id: str, log: Any = None):
        self.path = progress_path(state, key)
        self.log = log
        self.record = {"key": key, "stage": stage, "photo": photo, "photos": photos, "run_id": run_id,
                       "done": 0, "total": 0, "unit": "tiles", "started": time.time(),
                       "owner": Owner.this_process().as_dict()}
        self._written = self._logged = 0.0

    def start(self) -> None:
        self._write()
        if self.log is not None:
            self.log.info(f"{self.record['stage']} {self.record['key']}: started "
                          f"(photo {self.record['photo']} of {self.record['photos']} in this run)")

    def tiles(self, done: int, total: int, unit: str = "tiles") -> None:
        self.record.update(done=done, total=total, unit=unit)
        now = time.monotonic()
        finished = total and done >= total
        if finished or now - self._written >= WRITE_EVERY_S:
            self._write()
        if self.log is not None and total and (finished or now - self._logged >= LOG_EVERY_S):
            self._logged = now
            self.log.info(f"{self.record['stage']} {self.record['key']}: {describe(self.record)}")

    def _write(self) -> None:
        self._written = time.monotonic()
        self.record["updated"] = time.time()
        try:
            atomic_write_json(self.path, self.record)
        except OSError:  # progress is a courtesy: a full disk must not fail the photo
            pass

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
