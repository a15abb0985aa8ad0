"""``restore-photos variations``: make a photo's colour variations from the terminal, list them, choose one."""
from __future__ import annotations

import pytest

from restore_dagster import variation_requests, variations
from restore_dagster.cli import main
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan


@pytest.fixture
def restored(layout, resources):
    from restore_dagster.instance import get_instance
    from restore_dagster_tests.pipeline.harness import drain

    write_scan(layout.gallery / "al" / "x.jpg", grey=True, size=(64, 48), seed=1)
    with get_instance(layout) as instance:
        drain(instance, resources)
    return "al/x"


def test_make_list_and_choose_from_the_terminal(layout, restored, artistic_weights, monkeypatch, capsys):
    key = restored
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")
    for variable in ("RESTORE_DEOLDIFY_STABLE_WEIGHTS", "RESTORE_DDCOLOR_WEIGHTS", "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS",
                     "RESTORE_DDCOLOR_TINY_WEIGHTS"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["variations", key, "--list"]) == 1
    assert "no colour variations of al/x yet" in capsys.readouterr().out
    assert main(["variations", key, "--request"]) == 0  # for the daemon, as the web viewer asks
    assert "colour_variations_sensor starts them" in capsys.readouterr().out
    assert [r["key"] for r in variation_requests.pending(layout.state)] == [key]

    assert main(["variations", key, "--render-factors", "8,7", "--max", "2"]) == 0
    captured = capsys.readouterr()
    assert "on this CPU each candidate takes several seconds" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("1. deoldify-artistic-8: DeOldify artistic, render factor 8 (") and lines[0].endswith("(current)")
    assert lines[1].startswith("2. deoldify-artistic-7: DeOldify artistic, render factor 7 (")
    assert "left out: DeOldify stable: weights not here" in lines
    sheet = variations.folder(layout, key) / variations.read_listing(layout, key)["sheet"]
    assert f"contact sheet: {sheet}" in lines and sheet.is_file()
    assert variation_requests.pending(layout.state) == []  # the request was answered by this run

    assert main(["variations", key, "--choose", "2"]) == 0
    assert "render_factor = 7" in capsys.readouterr().out
    assert SettingsStore(layout.state).overrides(key) == {"render_factor": 7}
    assert main(["variations", key, "--choose", "deoldify-artistic-7"]) == 0
    assert "nothing to redo" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["variations", "al/nope"], "no photo 'al/nope'"),
    (["variations", "../../etc"], "no photo '../../etc'"),
    (["variations", "al/x", "--choose", "ddcolor-512"], "no colour variation 'ddcolor-512'"),
    (["variations", "al/x", "--render-factors", "99"], "render_factor must be between 7 and 64, not 99"),
    (["variations", "al/x", "--input-sizes", "100"], "input_size must be a multiple of 32"),
    (["variations", "al/x", "--max", "0"], "--max must be between 1 and 32"),
])
def test_mistakes_are_named_and_nothing_changes(layout, argv, message, capsys):
    write_scan(layout.gallery / "al" / "x.jpg", grey=True, seed=1)
    from restore_dagster_tests.test_sync import plan

    plan(layout)  # registered
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert SettingsStore(layout.state).overrides("al/x") == {}
