"""The web gallery's own small database: ``state/web.sqlite3``.

What the folder gallery cannot hold lives here: album and photo titles (folder and file names are made
by the server and never change, so renaming costs nothing and never re-runs the pipeline), content
hashes for duplicate detection, sessions, share links and the trash's index. SQLite gives atomic
updates and safe concurrent access from the server's worker threads with nothing to install.
"""
from __future__ import annotations

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
    token TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
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


class WebState:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
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
