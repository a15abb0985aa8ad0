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


def test_status_photos_lists_the_keys_that_settings_and_run_take(layout, tmp_path, capsys):
    from restore_dagster.registry import RegistryStore
    from restore_dagster.resources import StorageResource
    from restore_dagster.sync import plan_sync

    write_scan(layout.gallery / "Grandma's album" / "Wedding.jpg", seed=1)
    storage = StorageResource(home=str(layout.root))
    plan = plan_sync(storage.gallery(), layout, RegistryStore(layout.state).load(), storage.settings())
    RegistryStore(layout.state).save(plan.registry)  # registered, as a sensor tick would

    assert main(["status", "--photos"]) == 0
    out = capsys.readouterr().out
    assert "grandma-s-album/wedding" in out and "Wedding.jpg" in out
    assert main(["settings", "grandma-s-album/wedding", "--render-factor", "20"]) == 0


def test_run_of_an_unknown_photo_says_so_without_a_traceback(layout, capsys):
    assert main(["run", "--quiet", "--photo", "grandmas-album/wedding"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no photo 'grandmas-album/wedding'") and "status --photos" in err
