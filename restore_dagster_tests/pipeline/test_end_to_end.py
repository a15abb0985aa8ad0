"""A temporary gallery → sensor tick → partitions → all five assets → published files."""
from __future__ import annotations

import dagster as dg
import pytest
from PIL import Image

from restore_dagster.config import STAGES
from restore_dagster.lineage import read_failure, read_record
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import drain, execute, materialized, tick


@pytest.fixture
def instance(layout):
    """The project's own on-disk instance (its dagster.yaml, sqlite storage under the storage root)."""
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_two_uploads_are_restored_and_published(layout, resources, instance):
    grey = write_scan(layout.gallery / "Family 1962" / "Wedding.jpg", grey=True, seed=1)
    colour = write_scan(layout.gallery / "Family 1962" / "Beach.png", grey=False, seed=2, fmt="PNG")
    before = {p: file_digest(p) for p in (grey, colour)}

    first = tick(instance, resources)
    assert isinstance(first, dg.SensorResult)
    assert sorted(instance.get_dynamic_partitions("photos")) == ["family-1962/beach", "family-1962/wedding"]
    assert len(first.run_requests) == 1  # both new photos in one batch: models load once
    request = first.run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] != request.tags["dagster/asset_partition_range_end"]

    result = execute(instance, resources, request)
    assert result.success
    for stage in STAGES:
        assert materialized(instance, stage) == {"family-1962/beach", "family-1962/wedding"}, stage

    restored = sorted(p.name for p in (layout.gallery / "Family 1962" / "restored").iterdir())
    kinds = {base: sorted(n.rsplit(".", 1)[1] for n in restored if n.rsplit(".", 1)[0] == base) for base in
             {name.rsplit(".", 1)[0] for name in restored}}
    assert sorted(kinds) == ["Beach.png.restored", "Wedding.jpg.restored"]
    # A JPEG, or a WebP with a JPEG of it for downloads beside it.
    assert all(extensions in (["jpg"], ["jpg", "webp"]) for extensions in kinds.values()), kinds
    for key, base in (("family-1962/beach", "Beach.png.restored"), ("family-1962/wedding", "Wedding.jpg.restored")):
        compressed = read_record(layout, "compressed", key).metadata
        assert ("download" in compressed) == (kinds[base] == ["jpg", "webp"])
        assert compressed["detail_1to1"] >= compressed["detail_floor_1to1"] and compressed["ssim"] >= compressed["ssim_floor"]
    for path in (layout.gallery / "Family 1962" / "restored").iterdir():
        with Image.open(path) as image:
            assert max(image.size) == 96
    assert {p: file_digest(p) for p in (grey, colour)} == before  # originals untouched

    wedding = read_record(layout, "colorized", "family-1962/wedding")
    beach = read_record(layout, "colorized", "family-1962/beach")
    assert wedding.metadata["colorized"] is True and wedding.metadata["model"] == "DeOldify artistic"
    assert beach.metadata["colorized"] is False  # colour photo passed through
    assert read_record(layout, "scanned", "family-1962/wedding").metadata["is_grey"] is True

    # Published restorations are not uploads: the next tick has nothing to do.
    again = tick(instance, resources, first.cursor)
    assert isinstance(again, dg.SkipReason)


def test_materialization_metadata_shows_in_the_ui(layout, resources, instance):
    write_scan(layout.gallery / "a" / "one.jpg", seed=3)
    drain(instance, resources)
    events = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("colorized"), asset_partitions=["a/one"]), limit=1
    ).records
    metadata = events[0].asset_materialization.metadata
    assert metadata["width"].value == 96
    assert "data:image/jpeg;base64," in metadata["before_after"].value
    assert len(metadata["before_after"].value) < 80_000
    assert metadata["render_factor"].value == 8
    checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("upscaled"), "reached_target_size")]
    )
    assert checks


