"""Languages, the home-screen manifest and icons, thumbnails, and the viewer's page."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from restore_dagster.viewer.i18n import MESSAGES, pick_language
from restore_dagster.viewer.renditions import RenditionCache, make_rendition
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, upload
from restore_dagster_tests.viewer.test_albums import _publish_current


@pytest.mark.parametrize("header,cookie,expected", [
    ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh"),
    ("en-GB,en;q=0.9,zh;q=0.8", None, "en"),
    ("fr-FR,zh-TW;q=0.5,en;q=0.4", None, "zh"),
    ("de", None, "en"),
    ("", None, "en"),
    ("zh-Hans;q=0.1,en;q=0.1", None, "zh"),  # a tie goes to the first listed
    ("zh-CN", "en", "en"),
    ("en", "xx", "en"),
])
def test_language_from_the_browser_or_the_cookie(header, cookie, expected):
    assert pick_language(header, cookie) == expected


def test_every_message_has_both_languages():
    assert all(set(texts) == {"en", "zh"} and all(texts.values()) for texts in MESSAGES.values())


def test_pages_in_simplified_chinese(owner):
    album = create_album(owner, "家")
    upload(owner, album, jpeg_bytes())
    page = owner.get(album, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-Hans">' in page and "添加照片" in page and "等待中" in page
    owner.get("/lang/en", params={"next": album}, follow_redirects=False)
    assert '<html lang="en">' in owner.get(album, headers={"Accept-Language": "zh-CN"}).text
    switch = owner.get("/lang/zh", params={"next": "//evil.example"}, follow_redirects=False)
    assert switch.headers["location"] == "/"


def test_manifest_and_icons_make_it_installable(anon):
    page = anon.get("/login").text
    assert 'rel="manifest" href="/manifest.webmanifest"' in page and 'name="viewport"' in page
    manifest = anon.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["display"] == "standalone" and body["start_url"] == "/"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for size in (180, 192, 512):
        icon = Image.open(io.BytesIO(anon.get(f"/icons/icon-{size}.png").content))
        assert icon.format == "PNG" and icon.size == (size, size)
    assert anon.get("/icons/icon-64.png").status_code == 404
    assert "家庭相册" == anon.get("/manifest.webmanifest", headers={"Accept-Language": "zh"}).json()["name"]


def test_viewer_page_has_compare_zoom_downloads_and_the_ai_mark(owner, app, layout):
    album = create_album(owner, "Viewer")
    first = upload(owner, album, jpeg_bytes(value=1)).json()
    second = upload(owner, album, jpeg_bytes(value=2)).json()
    page = owner.get(first["url"]).text
    assert 'id="compare"' not in page and "not ready yet" in page  # nothing to compare with yet
    _publish_current(app, layout, album, first["url"])
    page = owner.get(first["url"]).text
    for fragment in ('id="compare"', 'data-mode="side"', 'id="after-image"', "/screen?v=", "/original?download=1",
                     "download=1", "AI-colourised", "DeOldify artistic", "render factor 35", 'rel="next"', "settings-form"):
        assert fragment in page, fragment
    assert second["url"] in page  # the next photo's link


def test_thumbnails_are_made_once_and_cached(owner, app):
    album = create_album(owner, "Thumbs")
    upload(owner, album, jpeg_bytes(size=(1200, 900), mode="RGB"))
    photo = owner.get("/api" + album + "/photos").json()[0]
    first = owner.get(photo["thumb"])
    assert first.status_code == 200 and "immutable" in first.headers["cache-control"]
    thumb = Image.open(io.BytesIO(first.content))
    assert max(thumb.size) == 360 and thumb.size == (360, 270)
    cached = list(app.state.services.renditions.folder.rglob("*.jpg"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert owner.get(photo["thumb"]).content == first.content and cached[0].stat().st_mtime_ns == stamp
    screen = Image.open(io.BytesIO(owner.get(photo["url"] + "/screen").content))
    assert screen.size == (1200, 900)  # never upscaled


def test_renditions_are_upright_and_handle_sixteen_bit(tmp_path):
    pixels = np.zeros((40, 80), np.uint8)
    pixels[:, :40] = 255
    image = Image.fromarray(pixels, "L")
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90°
    image.save(tmp_path / "sideways.jpg", exif=exif)
    shown = Image.open(io.BytesIO(make_rendition(tmp_path / "sideways.jpg", 360)))
    assert shown.size == (40, 80)
    Image.fromarray((np.arange(64 * 32).reshape(32, 64) * 30).astype(np.uint16)).save(tmp_path / "deep.png")
    deep = Image.open(io.BytesIO(make_rendition(tmp_path / "deep.png", 360)))
    assert deep.size == (64, 32) and deep.mode == "RGB"


def test_a_broken_file_gets_a_placeholder_not_a_server_error(owner, layout):
    album = create_album(owner, "Broken")
    (layout.gallery / album.rsplit("/", 1)[-1] / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    photo = owner.get("/api" + album + "/photos").json()[0]
    response = owner.get(photo["thumb"])
    assert response.status_code == 422 and response.headers["content-type"].startswith("image/svg+xml")
    assert owner.get(photo["url"]).status_code == 200


def test_rendition_cache_key_follows_the_file(tmp_path):
    cache = RenditionCache(tmp_path / "cache")
    source = tmp_path / "a.jpg"
    source.write_bytes(jpeg_bytes(value=10))
    first = cache.get(source, "thumb")
    source.write_bytes(jpeg_bytes(size=(64, 50), value=200))  # replaced original: a new copy
    assert cache.get(source, "thumb") != first
