"""Secrets at rest: owner-only state files, share tokens stored only as hashes (sealed for copy-again)."""
from __future__ import annotations

import sqlite3
import stat

from fastapi.testclient import TestClient

from restore_dagster.viewer.app import create_app
from restore_dagster.viewer.shares import Shares, token_hash
from restore_dagster.viewer.webstate import WebState
from restore_dagster_tests.viewer.conftest import create_album, share_token


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_files_holding_secrets_are_owner_only(app, owner, layout):
    album = create_album(owner, "Private")
    share_token(owner, album)
    for name in ("web.sqlite3", "web-owner.json", "web-share-key"):
        assert _mode(layout.state / name) == 0o600, name
    with sqlite3.connect(layout.state / "web.sqlite3") as db:  # SQLite's companions take the database's mode
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO albums VALUES ('x', 'x', 0)")
        for suffix in ("-wal", "-shm"):
            assert _mode(layout.state / f"web.sqlite3{suffix}") == 0o600, suffix


def test_a_world_readable_database_from_before_is_made_owner_only(tmp_path):
    path = tmp_path / "web.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    WebState(path)
    assert _mode(path) == 0o600


def test_share_tokens_are_stored_hashed_and_the_owner_can_still_copy_the_link(app, owner, layout):
    album = create_album(owner, "Shared")
    token = share_token(owner, album)
    raw = (layout.state / "web.sqlite3").read_bytes()
    assert token.encode() not in raw and token_hash(token).encode() in raw
    assert f"/s/{token}" in owner.get(album).text  # copy-again: the same link, shown again
    assert TestClient(app).get(f"/s/{token}").status_code == 200
    # A new server over the same files (a restart) still knows the link.
    again = create_app(layout, busy_keys=lambda: set())
    assert again.state.services.shares.token_for(album.rsplit("/", 1)[-1]) == token
    # The database alone gives nothing: without the key file the link cannot be shown, so it is revoked.
    (layout.state / "web-share-key").unlink()
    fresh = Shares(WebState(layout.state / "web.sqlite3"))
    assert fresh.token_for(album.rsplit("/", 1)[-1]) is None and fresh.album_for(token) is None


def test_clear_text_tokens_from_before_are_migrated_and_keep_working(tmp_path):
    path = tmp_path / "web.sqlite3"
    old = "A" * 20 + "legacy_token-0123456789"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE shares (album TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE, created REAL NOT NULL)")
        db.execute("INSERT INTO shares VALUES ('family', ?, 1.0)", (old,))
    db.close()
    shares = Shares(WebState(path))
    assert shares.album_for(old) == "family" and shares.token_for("family") == old
    assert old.encode() not in path.read_bytes()  # the clear text is gone from the file, not just unlinked
    assert Shares(WebState(path)).album_for(old) == "family"  # a second start migrates nothing twice


def test_the_password_hash_is_owner_only_from_its_first_byte(layout, monkeypatch):
    """The temp file the hash is written to is 0600 before the hash is in it (no chmod afterwards)."""
    import os

    from restore_dagster.viewer.accounts import OwnerAccount

    modes = []
    real_fdopen = os.fdopen

    def watching_fdopen(fd, *args, **kwargs):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", watching_fdopen)
    OwnerAccount(layout.state, WebState(layout.state / "web.sqlite3")).set_password("a long enough password")
    assert modes and set(modes) == {0o600}
    assert _mode(layout.state / "web-owner.json") == 0o600
