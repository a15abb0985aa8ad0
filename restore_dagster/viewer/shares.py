"""Read-only share links: one revocable random token per album.

The token is the whole credential, so it is long (32 random bytes) and compared by database lookup
of an exact value. Making a new link replaces the old one; revoking deletes it, and a visitor holding
it gets 404 from then on, exactly as for a link that never existed.
"""
from __future__ import annotations

import re
import secrets
import time

from restore_dagster.viewer.webstate import WebState

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class Shares:
    def __init__(self, web: WebState):
        self.web = web

    def token_for(self, album: str) -> str | None:
        with self.web.connect() as db:
            row = db.execute("SELECT token FROM shares WHERE album = ?", (album,)).fetchone()
        return row["token"] if row else None

    def create(self, album: str) -> str:
        token = secrets.token_urlsafe(32)
        with self.web.connect() as db:
            db.execute("INSERT OR REPLACE INTO shares VALUES (?, ?, ?)", (album, token, time.time()))
        return token

    def revoke(self, album: str) -> None:
        with self.web.connect() as db:
            db.execute("DELETE FROM shares WHERE album = ?", (album,))

    def album_for(self, token: str) -> str | None:
        if not _TOKEN.match(token or ""):
            return None
        with self.web.connect() as db:
            row = db.execute("SELECT album FROM shares WHERE token = ?", (token,)).fetchone()
        return row["album"] if row else None
