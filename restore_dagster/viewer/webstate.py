"""The web gallery's own small database: ``state/web.sqlite3``.

What the folder gallery cannot hold lives here: album and photo titles (folder and file names are made
by the server and never change, so renaming costs nothing and never re-runs the pipeline), content
hashes for duplicate detection, sessions, share links and the trash's index. SQLite gives atomic
updates and safe concurrent access from the server's worker threads with nothing to install.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS albums (
    folder TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (
    album TEXT NOT NULL,
    filename TEXT NOT NULL,
    title TEXT,
    sha256 TEXT,
    signature TEXT,
    uploaded REAL,
    PRIMARY KEY (album, filename)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shares (
    album TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,  -- SHA-256 of the link's token: what a visit is checked against
    sealed TEXT NOT NULL,             -- the token encrypted with state/web-share-key (see shares.py)
    nonce TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    token_hash TEXT PRIMARY KEY,      -- SHA-256 of a device cookie given at a successful login
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trash (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,          -- 'album' or 'photo'
    album TEXT NOT NULL,         -- the album folder it came from
    filename TEXT,               -- the photo's file name (photos only)
    title TEXT NOT NULL,         -- what the owner saw, for the trash page
    meta TEXT NOT NULL,          -- JSON: titles and hashes to put back on restore
    trashed REAL NOT NULL
);
"""


OWNER_ONLY = 0o600
# SQLite's companions of the database file: it gives them the database file's own mode when it makes
# them, so keeping the database 0600 keeps them 0600; those left from before are fixed here too.
COMPANIONS = ("-journal", "-wal", "-shm")


def make_owner_only(path: Path) -> None:
    """``path`` readable and writable by its owner only (a no-op where it does not exist)."""
    try:
        os.chmod(path, OWNER_ONLY)
    except FileNotFoundError:
        pass


class WebState:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # Sessions, share links and device ids live here: created owner-only, and an existing
        # world-readable file (made by an earlier version) is made owner-only too.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, OWNER_ONLY))
        for path in (self.path, *(self.path.with_name(self.path.name + suffix) for suffix in COMPANIONS)):
            make_owner_only(path)
        with self.connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per use, committed on success; a process-wide lock keeps writers in order."""
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            db.row_factory = sqlite3.Row
            try:
                with db:
                    yield db
            finally:
                db.close()
