"""Limits answered with the right status and in the configured unit: pixels (422 placeholder), bytes (413, MiB)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from restore_dagster.viewer.app import create_app
from restore_dagster.viewer.uploads import size_limit_text
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD, create_album, csrf_of, share_token, upload
from restore_dagster_tests.viewer.test_uploads import png_bomb


@pytest.mark.parametrize("size", [(30000, 30000), (12000, 11000)])  # over Pillow's refusal; over our own limit only
def test_renditions_of_an_original_over_the_pixel_limit_answer_the_placeholder(app, owner, layout, size):
    album = create_album(owner, "Big")
    token = share_token(owner, album)
    (layout.gallery / album.rsplit("/", 1)[-1] / "huge.png").write_bytes(png_bomb(*size))  # copied in by hand
    for client, base in ((owner, album), (TestClient(app, raise_server_exceptions=False), f"/s/{token}")):
        for kind in ("thumb", "screen"):
            response = client.get(f"{base}/photos/huge.png/{kind}")
            assert response.status_code == 422, (base, kind, response.status_code)
            assert response.headers["content-type"].startswith("image/svg+xml")


def _chunked(body: bytes, size: int = 65536):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_chunked_upload_over_the_cap_is_413_not_400(app, owner, layout):
    album = create_album(owner, "Chunked")
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode() + b"\xff\xd8" + b"\0" * 4_000_000 + f"\r\n--{boundary}--\r\n".encode()
    response = owner.post(album + "/photos", content=_chunked(body), headers={
        "X-CSRF-Token": csrf_of(owner), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text
    assert "1.91 MiB" in response.json()["detail"]
    assert [p.name for p in (layout.gallery / album.rsplit("/", 1)[-1]).iterdir()] == []


def test_the_413_message_states_the_configured_limit_in_mib(layout, monkeypatch):
    monkeypatch.setenv("RESTORE_WEB_MAX_UPLOAD_MB", "1")
    app = create_app(layout, busy_keys=lambda: set())
    assert app.state.services.max_upload_bytes == 1 << 20
    app.state.services.accounts.set_password(OWNER_PASSWORD)
    client = TestClient(app)
    client.post("/login", data={"password": OWNER_PASSWORD, "csrf_token": csrf_of(client)})
    album = create_album(client, "Limit")
    just_over = upload(client, album, b"\xff\xd8" + b"\0" * (1 << 20), name="over.jpg")  # within the body cap
    assert just_over.status_code == 413 and "limit of 1 MiB per file" in just_over.json()["detail"], just_over.text
    far_over = upload(client, album, b"\xff\xd8" + b"\0" * (3 << 20), name="far.jpg")  # refused by its length
    assert far_over.status_code == 413 and "limit of 1 MiB per file" in far_over.json()["detail"]
    assert size_limit_text(64 << 20) == "64 MiB" and size_limit_text(1024 << 20) == "1024 MiB"
