"""The web upload's "several prints on this scan": each print becomes a photo of the album."""
from __future__ import annotations

import io

from PIL import Image

from restore_dagster.sheets import print_origin
from restore_dagster_tests.sheet_maker import four_print_sheet
from restore_dagster_tests.viewer.conftest import create_album, csrf_of


def sheet_png() -> bytes:
    buffer = io.BytesIO()
    four_print_sheet()[0].save(buffer, "PNG")
    return buffer.getvalue()


def upload_sheet(client, album, data, name="Urlaub 1979.png", split="true"):
    return client.post(album + "/photos", files={"file": (name, data, "image/png")},
                       data={"split": split} if split else None, headers={"X-CSRF-Token": csrf_of(client)})


def test_a_checked_upload_is_split_into_titled_photos_and_the_sheet_kept(owner, layout):
    album = create_album(owner, "Flatbed")
    folder = album.rsplit("/", 1)[-1]

    response = upload_sheet(owner, album, sheet_png())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "split" and body["title"] == "Urlaub 1979" and len(body["prints"]) == 4
    assert "4 added" in body["detail"]
    files = sorted(p.name for p in (layout.gallery / folder).iterdir())
    assert len(files) == 4 and all(n.startswith("scan-") and n.endswith(".png") for n in files)  # no temp file left
    for n, name in enumerate(files, start=1):
        sheet, position = print_origin(layout, folder, name)
        assert position == n and sheet.parent == layout.root / "sheets" / folder and sheet.is_file()
    page = owner.get(body["prints"][1])
    assert page.status_code == 200 and "Urlaub 1979 · 2" in page.text
    grid = owner.get(album)
    assert grid.status_code == 200 and 'id="upload-split"' in grid.text

    again = upload_sheet(owner, album, sheet_png(), name="again.png")
    assert again.status_code == 201 and "0 added, 0 replaced, 4 unchanged" in again.json()["detail"]
    assert sorted(p.name for p in (layout.gallery / folder).iterdir()) == files
    assert len(list((layout.root / "sheets" / folder).iterdir())) == 1


def test_an_unchecked_upload_of_a_sheet_stays_one_photo(owner, layout):
    album = create_album(owner, "One")
    response = upload_sheet(owner, album, sheet_png(), split=None)
    assert response.status_code == 201 and response.json()["status"] == "added"
    assert not (layout.root / "sheets").exists()


def test_a_scan_without_separable_prints_is_422_and_leaves_nothing(owner, layout):
    album = create_album(owner, "Nothing")
    folder = album.rsplit("/", 1)[-1]
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (250, 250, 250)).save(buffer, "PNG")
    response = upload_sheet(owner, album, buffer.getvalue(), name="empty.png")
    assert response.status_code == 422
    assert "not split into prints" in response.json()["detail"] and "no prints found" in response.json()["detail"]
    assert ".upload-" not in response.json()["detail"]  # no server path in the message
    assert list((layout.gallery / folder).iterdir()) == []


def test_splitting_needs_the_owner(anon, owner):
    album = create_album(owner, "Private")
    response = anon.post(album + "/photos", files={"file": ("s.png", sheet_png(), "image/png")}, data={"split": "true"})
    assert response.status_code in (401, 403)
