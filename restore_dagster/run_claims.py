"""Photos a live ``restore-photos run`` has planned, so a second one (or the sensor) leaves them alone.

A CLI run plans several batches but only the batch in progress is a Dagster run; the batches after
it exist only in its plan. Each CLI process therefore records the photos of its current plan in
``state/claims/<pid>-<start>.json`` (with its owner, see owner.py), and planning and claiming happen
under one file lock (``state/claims/.lock``), so of two processes starting at once the second sees
the first's claims. Claims of a process that is gone are ignored and removed, so ``kill -9`` never
leaves photos claimed.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.owner import Owner

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; claims still work, two runs starting in the same instant may overlap
    fcntl = None

DIRNAME = "claims"


class ClaimBoard:
    def __init__(self, state: Path, owner: Owner | None = None):
        self.folder = Path(state) / DIRNAME
        self.owner = owner or Owner.this_process()
        stamp = hashlib.sha1(f"{self.owner.host}|{self.owner.started}".encode()).hexdigest()[:10]
        self.path = self.folder / f"{self.owner.pid}-{stamp}.json"

    @contextmanager
    def locked(self) -> Iterator["ClaimBoard"]:
        """Hold the planning lock: plan, then ``claim``, inside it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield self
            return
        with open(self.folder / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes, or the process dies
            try:
                yield self
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def others(self) -> set[str]:
        """Photos claimed by other processes that still exist (another host's claims are honoured)."""
        keys: set[str] = set()
        if not self.folder.is_dir():
            return keys
        for path in self.folder.glob("*.json"):
            if path == self.path:
                continue
            try:
                value = read_json(path, {}) or {}
            except (OSError, ValueError):
                continue  # half-written by a crashed process: only its owner writes it again
            owner = Owner.from_dict(value.get("owner") or {})
            if owner is None or owner.alive() is False:
                path.unlink(missing_ok=True)
                continue
            keys.update(k for k in value.get("keys", []) if isinstance(k, str))
        return keys

    def claim(self, keys: Iterable[str]) -> None:
        keys = sorted(set(keys))
        if not keys:
            self.release()
            return
        atomic_write_json(self.path, {"owner": self.owner.as_dict(), "keys": keys})

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
