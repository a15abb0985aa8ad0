"""Requests for a photo's colour variations, from the web viewer to the ``colour_variations_sensor``.

The web server runs no model and starts no run itself: it writes ``state/variation-requests/<hash>.json``
(the photo's key, a fresh id, the time) and the sensor turns each new request into a run of the
``colour_variations_job`` for that photo, with the request's id in its run key, so one request is one
run. The asset removes the request once the photo's variations are made (or have failed, with the
reason in their listing). A request whose run was lost (a killed process) stays "sent" and is simply
replaced by the owner's next request: nothing waits on it.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path

from restore_dagster.files import atomic_write_json, read_json

DIRNAME = "variation-requests"


def _folder(state: Path) -> Path:
    return Path(state) / DIRNAME


def request_path(state: Path, key: str) -> Path:
    # A hash: one flat, short name whatever the key (keys hold a '/').
    return _folder(state) / (hashlib.sha1(key.encode("utf-8")).hexdigest()[:24] + ".json")


def request(state: Path, key: str) -> dict:
    """Ask for ``key``'s variations (again): a new id replaces any earlier request of the photo."""
    record = {"key": key, "id": secrets.token_hex(6), "requested": time.time(), "run_key": None}
    atomic_write_json(request_path(state, key), record)
    return record


def read_request(state: Path, key: str) -> dict | None:
    try:
        record = read_json(request_path(state, key))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("key") == key else None


def pending(state: Path) -> list[dict]:
    """Every request not yet turned into a run, oldest first (unreadable files are skipped)."""
    folder = _folder(state)
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        if not entry.name.endswith(".json") or not entry.is_file(follow_symlinks=False):
            continue
        try:
            record = read_json(Path(entry.path))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("key"), str) and not record.get("run_key"):
            found.append(record)
    return sorted(found, key=lambda r: r.get("requested") or 0)


def mark_sent(state: Path, record: dict, run_key: str) -> None:
    """The sensor asked for a run: the request is not asked for again (unless replaced by a new one)."""
    current = read_request(state, record["key"])
    if current is not None and current.get("id") == record.get("id"):
        atomic_write_json(request_path(state, record["key"]), {**current, "run_key": run_key})


def finish(state: Path, key: str, started: float) -> None:
    """The variations a run began at ``started`` were made (or failed): the request they answer is
    done. One made after that moment (the owner asked again meanwhile) stays, for the next run."""
    current = read_request(state, key)
    if current is not None and (current.get("requested") or 0) <= started:
        request_path(state, key).unlink(missing_ok=True)
