"""Share links: a visitor sees one album, can view and download, and nothing else."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from restore_dagster_tests.viewer.conftest import create_album, csrf_of, jpeg_bytes, share_token, upload


@pytest.fixture
def shared(owner):
    album = create_album(owner, "Shared")
    photo = upload(owner, album, jpeg_bytes(value=30)).json()
    other = create_album(owner, "Private")
    private = upload(owner, other, jpeg_bytes(value=31)).json()
    return {"album": album, "photo": photo, "other": other, "private": private, "token": share_token(owner, album)}


def test_visitor_sees_the_album_read_only(app, shared):
    visitor = TestClient(app)
    token, name = shared["token"], shared["photo"]["url"].rsplit("/", 1)[-1]
    page = visitor.get(f"/s/{token}")
    assert page.status_code == 200 and "Shared" in page.text and name in page.text
    assert "upload-input" not in page.text and "/delete" not in page.text and "/rename" not in page.text
    viewer = visitor.get(f"/s/{token}/photos/{name}")
    assert viewer.status_code == 200
    assert "settings-form" not in viewer.text and "/delete" not in viewer.text
    download = visitor.get(f"/s/{token}/photos/{name}/original", params={"download": 1})
    assert download.status_code == 200 and download.content == jpeg_bytes(value=30)
    assert "attachment" in download.headers["content-disposition"]
    assert visitor.get(f"/s/{token}/photos/{name}/thumb").headers["content-type"] == "image/jpeg"
    assert visitor.get(f"/s/{token}/api/photos").json()[0]["filename"] == name


def test_visitor_outside_its_album_gets_404(app, shared):
    visitor = TestClient(app)
    token = shared["token"]
    private = shared["private"]["url"].rsplit("/", 1)[-1]
    other_folder = shared["other"].rsplit("/", 1)[-1]
    for path in (
        f"/s/{token}/photos/{private}", f"/s/{token}/photos/{private}/original", f"/s/{token}/api/photos/{private}",
        f"/s/{token}/photos/..%2F{other_folder}%2F{private}", f"/s/{token}/photos/{private}/thumb",
        "/s/" + "x" * 43, "/s/" + token[:-1] + ("A" if token[-1] != "A" else "B"),
    ):
        assert visitor.get(path, headers={"Accept": "application/json"}).status_code == 404, path


def test_visitor_cannot_reach_owner_pages_or_change_anything(app, shared):
    visitor = TestClient(app)
    visitor.get(f"/s/{shared['token']}")
    assert visitor.get(shared["album"], headers={"Accept": "application/json"}).status_code == 401
    assert visitor.get("/api/albums").status_code == 401
    assert visitor.post(shared["album"] + "/delete", data={"csrf_token": csrf_of(visitor)}).status_code == 401
    assert visitor.post(f"/s/{shared['token']}/photos", files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")}).status_code in (404, 405)
    page = visitor.get(f"/s/{shared['token']}/photos/{shared['photo']['url'].rsplit('/', 1)[-1]}", headers={"Accept": "text/html"})
    assert "logout" not in page.text.lower()


def test_revoked_and_replaced_links_stop_working(app, owner, shared):
    visitor = TestClient(app)
    old = shared["token"]
    new = share_token(owner, shared["album"])  # "new link" replaces the old one
    assert new != old
    assert visitor.get(f"/s/{old}").status_code == 404 and visitor.get(f"/s/{new}").status_code == 200
    owner.post(shared["album"] + "/share/revoke", data={"csrf_token": csrf_of(owner)})
    assert visitor.get(f"/s/{new}").status_code == 404


def test_deleting_the_album_ends_its_link(app, owner, shared):
    owner.post(shared["album"] + "/delete", data={"csrf_token": csrf_of(owner)})
    assert TestClient(app).get(f"/s/{shared['token']}").status_code == 404
