"""The one owner account: a scrypt-hashed password, server-side sessions and a login rate limit.

The password is set with ``restore-photos password`` and stored only as a salted scrypt hash in
``state/web-owner.json`` (mode 0600). A session is a random token in an HttpOnly cookie; the server
keeps only its SHA-256, so a copy of the database cannot be replayed as a login. Changing the
password ends every session.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.viewer.webstate import WebState

SESSION_SECONDS = 30 * 24 * 3600
DEVICE_SECONDS = 365 * 24 * 3600
MIN_PASSWORD_LENGTH = 8
# scrypt at 2^15 × 8 × 1: 32 MiB and ~0.1 s per check, slow enough to make guessing a stolen hash costly.
SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class OwnerAccount:
    def __init__(self, state_dir: Path, web: WebState):
        self.path = Path(state_dir) / "web-owner.json"
        self.web = web

    @property
    def has_password(self) -> bool:
        return bool(read_json(self.path))

    def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        salt = os.urandom(16)
        record = {"algorithm": "scrypt", **SCRYPT, "salt": _b64(salt), "hash": _b64(_scrypt(password, salt, **SCRYPT))}
        atomic_write_json(self.path, record, private=True)  # never readable by others, not even for a moment
        with self.web.connect() as db:  # a new password locks out every device that knew the old one
            db.execute("DELETE FROM sessions")

    def check_password(self, password: str) -> bool:
        record = read_json(self.path)
        if not record:
            return False
        expected = base64.b64decode(record["hash"])
        actual = _scrypt(password, base64.b64decode(record["salt"]), record["n"], record["r"], record["p"])
        return hmac.compare_digest(expected, actual)

    def start_session(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.web.connect() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (_token_hash(token), now, now + SESSION_SECONDS))
        return token

    def session_valid(self, token: str | None) -> bool:
        if not token or len(token) > 200:
            return False
        with self.web.connect() as db:
            row = db.execute("SELECT expires FROM sessions WHERE token_hash = ?", (_token_hash(token),)).fetchone()
        return bool(row) and row["expires"] > time.time()

    def end_session(self, token: str | None) -> None:
        if token:
            with self.web.connect() as db:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    # --- known devices: the owner's way past the global login cap --------------------------------

    def remember_device(self, token: str | None = None) -> str:
        """A device id for the cookie set at a successful login (the current one kept if still known).

        Only its SHA-256 is stored. It logs nobody in: it only lets this device's own failures be
        counted apart from everyone else's, so a guesser who trips the global cap does not lock out
        the owner's phone.
        """
        now = time.time()
        with self.web.connect() as db:
            db.execute("DELETE FROM devices WHERE expires < ?", (now,))
            if token and self.device_known(token):
                db.execute("UPDATE devices SET expires = ? WHERE token_hash = ?", (now + DEVICE_SECONDS, _token_hash(token)))
                return token
            token = secrets.token_urlsafe(32)
            db.execute("INSERT INTO devices VALUES (?, ?, ?)", (_token_hash(token), now, now + DEVICE_SECONDS))
        return token

    def device_known(self, token: str | None) -> bool:
        if not token or len(token) > 200:
            return False
        with self.web.connect() as db:
            row = db.execute("SELECT expires FROM devices WHERE token_hash = ?", (_token_hash(token),)).fetchone()
        return bool(row) and row["expires"] > time.time()

    def device_bucket(self, token: str | None) -> str | None:
        """The limiter's name for a known device (never the token itself), or None for a stranger."""
        return "device:" + _token_hash(token)[:32] if self.device_known(token) else None


class LoginLimiter:
    """Failed logins per client address, per known device and in total over a sliding window.

    The per-address limit stops one guesser; the global one bounds a guesser with many addresses.
    A device the owner logged in from before (its device cookie, see ``remember_device``) is counted
    on its own: the global cap does not apply to it, so such an attack does not lock the owner out,
    while the device still gets only ``per_client`` tries per window.
    """

    def __init__(self, per_client: int = 5, overall: int = 30, window_s: float = 900.0, clock=time.monotonic):
        self.per_client, self.overall, self.window_s, self.clock = per_client, overall, window_s, clock
        self._failures: dict[str, deque] = {}
        self._all: deque = deque()
        self._lock = threading.Lock()

    def _prune(self, times: deque, now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def retry_after(self, client: str, device: str | None = None) -> int:
        """Seconds until ``client`` (or the known ``device``) may try again; 0 when it may try now."""
        now = self.clock()
        with self._lock:
            mine = self._failures.get(device or client, deque())
            self._prune(mine, now)
            self._prune(self._all, now)
            waits = []
            if len(mine) >= self.per_client:
                waits.append(mine[0] + self.window_s - now)
            if device is None and len(self._all) >= self.overall:
                waits.append(self._all[0] + self.window_s - now)
            return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, client: str, device: str | None = None) -> None:
        now = self.clock()
        with self._lock:
            self._failures.setdefault(device or client, deque()).append(now)
            if device is None:
                self._all.append(now)

    def succeeded(self, client: str, device: str | None = None) -> None:
        with self._lock:
            self._failures.pop(device or client, None)
