"""Uploads: server-made names, type by decoding, size and pixel limits, duplicates, nothing left behind."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from restore_dagster.viewer.uploads import UploadRefused, stage_upload
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, upload


def _album_dir(layout, album_path):
    return layout.gallery / album_path.rsplit("/", 1)[-1]


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def png_bomb(width=30000, height=30000) -> bytes:
    """A valid PNG header claiming 900 megapixels, with one tiny compressed row: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b"")


def test_upload_is_stored_under_a_server_name_with_the_client_name_as_title(owner, layout):
    album = create_album(owner, "Scans")
    response = upload(owner, album, jpeg_bytes(), name="../../../state/web-owner.json.jpg")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "added" and body["title"] == "web-owner.json"
    files = [p.name for p in _album_dir(layout, album).iterdir()]
    assert len(files) == 1 and files[0].startswith("scan-") and files[0].endswith(".jpg")
    assert (layout.state / "web-owner.json").read_text().startswith("{")  # untouched


def test_type_comes_from_decoding_not_name_or_content_type(owner, layout):
    album = create_album(owner, "Types")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 10, 10)).save(buffer, "PNG")
    response = upload(owner, album, buffer.getvalue(), name="notes.txt", content_type="text/plain")
    assert response.status_code == 201
    assert [p.suffix for p in _album_dir(layout, album).iterdir()] == [".png"]


@pytest.mark.parametrize("data,name", [
    (b"<?php system($_GET['c']); ?>", "shell.jpg"),
    (b"%PDF-1.4 not a photo", "scan.pdf"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif"),  # a real format, but not one we decode
])
def test_non_images_are_415_with_a_clear_message(owner, layout, data, name):
    album = create_album(owner, "Refused")
    response = upload(owner, album, data, name=name, content_type="image/jpeg")
    assert response.status_code == 415
    assert name in response.json()["detail"] and "not a picture" in response.json()["detail"]
    assert list(_album_dir(layout, album).iterdir()) == []


def test_oversize_upload_is_413_before_it_is_parsed(owner, layout):
    album = create_album(owner, "Big")
    response = upload(owner, album, b"\xff\xd8" + b"\0" * 3_500_000, name="huge.jpg")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert list(_album_dir(layout, album).iterdir()) == []


def test_a_file_over_the_per_file_cap_is_413_naming_it(tmp_path):
    with pytest.raises(UploadRefused) as refused:
        stage_upload(io.BytesIO(jpeg_bytes() + b"\0" * 5000), tmp_path, "big scan.jpg", max_bytes=4000)
    assert refused.value.status == 413 and "big scan.jpg" in refused.value.message
    assert list(tmp_path.iterdir()) == []


def test_decompression_bomb_is_refused_without_decoding(owner, layout):
    album = create_album(owner, "Bombs")
    response = upload(owner, album, png_bomb(), name="bomb.png", content_type="image/png")
    assert response.status_code == 413
    assert "too many pixels" in response.json()["detail"] and "bomb.png" in response.json()["detail"]
    assert list(_album_dir(layout, album).iterdir()) == []


def test_truncated_and_empty_images_are_422(owner, layout):
    album = create_album(owner, "Broken")
    whole = jpeg_bytes(size=(200, 150), mode="RGB")
    response = upload(owner, album, whole[: len(whole) // 2], name="cut.jpg")
    assert response.status_code == 422 and "cut.jpg" in response.json()["detail"]
    assert upload(owner, album, b"", name="empty.jpg").status_code == 422
    assert list(_album_dir(layout, album).iterdir()) == []


def test_duplicates_are_reported_not_stored_twice(owner, layout):
    album = create_album(owner, "Dupes")
    first = upload(owner, album, jpeg_bytes(value=50), name="first.jpg")
    again = upload(owner, album, jpeg_bytes(value=50), name="copy of first.jpg")
    other = upload(owner, album, jpeg_bytes(value=51), name="second.jpg")
    assert (first.status_code, again.status_code, other.status_code) == (201, 409, 201)
    assert again.json()["status"] == "duplicate" and again.json()["title"] == "first"
    assert again.json()["url"] == first.json()["url"]
    assert len([p for p in _album_dir(layout, album).iterdir()]) == 2


def test_duplicate_check_sees_files_added_outside_the_web(owner, layout):
    album = create_album(owner, "Mixed")
    (_album_dir(layout, album) / "copied-by-hand.jpg").write_bytes(jpeg_bytes(value=77))
    response = upload(owner, album, jpeg_bytes(value=77))
    assert response.status_code == 409 and response.json()["title"] == "copied-by-hand"


def test_same_picture_in_another_album_is_not_a_duplicate(owner):
    one, two = create_album(owner, "One"), create_album(owner, "Two")
    assert upload(owner, one, jpeg_bytes(value=5)).status_code == 201
    assert upload(owner, two, jpeg_bytes(value=5)).status_code == 201


def test_upload_to_a_missing_album_is_404(owner):
    assert upload(owner, "/albums/no-such-album", jpeg_bytes()).status_code == 404


def test_nothing_half_written_is_visible_to_the_gallery(owner, layout):
    from restore_dagster.gallery import FolderGallery

    album = create_album(owner, "Atomic")
    upload(owner, album, b"junk", name="bad.jpg")
    upload(owner, album, jpeg_bytes(), name="good.jpg")
    assert _leftovers(_album_dir(layout, album)) == []
    assert [u.name[:5] for u in FolderGallery(layout.gallery).list_uploads()] == ["scan-"]
