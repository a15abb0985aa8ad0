"""Albums and photos as the owner sees them: list, search, create, rename, delete to trash, restore."""
from __future__ import annotations

import os

import pytest

from restore_dagster.gallery import FolderGallery
from restore_dagster_tests.viewer.conftest import create_album, csrf_of, jpeg_bytes, upload


def _folder(album_path: str) -> str:
    return album_path.rsplit("/", 1)[-1]


def test_album_list_shows_cover_title_count_and_restored(owner, app, layout):
    album = create_album(owner, "Grandma's <b>wedding</b>")
    first = upload(owner, album, jpeg_bytes(value=10)).json()
    upload(owner, album, jpeg_bytes(value=200))
    # The pipeline published a restoration of the first photo with the fingerprints it wants.
    _publish_current(app, layout, album, first["url"])
    listing = owner.get("/api/albums").json()
    assert [(a["title"], a["photo_count"]) for a in listing] == [("Grandma's <b>wedding</b>", 2)]
    html = owner.get("/").text
    assert "Grandma&#39;s &lt;b&gt;wedding&lt;/b&gt;" in html and "<b>wedding</b>" not in html
    assert "2 photos · 1 restored" in html
    assert "/restored-thumb?v=" in html  # the cover is the restored picture


def _publish_current(app, layout, album_path, photo_url):
    """Register the gallery like the sensor does and record a current published restoration."""
    from restore_dagster.lineage import fingerprints, weights_signatures, write_record
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    store = RegistryStore(layout.state)
    plan = plan_sync(FolderGallery(layout.gallery), layout, store.load(), SettingsStore(layout.state))
    store.save(plan.registry)
    source = f"{_folder(album_path)}/{photo_url.rsplit('/', 1)[-1]}"
    key = plan.registry.key_for(source)
    entry = plan.registry.photos[key]
    wanted = fingerprints(entry.signature, SettingsStore(layout.state).get(key), {}, weights_signatures(layout))
    location = app.state.services.library.gallery.publish(source, jpeg_bytes(size=(128, 96), value=90, mode="RGB"), "jpg")
    write_record(layout, "colorized", key, wanted["colorized"], None, {"colorized": True, "model": "DeOldify artistic", "render_factor": 35})
    write_record(layout, "upscaled", key, wanted["upscaled"], None, {"noise_level": 1})
    write_record(layout, "published", key, wanted["published"], None, {"location": location, "width": 128, "height": 96, "format": "JPEG", "bytes": 1000})
    return key


def test_search_by_title_is_case_insensitive_and_unicode(owner):
    create_album(owner, "Summer 1975")
    create_album(owner, "祖父母的婚礼")
    titles = lambda q: [a["title"] for a in owner.get("/api/albums", params={"q": q}).json()]  # noqa: E731
    assert titles("SUMMER") == ["Summer 1975"]
    assert titles("婚礼") == ["祖父母的婚礼"]
    assert titles("nothing") == []
    assert "No album matches" in owner.get("/", params={"q": "nothing"}).text


def test_create_makes_a_server_named_folder_and_rejects_empty_titles(owner, layout):
    album = create_album(owner, "../../etc")
    assert _folder(album) == "etc" and (layout.gallery / "etc").is_dir()
    chinese = create_album(owner, "老照片")
    assert (layout.gallery / _folder(chinese)).is_dir() and _folder(chinese).isascii()
    assert create_album(owner, "etc") != album  # same slug: a new folder, never a merge
    for bad in ("", "   ", "x" * 121):
        response = owner.post("/albums", data={"title": bad, "csrf_token": csrf_of(owner)}, follow_redirects=False)
        assert response.status_code == 422


