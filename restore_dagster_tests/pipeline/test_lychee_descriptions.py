"""Descriptions published to Lychee: its title, description and taken_at set through PATCH /Photo."""
from __future__ import annotations

import pytest

from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import read_record
from restore_dagster.lychee.client import LycheeClient
from restore_dagster_tests.exiftool import exiftool_tags
from restore_dagster_tests.lychee_fake import VERSIONS, FakeLychee
from restore_dagster_tests.pipeline.harness import drain
from restore_dagster_tests.pipeline.test_lychee_pipeline import grey_jpeg


@pytest.fixture(params=VERSIONS)
def lychee(request, monkeypatch):
    with FakeLychee(version=request.param) as fake:
        monkeypatch.setenv("RESTORE_LYCHEE_TOKEN", fake.token)
        yield fake


def test_a_described_photo_gets_lychees_description_and_taken_at(layout, resources, lychee, tmp_path):
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource

    album = lychee.add_album("Family 1950")
    grandma = lychee.add_photo(album, "Grandma", grey_jpeg(1))
    lychee.add_photo(album, "Grandpa", grey_jpeg(2))
    store = DescriptionStore(layout.state)
    store.describe(grandma, date="about 1960", caption="Oma im Garten, 花园", people="Oma Else, 王芳", place="Dresden")
    storage = StorageResource(home=str(layout.root), gallery_kind="lychee", lychee_url=lychee.url)
    with get_instance(layout) as instance:
        drain(instance, dict(resources, storage=storage))
        restored = {p.title: p for p in lychee.in_album(lychee.album_named("Family 1950 (restored)"))}
        described, plain = restored["Grandma (restored)"], restored["Grandpa (restored)"]
        assert described.description == "Oma im Garten, 花园\n📅 about 1960\n📍 Dresden\n👥 Oma Else, 王芳"
        assert described.taken_at == "1960-01-01T12:00:00"
        assert {"restored", f"restored-from:{grandma}"} <= set(described.tags)  # PATCH /Photo replaces tags: ours kept
        assert plain.description is None and plain.taken_at is None
        assert len(lychee.calls("PATCH", "Photo")) == 1  # only the described photo
        path = tmp_path / "restored.jpg"
        path.write_bytes(described.data)  # and the file Lychee holds carries it too
        assert exiftool_tags(path)["XMP-iptcExt:PersonInImage"] == ["Oma Else", "王芳"]

        # A new caption re-publishes that photo only (no model runs), with the new description.
        store.describe(grandma, caption="Oma im Garten", date="1961-05-20 15:00+01:00")
        requests = drain(instance, dict(resources, storage=storage))
        assert [(r.partition_key, [k.path[-1] for k in r.asset_selection]) for r in requests] == [
            ("family-1950/grandma", ["published"])]
        restored = [p for p in lychee.in_album(lychee.album_named("Family 1950 (restored)")) if p.title == "Grandma (restored)"]
        assert len(restored) == 1 and restored[0].id != described.id  # replaced, no duplicate
        assert restored[0].description == "Oma im Garten\n📍 Dresden\n👥 Oma Else, 王芳"
        assert restored[0].taken_at == "1961-05-20T15:00:00+01:00"
        assert read_record(layout, "published", "family-1950/grandma").metadata["description"]["caption"] == "Oma im Garten"


def test_the_description_is_cut_to_lychees_1000_bytes_and_an_empty_one_is_null(lychee):
    album = lychee.add_album("A")
    photo_id = lychee.add_photo(album, "x", grey_jpeg(1))
    client = LycheeClient(lychee.url, lychee.token, retries=0)
    photo = next(p for p in client.album_photos(album) if p["id"] == photo_id)
    client.update_photo(photo, title="x (restored)", description="婚" * 400, taken_at="1962-01-01T12:00:00",
                        tags=["restored"], album_id=album)
    sent = lychee.calls("PATCH", "Photo")[-1]["description"]
    assert len(sent.encode("utf-8")) <= 1000 and sent == "婚" * 333
    client.update_photo(photo, title="x (restored)", description="", taken_at=None, tags=["restored"], album_id=album)
    assert lychee.calls("PATCH", "Photo")[-1]["description"] is None
    assert lychee.photos[photo_id].taken_at is None and lychee.photos[photo_id].tags == ["restored"]
