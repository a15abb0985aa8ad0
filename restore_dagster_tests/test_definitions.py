import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from restore_dagster.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_the_expected_assets_and_sensor():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_photo", "scanned", "upscaled", "colorized", "compressed", "published", "catalogue"} <= keys
    sensor = defs.resolve_sensor_def("gallery_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_gpu_assets_use_the_gpu_pool():
    graph = defs.resolve_asset_graph()
    for name in ("upscaled", "colorized"):
        assert graph.get(dg.AssetKey(name)).pools == {"gpu"}


def test_dagster_definitions_validate(tmp_path):
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path), RESTORE_HOME=str(tmp_path / "home"))
    (tmp_path / "dagster.yaml").write_text("")
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_instance_config_limits_the_gpu_pool(tmp_path, monkeypatch):
    from restore_dagster.config import Layout
    from restore_dagster.instance import get_instance

    monkeypatch.setenv("RESTORE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    with get_instance(Layout.from_env()) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
