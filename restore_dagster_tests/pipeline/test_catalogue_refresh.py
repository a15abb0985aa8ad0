"""state/catalogue.csv is kept up to date without a click: by the catalogue sensor and by `restore-photos run`."""
from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_catalogue_sensor_is_on_and_requests_the_catalogue_after_photos_were_processed(layout, resources, instance):
    from restore_dagster.definitions import defs

    sensor = defs.resolve_sensor_def("catalogue_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # nothing published yet

    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, resources)
    after_publishing = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert after_publishing.total_requested == 1
    assert [r.key for r in after_publishing.results if r.true_subset.size] == [dg.AssetKey("catalogue")]

    from restore_dagster.assets import catalogue

    dg.materialize([catalogue], instance=instance, resources={"storage": resources["storage"]})
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_publishing.cursor)
    assert settled.total_requested == 0  # handled: not requested again until more photos are published


def test_catalogue_is_requested_when_photos_stop_at_a_failing_stage(layout, instance, monkeypatch):
    from restore_dagster.definitions import defs
    from restore_dagster.resources import GpuResource, StorageResource

    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    no_weights = {"storage": StorageResource(home=str(layout.root)), "gpu": GpuResource(device="cpu", download_weights=False)}
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    drain(instance, no_weights)  # scanned and upscaled, then colorized fails: nothing is published
    assert dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor).total_requested == 1


def test_restore_photos_run_writes_the_catalogue(layout, resources, monkeypatch, artistic_weights):
    from restore_dagster.runner import run_pipeline

    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")
    write_scan(layout.gallery / "al" / "x.jpg", seed=1)
    (layout.gallery / "al" / "bad.jpg").write_bytes(b"not a photo")
    result = run_pipeline(layout, progress=False, resources=resources)
    table = pd.read_csv(layout.state / "catalogue.csv").set_index("key")
    assert table.loc["al/x", "state"] == "restored" and table.loc["al/bad", "state"] == "failed"
    assert "catalogue" not in result.summary()  # no "not refreshed" note