def test_album_with_a_broken_file_publishes_the_others(layout, resources, instance):
    album = layout.gallery / "Album"
    write_scan(album / "a.jpg", seed=1)
    (album / "b.jpg").write_bytes(b"this is not a jpeg at all")
    write_scan(album / "c.jpg", seed=3, grey=False)

    requests = drain(instance, resources)
    assert requests[0].asset_selection[0] == dg.AssetKey("scanned")
    assert materialized(instance, "published") == {"album/a", "album/c"}
    failure = read_failure(layout, "album/b")
    assert failure["stage"] == "scanned"
    assert "b.jpg" in failure["reason"] and "not an image" in failure["reason"].lower()
    # The broken photo is not retried on every tick, but can be retried alone.
    assert isinstance(tick(instance, resources), dg.SkipReason)
    (album / "b.jpg").unlink()
    write_scan(album / "b.jpg", seed=2)
    drain(instance, resources)
    assert materialized(instance, "published") == {"album/a", "album/b", "album/c"}
    assert read_failure(layout, "album/b") is None


def test_touch_up_reruns_only_its_photo_from_its_stage(layout, resources, instance):
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    write_scan(layout.gallery / "al" / "y.jpg", seed=2)
    drain(instance, resources)
    y_records = {s: read_record(layout, s, "al/y").at for s in STAGES}
    x_scanned = read_record(layout, "scanned", "al/x").at

    touch = layout.touchup_dir("colorized") / "al" / "x.png"
    touch.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 72), (200, 30, 30)).save(touch)
    requests = drain(instance, resources)
    assert len(requests) == 1
    assert requests[0].partition_key == "al/x"
    assert [k.path[-1] for k in requests[0].asset_selection] == ["colorized", "compressed", "published"]
    colorized = read_record(layout, "colorized", "al/x")
    assert colorized.metadata["touched_up"] is True
    with Image.open(colorized.file) as image:
        assert image.getpixel((5, 5)) == (200, 30, 30)
    assert read_record(layout, "scanned", "al/x").at == x_scanned
    assert {s: read_record(layout, s, "al/y").at for s in STAGES} == y_records
    assert touch.exists()  # never overwritten or removed

    touch.unlink()  # removing the touch-up reverts to the model's output
    requests = drain(instance, resources)
    assert requests[0].partition_key == "al/x" and requests[0].asset_selection[0] == dg.AssetKey("colorized")
    assert read_record(layout, "colorized", "al/x").metadata["touched_up"] is False


def test_replaced_original_reruns_from_scanned(layout, resources, instance):
    path = write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, resources)
    write_scan(path, seed=9)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "scanned")]


def test_settings_change_reruns_from_the_affected_stage(layout, resources, instance):
    from restore_dagster.settings import SettingsStore

    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, resources)
    SettingsStore(layout.state).set("al/x", render_factor=10)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "colorized")]
    assert read_record(layout, "colorized", "al/x").metadata["render_factor"] == 10


def test_sensor_skips_when_the_gallery_is_missing_and_loses_nothing(layout, resources, instance, tmp_path):
    from restore_dagster.resources import StorageResource

    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    away = dict(resources, storage=StorageResource(home=str(layout.root), gallery_path=str(tmp_path / "unmounted")))
    result = tick(instance, away)
    assert isinstance(result, dg.SkipReason) and "unavailable" in result.skip_message
    result = tick(instance, resources)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    assert len(result.cursor) < 16  # the cursor is a generation number, not the gallery


# Missing and wrong weights: see test_colour_pending.py (colour is an optional step).


def test_catalogue_lists_every_photo_with_its_state(layout, resources, instance):
    import pandas as pd

    from restore_dagster.assets import catalogue

    write_scan(layout.gallery / "al" / "good.jpg", seed=1)
    (layout.gallery / "al" / "bad.jpg").write_bytes(b"not a photo")
    drain(instance, resources)
    result = dg.materialize([catalogue], instance=instance, resources={"storage": resources["storage"]})
    assert result.success
    table = pd.read_csv(layout.state / "catalogue.csv").set_index("key")
    assert table.loc["al/good", "state"] == "restored" and table.loc["al/good", "width"] == 96
    assert table.loc["al/bad", "state"] == "failed" and "bad.jpg" in table.loc["al/bad", "reason"]
    metadata = result.asset_materializations_for_node("catalogue")[0].metadata
    assert metadata["photos"].value == 2 and metadata["failed"].value == 1
