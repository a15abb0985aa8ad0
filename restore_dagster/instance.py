"""The project's on-disk Dagster instance under the storage root ($DAGSTER_HOME)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from restore_dagster.config import Layout

TEMPLATE = Path(__file__).parent / "instance" / "dagster.yaml"


def prepare_dagster_home(layout: Layout) -> Path:
    """Create ``DAGSTER_HOME`` with the project's dagster.yaml (gpu pool limit) unless one exists."""
    home = layout.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(layout: Layout):
    import dagster as dg

    prepare_dagster_home(layout)
    return dg.DagsterInstance.get()


if __name__ == "__main__":  # `python -m restore_dagster.instance`: used by `make run`
    print(f"DAGSTER_HOME: {prepare_dagster_home(Layout.from_env().ensure())}")
