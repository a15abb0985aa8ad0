"""The owner account: hashed password, sessions, CSRF on every change, login rate limit, headers."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from restore_dagster.viewer.accounts import LoginLimiter
from restore_dagster.viewer.app import safe_next
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD, create_album, csrf_of, jpeg_bytes, upload

# Every change the owner can make, as (method, path template); {album} and {photo} are filled in.
CHANGES = [
    ("/albums", {"title": "x"}),
    ("{album}/rename", {"title": "y"}),
    ("{album}/delete", {}),
    ("{album}/share", {}),
    ("{album}/share/revoke", {}),
    ("{photo}/rename", {"title": "z"}),
    ("{photo}/delete", {}),
    ("{photo}/settings", {"render_factor": "20", "model": "stable", "noise_level": "2", "colorize": "on"}),
    ("{photo}/retry", {}),
    ("/trash/20260101-000000-abcd/restore", {}),
]


@pytest.fixture
def seeded(owner):
    album = create_album(owner, "Seeded")
    added = upload(owner, album, jpeg_bytes()).json()
    return album, added["url"]


def _fill(path: str, album: str, photo: str) -> str:
    return path.replace("{album}", album).replace("{photo}", photo)


def test_password_is_stored_as_a_scrypt_hash(app, layout):
    stored = (layout.state / "web-owner.json").read_text()
    assert OWNER_PASSWORD not in stored
    assert json.loads(stored)["algorithm"] == "scrypt"
    assert (layout.state / "web-owner.json").stat().st_mode & 0o077 == 0
    accounts = app.state.services.accounts
    assert accounts.check_password(OWNER_PASSWORD) and not accounts.check_password(OWNER_PASSWORD + "x")
    with pytest.raises(ValueError, match="at least"):
        accounts.set_password("short")


@pytest.mark.parametrize("path,data", CHANGES)
def test_anonymous_changes_are_refused_with_401(app, seeded, path, data):
    album, photo = seeded
    stranger = TestClient(app)
    response = stranger.post(_fill(path, album, photo), data={**data, "csrf_token": csrf_of(stranger)}, follow_redirects=False)
    assert response.status_code == 401


def test_anonymous_upload_is_refused_and_stores_nothing(app, seeded, layout):
    album, _ = seeded
    stranger = TestClient(app)
    response = upload(stranger, album, jpeg_bytes(value=7))
    assert response.status_code == 401
    assert len(list((layout.gallery / album.rsplit("/", 1)[-1]).glob("*.jpg"))) == 1


@pytest.mark.parametrize("path,data", CHANGES)
def test_changes_without_the_csrf_token_are_refused_with_403(owner, seeded, path, data):
    album, photo = seeded
    response = owner.post(_fill(path, album, photo), data=data, follow_redirects=False)
    assert response.status_code == 403
    wrong = owner.post(_fill(path, album, photo), data={**data, "csrf_token": "A" * 43}, follow_redirects=False)
    assert wrong.status_code == 403


def test_cross_site_origin_is_refused_even_with_the_token(owner, seeded):
    album, _ = seeded
    response = owner.post(album + "/rename", data={"title": "evil", "csrf_token": csrf_of(owner)},
                          headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
    same = owner.post(album + "/rename", data={"title": "fine", "csrf_token": csrf_of(owner)},
                      headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303


def test_login_needs_the_csrf_token(app):
    client = TestClient(app)
    client.get("/login")
    assert client.post("/login", data={"password": OWNER_PASSWORD}).status_code == 403


def test_pages_redirect_to_login_and_api_answers_401(anon):
    page = anon.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    assert anon.get("/api/albums").status_code == 401
    assert anon.get("/trash", headers={"Accept": "application/json"}).status_code == 401


def test_login_sets_a_protected_session_and_logout_ends_it(app):
    client = TestClient(app)
    response = client.post("/login", data={"password": OWNER_PASSWORD, "csrf_token": csrf_of(client), "next": "/trash"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/trash"
    cookie = response.headers["set-cookie"].lower()
    assert "restore_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    token = client.cookies.get("restore_session")
    assert client.get("/api/albums").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={"restore_session": token})
    assert replay.get("/api/albums").status_code == 401


def test_csrf_cookie_is_httponly_and_strict(anon):
    cookie = anon.get("/login").headers["set-cookie"].lower()
    assert "restore_csrf=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_changing_the_password_ends_every_session(app, owner):
    assert owner.get("/api/albums").status_code == 200
    app.state.services.accounts.set_password("a new password")
    assert owner.get("/api/albums").status_code == 401


def test_wrong_password_is_401_and_repeated_failures_are_rate_limited(app):
    client = TestClient(app)
    token = csrf_of(client)
    for _ in range(5):
        assert client.post("/login", data={"password": "guess", "csrf_token": token}).status_code == 401
    limited = client.post("/login", data={"password": OWNER_PASSWORD, "csrf_token": token})
    assert limited.status_code == 429  # even the right password waits: the guesser cannot tell
    assert int(limited.headers["retry-after"]) > 0


def test_limiter_window_per_client_and_overall():
    now = [0.0]
    limiter = LoginLimiter(per_client=2, overall=3, window_s=60, clock=lambda: now[0])
    limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert limiter.retry_after("a") > 0 and limiter.retry_after("b") == 0
    limiter.failed("b")
    assert limiter.retry_after("c") > 0  # three failures in total: everyone waits
    now[0] = 61
    assert limiter.retry_after("a") == limiter.retry_after("c") == 0
    limiter.failed("a")
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


@pytest.mark.parametrize("target,expected", [
    ("/albums/x", "/albums/x"), ("//evil.example/", "/"), ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/"),
])
def test_login_only_returns_to_pages_of_this_site(target, expected):
    assert safe_next(target) == expected


def test_security_headers_on_every_page(anon):
    headers = anon.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_no_inline_scripts_or_styles_in_pages(owner, seeded):
    album, photo = seeded
    for path in ("/", album, photo, "/trash", "/login"):
        html = owner.get(path).text
        assert "<script>" not in html and " style=" not in html and "onclick" not in html, path
