"""`scanned` finds a photographed print, straightens it, and says what it did in its record; a clean
scan goes through whole. Only `scanned` runs: the other stages do not care where their input came from."""
from __future__ import annotations

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from restore_dagster.lineage import read_record
from restore_dagster_tests.conftest import file_digest
from restore_dagster_tests.imaging.helpers import fixture_photo
from restore_dagster_tests.imaging.phone_prints import clean_scan, phone_picture
from restore_dagster_tests.pipeline.harness import execute, tick


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def scan_only(instance, resources) -> None:
    """The sensor's partitions, then `scanned` alone for each new photo."""
    result = tick(instance, resources)
    assert isinstance(result, dg.SensorResult)
    for key in instance.get_dynamic_partitions("photos"):
        outcome = execute(instance, resources, dg.RunRequest(asset_selection=[dg.AssetKey("scanned")], partition_key=key))
        assert outcome.success


def test_scanned_straightens_a_photographed_print_and_records_the_detection(layout, resources, instance):
    picture = np.asarray(fixture_photo("coffee_150x100.png"))
    shot = phone_picture(picture, 3, size=(480, 360), scene="wood", format_name="5x7")
    phone = layout.gallery / "al" / "phone.jpg"
    phone.parent.mkdir(parents=True)
    shot.image.save(phone, quality=95)
    scan = layout.gallery / "al" / "scan.png"
    clean_scan(picture, 1, long_side=360).save(scan)
    grey = layout.gallery / "al" / "grey.jpg"  # a black-and-white print on a brown table
    grey_print = np.asarray(fixture_photo("chelsea_150x100.png").convert("L").convert("RGB"))
    phone_picture(grey_print, 2, size=(480, 360), scene="wood").image.save(grey, quality=95)
    before = {p: file_digest(p) for p in (phone, scan, grey)}

    scan_only(instance, resources)

    found = read_record(layout, "scanned", "al/phone").metadata
    assert found["print_cropped"] is True and found["print_confidence"] >= 0.7
    assert found["print_aspect"] == "5x7" and "found" in found["print_reason"]
    assert len(found["print_corners"]) == 4 and all(len(corner) == 2 for corner in found["print_corners"])
    width, height = (int(v) for v in found["print_size"].split("x"))
    assert (found["width"], found["height"]) == (width, height)
    assert max(width, height) / min(width, height) == pytest.approx(1.4, rel=0.02)
    with Image.open(read_record(layout, "scanned", "al/phone").file) as straightened:
        assert straightened.size == (width, height)

    whole = read_record(layout, "scanned", "al/scan").metadata
    assert whole["print_cropped"] is False and whole["print_size"] == "" and whole["print_reason"]
    with Image.open(scan) as original, Image.open(read_record(layout, "scanned", "al/scan").file) as out:
        assert out.size == original.size and np.array_equal(np.asarray(out), np.asarray(original.convert("RGB")))
    # Greyness is measured on the print, not on the table around it.
    grey_record = read_record(layout, "scanned", "al/grey").metadata
    assert grey_record["print_cropped"] is True and grey_record["is_grey"] is True
    assert {p: file_digest(p) for p in (phone, scan, grey)} == before  # originals untouched
