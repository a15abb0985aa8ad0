"""Web gallery fixtures: an app over a temporary storage root, an anonymous and an owner client."""
from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from restore_dagster.viewer.app import create_app

OWNER_PASSWORD = "correct horse battery"


def jpeg_bytes(size=(64, 48), value=120, mode="L") -> bytes:
    """A small JPEG; different ``value``s give different content (and so no duplicate)."""
    buffer = io.BytesIO()
    Image.new(mode, size, value).save(buffer, "JPEG")
    return buffer.getvalue()


class Busy:
    """Stands in for the Dagster instance's running runs: the keys a test says are being processed."""

    def __init__(self):
        self.keys: set[str] = set()

    def __call__(self) -> set[str]:
        return set(self.keys)


@pytest.fixture
def busy() -> Busy:
    return Busy()


@pytest.fixture
def app(layout, busy):
    application = create_app(layout, busy_keys=busy, max_upload_bytes=2_000_000)
    application.state.services.accounts.set_password(OWNER_PASSWORD)
    return application


def csrf_of(client: TestClient) -> str:
    """The client's CSRF token, fetched with a first page view when it has none yet."""
    token = client.cookies.get("restore_csrf")
    if not token:
        client.get("/login")
        token = client.cookies.get("restore_csrf")
    return token


@pytest.fixture
def anon(app) -> TestClient:
    return TestClient(app)


@pytest.fixture
def owner(app) -> TestClient:
    client = TestClient(app)
    response = client.post("/login", data={"password": OWNER_PASSWORD, "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def create_album(client: TestClient, title: str) -> str:
    """Create an album as the owner; returns its page path (``/albums/<folder>``)."""
    response = client.post("/albums", data={"title": title, "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def upload(client: TestClient, album_path: str, data: bytes, name: str = "scan.jpg", content_type: str = "image/jpeg"):
    return client.post(album_path + "/photos", files={"file": (name, data, content_type)}, headers={"X-CSRF-Token": csrf_of(client)})


def share_token(client: TestClient, album_path: str) -> str:
    client.post(album_path + "/share", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    match = re.search(r"/s/([A-Za-z0-9_-]{20,})", client.get(album_path).text)
    assert match, "the album page shows no share link"
    return match.group(1)
