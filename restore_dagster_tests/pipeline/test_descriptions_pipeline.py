"""Descriptions through the real sensor and assets: only `published` re-runs, album dates fill undated photos."""
from __future__ import annotations

import pytest

from restore_dagster.config import STAGES
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import read_record
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.exiftool import exiftool_tags
from restore_dagster_tests.pipeline.harness import drain


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def published_tags(layout, key: str) -> dict:
    return exiftool_tags(read_record(layout, "published", key).metadata["location"])


def test_a_photo_described_before_its_first_run_is_published_with_it(layout, resources, instance):
    write_scan(layout.gallery / "Family 1962" / "Wedding.jpg", seed=1)
    DescriptionStore(layout.state).describe("Family 1962/Wedding.jpg", date="1962-06", people="Anna, Ben",
                                            caption="Die Hochzeit, 中文")
    drain(instance, resources)
    tags = published_tags(layout, "family-1962/wedding")
    assert tags["ExifIFD:DateTimeOriginal"] == "1962:06:01 12:00:00"
    assert tags["XMP-iptcExt:PersonInImage"] == ["Anna", "Ben"]
    assert tags["XMP-dc:Description"] == "Die Hochzeit, 中文"


def test_changing_the_caption_republishes_without_running_a_model(layout, resources, instance):
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    write_scan(layout.gallery / "al" / "y.jpg", seed=2)
    drain(instance, resources)
    x_before = {s: read_record(layout, s, "al/x").at for s in STAGES}
    y_before = {s: read_record(layout, s, "al/y").at for s in STAGES}

    DescriptionStore(layout.state).describe("al/x.jpg", caption="Am Strand")
    requests = drain(instance, resources)
    assert [(r.partition_key, [k.path[-1] for k in r.asset_selection]) for r in requests] == [("al/x", ["published"])]
    x_after = {s: read_record(layout, s, "al/x").at for s in STAGES}
    assert {s: x_after[s] for s in STAGES[:-1]} == {s: x_before[s] for s in STAGES[:-1]}  # no model re-ran
    assert x_after["published"] > x_before["published"]
    assert {s: read_record(layout, s, "al/y").at for s in STAGES} == y_before  # the other photo untouched
    assert published_tags(layout, "al/x")["IFD0:ImageDescription"] == "Am Strand"

    DescriptionStore(layout.state).describe("al/x.jpg", caption="Am Strand, 1958")
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "published")]
    assert published_tags(layout, "al/x")["XMP-dc:Description"] == "Am Strand, 1958"
    assert not drain(instance, resources)  # and then nothing more to do


def test_album_date_applies_to_undated_photos_only(layout, resources, instance):
    write_scan(layout.gallery / "Oma" / "dated.jpg", seed=1)
    write_scan(layout.gallery / "Oma" / "undated.jpg", seed=2)
    store = DescriptionStore(layout.state)
    store.describe("Oma/dated.jpg", date="1971-08-02")
    store.describe_album("Oma", date="1960s", place="Leipzig")
    drain(instance, resources)
    dated, undated = published_tags(layout, "oma/dated"), published_tags(layout, "oma/undated")
    assert dated["ExifIFD:DateTimeOriginal"] == "1971:08:02 12:00:00"
    assert undated["ExifIFD:DateTimeOriginal"] == "1960:01:01 12:00:00"
    assert undated["XMP-photoshop:DateCreated"] == 1960
    assert dated["XMP-iptcCore:Location"] == undated["XMP-iptcCore:Location"] == "Leipzig"
    record = read_record(layout, "published", "oma/undated").metadata["description"]
    assert record["date"] == "1960s" and record["from_album"] == ["date", "place"]

    store.describe_album("Oma", date="1950s")  # only the undated photo depends on the album's date
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("oma/undated", "published")]
    assert published_tags(layout, "oma/undated")["ExifIFD:DateTimeOriginal"] == "1950:01:01 12:00:00"


def test_an_undescribed_photo_is_published_as_before(layout, resources, instance):
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, resources)
    record = read_record(layout, "published", "al/x")
    assert "description" not in record.metadata
    compressed = read_record(layout, "compressed", "al/x").file
    with open(compressed, "rb") as a, open(record.metadata["location"], "rb") as b:
        assert a.read() == b.read()


def test_the_catalogue_lists_each_photos_description(layout, resources, instance):
    from restore_dagster.catalogue import build_catalogue
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore

    write_scan(layout.gallery / "Oma" / "a.jpg", seed=1)
    write_scan(layout.gallery / "Oma" / "b.jpg", seed=2)
    store = DescriptionStore(layout.state)
    store.describe("Oma/a.jpg", caption="Am See, 湖边", people="Anna, Ben")
    store.describe_album("Oma", date="1960s")
    drain(instance, resources)
    table = build_catalogue(layout, RegistryStore(layout.state).load(), SettingsStore(layout.state)).set_index("key")
    assert table.loc["oma/a", ["date", "caption", "people", "state"]].tolist() == ["1960s", "Am See, 湖边", "Anna, Ben", "restored"]
    assert table.loc["oma/b", ["date", "caption"]].tolist() == ["1960s", ""]
