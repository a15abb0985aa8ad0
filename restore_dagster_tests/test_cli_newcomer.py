"""restore-photos as a new user meets it: the README's commands say and do what they promise."""
from __future__ import annotations

from restore_dagster.cli import main
from restore_dagster.settings import PhotoSettings, SettingsStore
from restore_dagster_tests.conftest import write_scan


def test_settings_defaults_reset_goes_back_to_the_built_in_defaults(layout, capsys):
    assert SettingsStore(layout.state).defaults.long_side == 96  # the conftest's small defaults
    assert main(["settings", "defaults", "--long-side", "2560"]) == 0
    assert SettingsStore(layout.state).defaults.long_side == 2560

    assert main(["settings", "defaults", "--reset"]) == 0
    assert "long_side = 3840" in capsys.readouterr().out
    assert SettingsStore(layout.state).defaults == PhotoSettings()

    # --reset then a change: the change on top of the built-in defaults
    main(["settings", "defaults", "--long-side", "2560", "--noise-level", "3"])
    assert main(["settings", "defaults", "--reset", "--noise-level", "2"]) == 0
    assert SettingsStore(layout.state).defaults == PhotoSettings(noise_level=2)


def test_settings_defaults_reset_keeps_each_photos_own_values(layout, capsys):
    store = SettingsStore(layout.state)
    store.set("al/x", render_factor=12)
    assert main(["settings", "defaults", "--reset"]) == 0
    assert SettingsStore(layout.state).get("al/x") == PhotoSettings(render_factor=12)


def test_status_right_after_add_counts_the_new_scans(layout, tmp_path, capsys):
    scans = tmp_path / "scans"
    for seed in range(3):
        write_scan(scans / f"scan {seed}.jpg", seed=seed)
    assert main(["add", str(scans), "--album", "Grandma"]) == 0
    capsys.readouterr()

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "no photos yet" not in out
    assert "3 new scan(s), not yet registered: the sensor or `restore-photos run` will pick them up" in out


def test_status_of_an_empty_gallery_says_how_to_add(layout, capsys):
    assert main(["status"]) == 0
    assert "no photos yet" in capsys.readouterr().out
