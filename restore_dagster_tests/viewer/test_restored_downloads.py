"""The web gallery shows a WebP or AVIF restoration and downloads its JPEG; trash moves both."""

from __future__ import annotations

import io

from PIL import Image

from .conftest import create_album, csrf_of, jpeg_bytes, upload


def encoded(fmt: str, size=(128, 96)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, fmt)
    return out.getvalue()


def publish(app, owner, fmt: str):
    album = create_album(owner, "Family")
    photo = upload(owner, album, jpeg_bytes()).json()
    folder, filename = album.rsplit("/", 1)[-1], photo["url"].rsplit("/", 1)[-1]
    app.state.services.library.gallery.publish(f"{folder}/{filename}", encoded(fmt), fmt.lower(), download=encoded("JPEG"))
    return photo["url"], folder


def test_the_webp_is_shown_and_the_jpeg_downloaded(app, owner):
    url, _ = publish(app, owner, "WEBP")

    shown = owner.get(url + "/restored")
    downloaded = owner.get(url + "/restored", params={"download": 1})

    assert shown.status_code == 200 and shown.headers["content-type"] == "image/webp"
    assert downloaded.status_code == 200 and downloaded.headers["content-type"] == "image/jpeg"
    assert downloaded.content.startswith(b"\xff\xd8")
    assert downloaded.headers["content-disposition"].endswith("%28restored%29.jpg")


def test_an_avif_is_served_as_avif_and_its_thumbnail_made(app, owner):
    url, _ = publish(app, owner, "AVIF")

    shown = owner.get(url + "/restored")
    thumb = owner.get(url + "/restored-thumb")

    assert shown.headers["content-type"] == "image/avif"
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert owner.get(url + "/restored", params={"download": 1}).headers["content-type"] == "image/jpeg"


def test_trash_takes_the_download_along_and_restore_puts_it_back(app, owner, layout):
    url, folder = publish(app, owner, "WEBP")
    restored = layout.gallery / folder / "restored"
    before = sorted(p.name for p in restored.iterdir())
    assert len(before) == 2

    owner.post(url + "/delete", data={"csrf_token": csrf_of(owner)})
    assert list(restored.iterdir()) == []
    item = owner.get("/trash").text.split("/trash/")[1].split("/restore")[0]
    owner.post(f"/trash/{item}/restore", data={"csrf_token": csrf_of(owner)})

    assert sorted(p.name for p in restored.iterdir()) == before
