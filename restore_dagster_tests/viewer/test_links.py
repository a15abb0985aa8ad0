"""The web gallery never serves, lists, shares or writes through a symbolic link."""
from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from restore_dagster_tests.viewer.conftest import create_album, csrf_of, jpeg_bytes, share_token, upload

KINDS = ("original", "thumb", "screen", "restored", "restored-thumb")


@pytest.fixture
def shared(owner, layout):
    album = create_album(owner, "Shared")
    photo = upload(owner, album, jpeg_bytes(value=30)).json()
    return {"album": album, "folder": album.rsplit("/", 1)[-1], "photo": photo["url"].rsplit("/", 1)[-1],
            "token": share_token(owner, album)}


def _secrets(layout, tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    return {"p.jpg": passwd, "owner.jpg": layout.state / "web-owner.json"}


def test_share_visitor_never_reads_a_linked_file(app, layout, shared, tmp_path):
    folder = layout.gallery / shared["folder"]
    for name, target in _secrets(layout, tmp_path).items():
        (folder / name).symlink_to(target)
    os.makedirs(folder / "restored", exist_ok=True)
    (folder / "restored" / "p.jpg.restored.jpg").symlink_to(tmp_path / "passwd")
    visitor = TestClient(app)
    token = shared["token"]
    listed = [p["filename"] for p in visitor.get(f"/s/{token}/api/photos").json()]
    assert listed == [shared["photo"]]
    for name in ("p.jpg", "owner.jpg"):
        for kind in KINDS:
            response = visitor.get(f"/s/{token}/photos/{name}/{kind}", headers={"Accept": "application/json"})
            assert response.status_code == 404, (name, kind, response.status_code)
            assert b"root:x" not in response.content and b"scrypt" not in response.content
        assert visitor.get(f"/s/{token}/photos/{name}", headers={"Accept": "application/json"}).status_code == 404


def test_a_photo_swapped_for_a_link_after_listing_is_404_for_everyone(app, owner, layout, shared, tmp_path):
    path = layout.gallery / shared["folder"] / shared["photo"]
    visitor = TestClient(app)
    assert visitor.get(f"/s/{shared['token']}/photos/{shared['photo']}/original").status_code == 200
    path.unlink()
    path.symlink_to(layout.state / "web-owner.json")
    for client, base in ((visitor, f"/s/{shared['token']}"), (owner, shared["album"])):
        for kind in KINDS:
            response = client.get(f"{base}/photos/{shared['photo']}/{kind}", headers={"Accept": "application/json"})
            assert response.status_code == 404 and b"scrypt" not in response.content, (base, kind)


def test_a_linked_album_folder_is_not_listed_shared_or_written_into(app, owner, layout, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(jpeg_bytes(value=40))
    (layout.gallery / "linked").symlink_to(outside)
    assert "linked" not in [a["folder"] for a in owner.get("/api/albums").json()]
    json = {"Accept": "application/json"}
    assert owner.get("/albums/linked", headers=json).status_code == 404
    assert owner.get("/albums/linked/photos/x.jpg/original", headers=json).status_code == 404
    share = owner.post("/albums/linked/share", data={"csrf_token": csrf_of(owner)}, headers=json, follow_redirects=False)
    assert share.status_code == 404
    assert upload(owner, "/albums/linked", jpeg_bytes(value=41)).status_code == 404
    assert sorted(p.name for p in outside.iterdir()) == ["x.jpg"]  # nothing written outside the gallery


def test_a_shared_album_swapped_for_a_link_stops_working(app, owner, layout, shared, tmp_path):
    folder = layout.gallery / shared["folder"]
    moved = tmp_path / "moved"
    os.rename(folder, moved)
    folder.symlink_to(moved)
    visitor = TestClient(app)
    assert visitor.get(f"/s/{shared['token']}", headers={"Accept": "application/json"}).status_code == 404
    assert visitor.get(f"/s/{shared['token']}/photos/{shared['photo']}/original").status_code == 404
    assert upload(owner, shared["album"], jpeg_bytes(value=42)).status_code == 404
    assert sorted(p.name for p in moved.iterdir()) == [shared["photo"]]


def test_album_titles_never_make_a_reserved_or_hidden_folder(owner, layout):
    for title in ("Restored", "restored", ".hidden", "../escape", "a/b"):
        path = create_album(owner, title)
        folder = path.rsplit("/", 1)[-1]
        assert folder not in ("restored", ".hidden", "..", "escape/..") and not folder.startswith(".")
        assert (layout.gallery / folder).is_dir() and (layout.gallery / folder).parent == layout.gallery
        assert title in owner.get(path).text  # the title as typed, kept apart from the folder
    assert not (layout.gallery / "restored").exists() and not (layout.root / "escape").exists()


def test_restoring_from_the_trash_never_moves_files_through_a_link(app, owner, layout, shared, tmp_path):
    folder = layout.gallery / shared["folder"]
    (folder / "restored").mkdir(exist_ok=True)
    (folder / "restored" / (shared["photo"] + ".restored.jpg")).write_bytes(jpeg_bytes(value=60))
    owner.post(f"{shared['album']}/photos/{shared['photo']}/delete", data={"csrf_token": csrf_of(owner)})
    item = app.state.services.library.trash_items()[0].id
    (folder / "restored").rmdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (folder / "restored").symlink_to(target)
    response = owner.post(f"/trash/{item}/restore", data={"csrf_token": csrf_of(owner)},
                          headers={"Accept": "application/json"}, follow_redirects=False)
    assert response.status_code == 409 and "symbolic link" in response.json()["detail"]
    assert list(target.iterdir()) == [] and not (folder / shared["photo"]).exists()
    assert app.state.services.library.trash_items()[0].id == item  # still in the trash, nothing lost
