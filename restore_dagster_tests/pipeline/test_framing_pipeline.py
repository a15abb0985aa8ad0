"""Manual framing through the real sensor and assets: framing a photo redoes it from `scanned` (and
only it), the scan comes out framed and turned, resetting goes back, and a scanned touch-up wins."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from restore_dagster.config import STAGES
from restore_dagster.lineage import read_record, stage_file
from restore_dagster.settings import PER_PHOTO_FIELDS, SettingsStore
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import drain

SIZE = (160, 120)
PRINT = [(40, 20), (130, 30), (120, 100), (30, 90)]  # a tilted quadrilateral: the print on the table
TABLE = ((170, 40, 40), (40, 60, 170))
CORNERS = [(x / SIZE[0], y / SIZE[1]) for x, y in PRINT]


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def print_on_a_table(path):
    """A grey print (white with a black diagonal stripe) lying at an angle on a red and blue tablecloth."""
    image = Image.new("RGB", SIZE, TABLE[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle([SIZE[0] // 2, 0, SIZE[0], SIZE[1]], fill=TABLE[1])
    draw.polygon(PRINT, fill=(235, 235, 235))
    draw.line([PRINT[0], PRINT[2]], fill=(20, 20, 20), width=5)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def scan_of(layout, key) -> Image.Image:
    with Image.open(stage_file(layout, "scanned", key, "png")) as image:
        return image.convert("RGB")


def test_framing_a_photo_redoes_it_from_scanned_and_the_scan_is_the_framed_print(layout, resources, instance):
    original = print_on_a_table(layout.gallery / "al" / "x.png")
    write_scan(layout.gallery / "al" / "y.jpg", seed=2)
    digest = file_digest(original)
    drain(instance, resources)
    first = read_record(layout, "scanned", "al/x").metadata
    # Before any framing by hand, automatic print detection finds the print on the table.
    assert first["framing"] == "automatic" and first["print_cropped"] is True
    assert abs(first["width"] - 91) <= 2 and abs(first["height"] - 71) <= 2
    x_before = {stage: read_record(layout, stage, "al/x").at for stage in STAGES}
    y_before = {stage: read_record(layout, stage, "al/y").at for stage in STAGES}

    SettingsStore(layout.state).set("al/x", frame_corners=CORNERS)
    requests = drain(instance, resources)
    assert [(r.partition_key, [k.path[-1] for k in r.asset_selection]) for r in requests] == [("al/x", list(STAGES))]
    assert {stage: read_record(layout, stage, "al/y").at for stage in STAGES} == y_before, "the other photo is left alone"
    framed = read_record(layout, "scanned", "al/x").metadata
    assert framed["framing"] == "manual" and framed["upright_size"] == "160x120"
    # The framed size is the quadrilateral's mean side lengths: hypot(90, 10) = 90.55 by hypot(10, 70) = 70.71.
    assert (framed["width"], framed["height"]) == (91, 71)
    assert framed["is_grey"] is True, "measured on the print alone, without the table"
    pixels = np.asarray(scan_of(layout, "al/x")).astype(int)
    for colour in TABLE:
        assert (np.abs(pixels - colour).sum(axis=2) < 60).mean() < 0.01, "no table left around the print"
    assert pixels[2:8, -8:-2].mean() > 200 and pixels[32:38, 42:48].mean() < 100, "the stripe runs corner to corner"
    assert all(read_record(layout, stage, "al/x").at > x_before[stage] for stage in STAGES), "every stage was redone"
    assert file_digest(original) == digest, "the original is never changed"
    assert not drain(instance, resources), "and then nothing more to do"

    SettingsStore(layout.state).set("al/x", rotation=90)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "scanned")]
    turned = read_record(layout, "scanned", "al/x").metadata
    assert (turned["width"], turned["height"], turned["rotation"]) == (71, 91, 90)

    SettingsStore(layout.state).forget("al/x", *PER_PHOTO_FIELDS)  # "reset to automatic"
    drain(instance, resources)
    back = read_record(layout, "scanned", "al/x").metadata
    assert (back["width"], back["height"], back["framing"]) == (first["width"], first["height"], "automatic")
    assert file_digest(original) == digest


def test_a_scanned_touch_up_wins_over_the_framing(layout, resources, instance):
    print_on_a_table(layout.gallery / "al" / "x.png")
    touchup = write_scan(layout.touchup_dir("scanned") / "al" / "x.png", size=(50, 40), fmt="PNG")
    SettingsStore(layout.state).set("al/x", frame_corners=CORNERS, rotation=90)
    drain(instance, resources)
    meta = read_record(layout, "scanned", "al/x").metadata
    assert (meta["width"], meta["height"], meta["framing"], meta["touched_up"]) == (50, 40, "none", True)
    assert touchup.is_file()
