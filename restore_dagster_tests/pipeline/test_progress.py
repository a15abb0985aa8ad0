"""Within a stage: a log line per photo, tile progress over all waifu2x passes, a progress record for the web."""
from __future__ import annotations

import os

from restore_dagster import progress as progress_module
from restore_dagster.progress import DIRNAME
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import execute, tick


def test_upscaled_reports_photos_and_tiles(layout, resources, monkeypatch):
    from restore_dagster.instance import get_instance
    from restore_dagster.settings import SettingsStore

    written = []
    original = progress_module.atomic_write_json
    monkeypatch.setattr(progress_module, "atomic_write_json", lambda path, value: (written.append(dict(value)), original(path, value))[1])
    # 40x30 -> 128: 80 is still 1.6 short, so two 2x passes (80, then 160 resized to 128), one tile each.
    SettingsStore(layout.state).set_defaults(long_side=128)
    write_scan(layout.gallery / "Album" / "one.jpg", seed=1)
    write_scan(layout.gallery / "Album" / "two.jpg", seed=2)
    with get_instance(layout) as instance:
        [request] = tick(instance, resources).run_requests
        result = execute(instance, resources, request)
        assert result.success
        messages = [e.user_message for e in instance.all_logs(result.run_id)]
        # A run launched by the daemon names its process from its first step, so that a killed one is found.
        assert instance.get_run_by_id(result.run_id).tags["restore/owner_pid"] == str(os.getpid())

    upscaling = [r for r in written if r["stage"] == "upscaled"]
    assert {r["key"] for r in upscaling} == {"album/one", "album/two"}
    assert {(r["photo"], r["photos"]) for r in upscaling} == {(1, 2), (2, 2)}
    last = [r for r in upscaling if r["key"] == "album/two"][-1]
    assert last["total"] == 2 and last["done"] == last["total"]  # two 2x passes, one tile each
    assert any("upscaled album/two: started (photo 2 of 2 in this run)" in m for m in messages)
    assert any(m.startswith("upscaled album/one: upscaling: ") and "tiles (100%)" in m for m in messages)
    assert not list((layout.state / DIRNAME).glob("*.json"))  # cleared when each photo's stage ended
