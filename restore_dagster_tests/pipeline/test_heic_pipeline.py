"""A HEIC from a phone, made here with pillow-heif, goes through the sensor and every stage to a restoration."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.config import STAGES
from restore_dagster.imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD, ORIENTATION
from restore_dagster.lineage import read_record
from restore_dagster_tests.conftest import file_digest
from restore_dagster_tests.pipeline.harness import drain, materialized


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_a_heic_held_sideways_is_restored_upright_with_its_exif(layout, resources, instance):
    rng = np.random.default_rng(5)
    stored = np.clip(rng.normal(128, 40, (32, 48, 3)), 0, 255).astype(np.uint8)  # landscape as stored
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Apple"
    exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: "2021:08:09 17:30:00"}
    path = layout.gallery / "Phone" / "IMG_4242.HEIC"
    path.parent.mkdir(parents=True)
    Image.fromarray(stored).save(path, "HEIF", quality=90, exif=exif.tobytes())
    before = file_digest(path)

    drain(instance, resources)

    for stage in STAGES:
        assert materialized(instance, stage) == {"phone/img_4242"}, stage
    scanned = read_record(layout, "scanned", "phone/img_4242").metadata
    assert scanned["source_format"] == "HEIF" and scanned["capture_date"] == "2021-08-09T17:30:00"
    published = read_record(layout, "published", "phone/img_4242").metadata["location"]
    assert published.startswith(str(layout.gallery / "Phone" / "restored" / "IMG_4242.HEIC.restored."))
    with Image.open(published) as restored:
        assert restored.height > restored.width, "portrait, as the phone was held"
        tags = restored.getexif()
        assert tags.get(ORIENTATION, 1) == 1 and tags[0x010F] == "Apple"
    assert file_digest(path) == before  # the original is never changed
