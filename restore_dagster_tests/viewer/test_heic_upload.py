"""A phone's HEIC uploaded from the web is kept as a .heic photo and shown (thumbnail) like any other."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from restore_dagster_tests.viewer.conftest import create_album, upload


def test_a_heic_upload_is_kept_as_heic_and_gets_a_thumbnail(owner, layout):
    album = create_album(owner, "Phone")
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(buffer, "HEIF", quality=90)

    response = upload(owner, album, buffer.getvalue(), name="IMG_0007.HEIC", content_type="image/heic")

    assert response.status_code == 201, response.text
    assert response.json()["detail"] == "96×64 HEIF"
    (stored,) = (layout.gallery / album.rsplit("/", 1)[-1]).iterdir()
    assert stored.suffix == ".heic"
    page = owner.get(response.json()["url"])
    assert page.status_code == 200
    for kind in ("thumb", "screen"):  # browsers cannot show HEIC: the gallery serves JPEG copies
        shown = owner.get(response.json()["url"] + "/" + kind)
        assert shown.status_code == 200 and shown.content[:2] == b"\xff\xd8", kind
        with Image.open(io.BytesIO(shown.content)) as image:
            assert image.size[0] > image.size[1]