def test_rename_changes_the_title_only(owner, layout):
    album = create_album(owner, "Old title")
    upload(owner, album, jpeg_bytes())
    before = sorted(os.listdir(layout.gallery / _folder(album)))
    response = owner.post(album + "/rename", data={"title": "New title", "csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == album
    assert owner.get("/api/albums").json()[0]["title"] == "New title"
    assert sorted(os.listdir(layout.gallery / _folder(album))) == before  # no path changed: nothing re-runs


def test_photo_rename_and_titles_escaped(owner):
    album = create_album(owner, "A")
    photo = upload(owner, album, jpeg_bytes(), name="<img src=x onerror=alert(1)>.jpg").json()
    assert "<img src=x" not in owner.get(album).text
    response = owner.post(photo["url"] + "/rename", data={"title": "Aunt <Mary>", "csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert response.status_code == 303
    page = owner.get(photo["url"]).text
    assert "Aunt &lt;Mary&gt;" in page and "Aunt <Mary>" not in page


def test_delete_album_moves_it_to_the_trash_and_restore_brings_everything_back(owner, layout):
    album = create_album(owner, "Keep me")
    photo = upload(owner, album, jpeg_bytes()).json()
    owner.post(photo["url"] + "/rename", data={"title": "Named", "csrf_token": csrf_of(owner)})
    original = layout.gallery / _folder(album) / photo["url"].rsplit("/", 1)[-1]
    mtime = original.stat().st_mtime_ns
    assert owner.post(album + "/delete", data={"csrf_token": csrf_of(owner)}, follow_redirects=False).status_code == 303
    assert owner.get("/api/albums").json() == []
    assert owner.get(album, headers={"Accept": "application/json"}).status_code == 404
    assert FolderGallery(layout.gallery).list_uploads() == []  # the sensor sees it gone, not a new album
    trash = owner.get("/trash").text
    assert "Keep me" in trash
    item = trash.split("/trash/")[1].split("/restore")[0]
    response = owner.post(f"/trash/{item}/restore", data={"csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == album
    assert original.stat().st_mtime_ns == mtime  # same signature: its finished restoration still counts
    assert owner.get("/api/albums").json()[0]["title"] == "Keep me"
    assert owner.get("/api" + album + "/photos").json()[0]["title"] == "Named"
    assert "Keep me" not in owner.get("/trash").text


def test_delete_photo_takes_its_restoration_along_and_restore_puts_both_back(owner, app, layout):
    album = create_album(owner, "Family")
    photo = upload(owner, album, jpeg_bytes()).json()
    _publish_current(app, layout, album, photo["url"])
    restored_dir = layout.gallery / _folder(album) / "restored"
    assert len(list(restored_dir.iterdir())) == 1
    owner.post(photo["url"] + "/delete", data={"csrf_token": csrf_of(owner)})
    assert owner.get("/api" + album + "/photos").json() == []
    assert list(restored_dir.iterdir()) == []
    item = owner.get("/trash").text.split("/trash/")[1].split("/restore")[0]
    owner.post(f"/trash/{item}/restore", data={"csrf_token": csrf_of(owner)})
    photos = owner.get("/api" + album + "/photos").json()
    assert len(photos) == 1 and photos[0]["state"] == "restored" and len(list(restored_dir.iterdir())) == 1


def test_restoring_a_photo_whose_album_is_gone_says_so(owner):
    album = create_album(owner, "Gone")
    photo = upload(owner, album, jpeg_bytes()).json()
    owner.post(photo["url"] + "/delete", data={"csrf_token": csrf_of(owner)})
    owner.post(album + "/delete", data={"csrf_token": csrf_of(owner)})
    page = owner.get("/trash").text
    photo_item = [chunk.split("/restore")[0] for chunk in page.split("/trash/")[1:]][-1]
    response = owner.post(f"/trash/{photo_item}/restore", data={"csrf_token": csrf_of(owner)}, headers={"Accept": "application/json"})
    assert response.status_code == 404 and "restore the album first" in response.json()["detail"]


@pytest.mark.parametrize("path", [
    # (a literal "/.." is normalised away by the client itself; encoded forms reach the server)
    "/albums/.trash", "/albums/..%2F..%2Fetc", "/albums/%2e%2e", "/api/albums/%2e%2e/photos",
    "/albums/{album}/photos/..%2F..%2Fstate%2Fweb-owner.json", "/albums/{album}/photos/.hidden.jpg",
    "/albums/{album}/photos/{photo}/..%2F..%2Fweb-owner.json", "/albums/{album}/photos/{photo}/secret",
    "/albums/{album}/photos/restored", "/trash/..%2F..%2Fx/restore",
])
def test_path_traversal_is_400_or_404(owner, path):
    album = create_album(owner, "Safe")
    photo = upload(owner, album, jpeg_bytes()).json()["url"].rsplit("/", 1)[-1]
    url = path.replace("{album}", _folder(album)).replace("{photo}", photo)
    method = owner.post if url.endswith("/restore") else owner.get
    kwargs = {"data": {"csrf_token": csrf_of(owner)}} if method == owner.post else {}
    response = method(url, headers={"Accept": "application/json"}, follow_redirects=False, **kwargs)
    assert response.status_code in (400, 404, 405), (url, response.status_code)
    assert "scrypt" not in response.text


def test_albums_made_by_hand_with_unicode_names_work(owner, layout):
    folder = layout.gallery / "老照片 1962 #1?"
    folder.mkdir()
    (folder / "婚礼 [1].jpg").write_bytes(jpeg_bytes(value=33))
    album = owner.get("/api/albums").json()[0]
    assert album["title"] == "老照片 1962 #1?" and album["photo_count"] == 1
    assert owner.get(album["url"]).status_code == 200
    photo = owner.get("/api" + album["url"] + "/photos").json()[0]
    assert photo["title"] == "婚礼 [1]"
    assert owner.get(photo["url"]).status_code == 200
    assert owner.get(photo["thumb"]).headers["content-type"] == "image/jpeg"
    download = owner.get(photo["url"] + "/original", params={"download": 1})
    assert download.content == jpeg_bytes(value=33) and "utf-8''" in download.headers["content-disposition"]
