"""The model choice through the real sensor and assets: DDColor per album, per photo, pending weights.

DDColor tiny runs with its deterministic stand-in weights (the official file cannot be downloaded in
tests) at a small input size, so each photo costs about a second on the CPU.
"""
from __future__ import annotations

import pytest
import torch

from restore_dagster.lineage import read_failure, read_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.models.ddcolor_standin import ddcolor_manifest, ddcolor_standin
from restore_dagster_tests.pipeline.harness import drain, materialized


@pytest.fixture(scope="module")
def ddcolor_tiny_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddcolor") / "ddcolor_paper_tiny.pth"
    torch.save({"params": ddcolor_standin(ddcolor_manifest("tiny"))}, path)
    return path


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_album_chooses_ddcolor_waits_for_its_weights_and_photos_keep_their_own_choice(
        layout, instance, resources, monkeypatch, ddcolor_tiny_weights):
    monkeypatch.delenv("RESTORE_DDCOLOR_TINY_WEIGHTS", raising=False)
    SettingsStore(layout.state).set_album_defaults("al", model="ddcolor-tiny", input_size=64)
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, seed=1)
    write_scan(layout.gallery / "al" / "c.png", grey=False, seed=3, fmt="PNG")
    write_scan(layout.gallery / "bl" / "y.jpg", grey=True, seed=2)
    drain(instance, resources)
    assert materialized(instance, "published") == {"al/x", "al/c", "bl/y"}
    assert all(read_failure(layout, key) is None for key in ("al/x", "al/c", "bl/y"))

    # The album's DDColor has no weights yet: published without colour, marked pending, nothing failed.
    colour = read_record(layout, "colorized", "al/x").metadata
    assert colour["colorized"] is False
    [step] = colour["optional_steps"]
    assert (step["step"], step["state"], step["model"], step["weights"]) == (
        "colour", "pending", "DDColor tiny (paper)", "ddcolor_paper_tiny.pth")
    assert "RESTORE_DDCOLOR_TINY_WEIGHTS" in step["detail"]
    # The other album keeps the project default; the colour photo passes through, unmarked.
    other = read_record(layout, "colorized", "bl/y").metadata
    assert (other["colorized"], other["model"], other["render_factor"], other["input_size"]) == (
        True, "DeOldify artistic", 8, 0)
    passed = read_record(layout, "colorized", "al/c").metadata
    assert passed["model"] == "none (colour photo passed through)" and "optional_steps" not in passed

    # The weights appear: the album's photos are redone from colorized (the weights are in the fingerprint
    # of every photo whose colorize is not off, as with DeOldify), the waiting one with DDColor at its input size.
    monkeypatch.setenv("RESTORE_DDCOLOR_TINY_WEIGHTS", str(ddcolor_tiny_weights))
    requests = drain(instance, resources)
    assert requests and {r.tags["restore/start_stage"] for r in requests} == {"colorized"}
    assert read_record(layout, "colorized", "bl/y").metadata["model"] == "DeOldify artistic"
    assert read_record(layout, "colorized", "al/c").metadata["model"] == "none (colour photo passed through)"
    colour = read_record(layout, "colorized", "al/x").metadata
    assert (colour["colorized"], colour["model"], colour["input_size"], colour["render_factor"]) == (
        True, "DDColor tiny (paper)", 64, 0)
    assert "optional_steps" not in read_record(layout, "published", "al/x").metadata

    # A photo's own knob, stored once, is honoured by the sensor's next runs; the album's other photos are not touched.
    SettingsStore(layout.state).set("al/x", input_size=96)
    requests = drain(instance, resources)
    assert [(r.partition_key, r.asset_selection[0].path[-1]) for r in requests] == [("al/x", "colorized")]
    assert read_record(layout, "colorized", "al/x").metadata["input_size"] == 96
    # And a photo can go back to DeOldify under the old name.
    SettingsStore(layout.state).set("al/x", model="artistic")
    drain(instance, resources)
    colour = read_record(layout, "colorized", "al/x").metadata
    assert (colour["model"], colour["render_factor"]) == ("DeOldify artistic", 8)
