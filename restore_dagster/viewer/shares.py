"""Read-only share links: one revocable random token per album, never stored in clear text.

The token is the whole credential, so it is long (32 random bytes). The database keeps its SHA-256,
which is what a visit is looked up by, so a copy of ``state/web.sqlite3`` (a backup, a stray file
permission) opens no album. The owner's "copy the link" needs the token again: the database also
keeps it sealed, XOR-ed with an HMAC-SHA256 key stream of a per-link nonce, under a key in
``state/web-share-key`` (mode 0600, made on first use). Both files together give the tokens back, as
any server that shows a link twice must be able to; either alone gives nothing.

Making a new link replaces the old one; revoking deletes it, and a visitor holding it gets 404 from
then on, exactly as for a link that never existed. Links stored in clear text by an earlier version
are sealed and hashed the first time the server starts, and the clear text is wiped from the file.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path

from restore_dagster.viewer.webstate import OWNER_ONLY, WebState, make_owner_only

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
KEY_FILE = "web-share-key"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Shares:
    def __init__(self, web: WebState, key_path: Path | None = None):
        self.web = web
        self.key_path = Path(key_path) if key_path else web.path.with_name(KEY_FILE)
        self._key = _load_or_make_key(self.key_path)
        self._migrate_clear_text()

    # --- sealing --------------------------------------------------------------------------------

    def _stream(self, nonce: bytes, length: int) -> bytes:
        blocks = (hmac.new(self._key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(length // 32 + 1))
        return b"".join(blocks)[:length]

    def _seal(self, token: str) -> tuple[str, str]:
        nonce = secrets.token_bytes(16)
        data = token.encode("ascii")
        sealed = bytes(a ^ b for a, b in zip(data, self._stream(nonce, len(data))))
        return base64.b64encode(sealed).decode("ascii"), base64.b64encode(nonce).decode("ascii")

    def _unseal(self, sealed: str, nonce: str) -> str | None:
        data, salt = base64.b64decode(sealed), base64.b64decode(nonce)
        try:
            return bytes(a ^ b for a, b in zip(data, self._stream(salt, len(data)))).decode("ascii")
        except UnicodeDecodeError:
            return None

    def _insert(self, db, album: str, token: str, created: float) -> None:
        sealed, nonce = self._seal(token)
        db.execute("INSERT OR REPLACE INTO shares (album, token_hash, sealed, nonce, created) VALUES (?, ?, ?, ?, ?)",
                   (album, token_hash(token), sealed, nonce, created))

    def _migrate_clear_text(self) -> None:
        with self.web.connect() as db:
            # secure_delete: the dropped table's pages are zeroed, so the clear text leaves the file.
            db.execute("PRAGMA secure_delete = ON")
            db.execute("BEGIN IMMEDIATE")  # one transaction (and one process) for the whole rebuild
            columns = {row["name"] for row in db.execute("PRAGMA table_info(shares)")}
            if "token" not in columns:
                return
            rows = db.execute("SELECT album, token, created FROM shares").fetchall()
            db.execute("DROP TABLE shares")
            db.execute(
                "CREATE TABLE shares (album TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, sealed TEXT NOT NULL, "
                "nonce TEXT NOT NULL, created REAL NOT NULL)"
            )
            for row in rows:
                self._insert(db, row["album"], row["token"], row["created"])

    # --- links ----------------------------------------------------------------------------------

    def token_for(self, album: str) -> str | None:
        with self.web.connect() as db:
            row = db.execute("SELECT token_hash, sealed, nonce FROM shares WHERE album = ?", (album,)).fetchone()
        if not row:
            return None
        token = self._unseal(row["sealed"], row["nonce"])
        if token is None or token_hash(token) != row["token_hash"]:
            # The key changed or went missing: a link the owner can no longer see must not stay open.
            self.revoke(album)
            return None
        return token

    def create(self, album: str) -> str:
        token = secrets.token_urlsafe(32)
        with self.web.connect() as db:
            self._insert(db, album, token, time.time())
        return token

    def revoke(self, album: str) -> None:
        with self.web.connect() as db:
            db.execute("DELETE FROM shares WHERE album = ?", (album,))

    def album_for(self, token: str) -> str | None:
        if not _TOKEN.match(token or ""):
            return None
        with self.web.connect() as db:
            row = db.execute("SELECT album FROM shares WHERE token_hash = ?", (token_hash(token),)).fetchone()
        return row["album"] if row else None


def _load_or_make_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), OWNER_ONLY)
    except FileExistsError:
        make_owner_only(path)
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        path.unlink()  # empty or cut short (a crash while writing it): a new key; old links are revoked
        return _load_or_make_key(path)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key
