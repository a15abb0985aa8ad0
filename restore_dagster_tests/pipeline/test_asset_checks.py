"""Asset checks say when they did not apply, instead of passing over an empty set of photos."""
from __future__ import annotations

import dagster as dg
import pytest
from PIL import Image

from restore_dagster.assets.compressed import budget_check
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def latest_check(instance, asset: str, check: str) -> dg.AssetCheckEvaluation:
    key = dg.AssetCheckKey(dg.AssetKey(asset), check)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return record.event.dagster_event.event_specific_data


def test_colourful_enough_says_not_applicable_when_no_photo_was_colourised(layout, resources, instance):
    write_scan(layout.gallery / "al" / "colour.jpg", grey=False, seed=2)
    drain(instance, resources)
    evaluation = latest_check(instance, "colorized", "colourful_enough")
    assert evaluation.passed  # nothing wrong, but nothing judged either: it says so
    assert evaluation.description.startswith("not applicable: no photo was colourised")
    assert "above the" not in evaluation.description
    assert evaluation.metadata["applicable"].value is False and evaluation.metadata["photos_checked"].value == 0


def test_colourful_enough_judges_colourised_photos(layout, resources, instance):
    write_scan(layout.gallery / "al" / "grey.jpg", grey=True, seed=1)
    drain(instance, resources)
    evaluation = latest_check(instance, "colorized", "colourful_enough")
    assert evaluation.metadata["applicable"].value is True and evaluation.metadata["photos_checked"].value == 1
    assert "not applicable" not in evaluation.description


def test_reached_target_size_says_not_applicable_for_touch_ups_only(layout, resources, instance):
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    touch = layout.touchup_dir("upscaled") / "al" / "x.png"
    touch.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (50, 40), (120, 120, 120)).save(touch)  # a touch-up keeps its own size
    drain(instance, resources)
    evaluation = latest_check(instance, "upscaled", "reached_target_size")
    assert evaluation.description.startswith("not applicable: no photo was upscaled by the model")
    assert evaluation.metadata["applicable"].value is False


def test_within_budget_over_no_photo_is_not_applicable():
    (result,) = budget_check({})
    assert result.passed and result.description == "not applicable: no photo succeeded in this run"
    assert result.metadata["applicable"].value is False


def test_reached_target_size_accepts_the_magnification_cap(layout, resources, instance):
    from restore_dagster.lineage import read_record
    from restore_dagster.settings import SettingsStore

    SettingsStore(layout.state).set_defaults(max_magnification=2)  # the 40×30 scan may grow to 80, not 96
    write_scan(layout.gallery / "al" / "small.jpg", seed=1)
    drain(instance, resources)
    record = read_record(layout, "upscaled", "al/small").metadata
    assert (record["width"], record["height"]) == (80, 60)
    assert record["target_long_side"] == 80 and record["configured_long_side"] == 96
    assert record["passes"] == 1 and record["capped"] is True
    assert "2× the scan's 40 px" in record["plan"]
    evaluation = latest_check(instance, "upscaled", "reached_target_size")
    assert evaluation.passed and evaluation.metadata["photos_checked"].value == 1
