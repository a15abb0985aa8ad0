"""restore-photos, as a user runs it: add scans, restore them without the daemon, status, settings, weights."""
import pytest

from restore_dagster.cli import main
from restore_dagster.lineage import read_record
from restore_dagster_tests.conftest import write_scan


@pytest.fixture
def weights_env(monkeypatch, artistic_weights):
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(artistic_weights))
    monkeypatch.setenv("RESTORE_DEVICE", "cpu")


def test_add_run_status_settings(layout, weights_env, tmp_path, capsys):
    scans = tmp_path / "scans"
    write_scan(scans / "Grandma 1950.jpg", seed=1)
    write_scan(scans / "copy.jpg", seed=1)  # same content: reported, not stored twice
    (scans / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (scans / "notes.txt").write_text("ignored")

    assert main(["add", str(scans), "--album", "Grandma"]) == 0
    out = capsys.readouterr().out
    assert "added 2 scan(s)" in out and "1 duplicate(s)" in out
    assert sorted(p.name for p in (layout.gallery / "Grandma").iterdir()) == ["Grandma 1950.jpg", "broken.png"]

    assert main(["run", "--quiet"]) == 1  # one photo failed: non-zero exit, the other is published
    out = capsys.readouterr().out
    assert "failed grandma/broken" in out and "broken.png" in out
    assert (layout.gallery / "Grandma" / "restored").is_dir()
    assert read_record(layout, "published", "grandma/grandma-1950") is not None

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Grandma" in out and "failed grandma/broken" in out

    assert main(["settings", "grandma/grandma-1950", "--render-factor", "12", "--noise-level", "2"]) == 0
    assert "render_factor = 12" in capsys.readouterr().out
    assert main(["run", "--quiet", "--album", "Grandma"]) == 1  # re-runs the changed photo; broken still broken
    assert read_record(layout, "colorized", "grandma/grandma-1950").metadata["render_factor"] == 12
    assert read_record(layout, "upscaled", "grandma/grandma-1950").metadata["noise_level"] == 2

    assert main(["settings", "grandma/grandma-1950", "--render-factor", "99"]) == 2
    assert "render_factor must be between 7 and 64" in capsys.readouterr().err
    assert main(["settings", "nope/nope"]) == 2


def test_weights_command_says_where_to_put_them(layout, monkeypatch, capsys):
    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    assert main(["weights", "--kind", "artistic", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert "ColorizeArtistic_gen.pth" in err and str(layout.weights) in err
    assert "3f750246fa220529323b85a8905f9b49c0e5d427099185334d048fb5b5e22477" in err



def test_settings_for_an_album_and_the_ddcolor_knob(layout, tmp_path, capsys):
    from restore_dagster.gallery import FolderGallery
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    write_scan(layout.gallery / "Wedding" / "a.jpg", seed=1)
    registry = RegistryStore(layout.state)  # what the sensor's first tick does: give the upload a key
    registry.save(plan_sync(FolderGallery(layout.gallery), layout, registry.load(), SettingsStore(layout.state)).registry)
    assert "wedding/a" in registry.load().photos
    assert main(["settings", "album:nope", "--model", "ddcolor"]) == 2
    assert "no album 'nope'" in capsys.readouterr().err
    assert main(["settings", "defaults", "--model", "stable"]) == 0  # the old name, stored as the new one
    assert "model = deoldify-stable" in capsys.readouterr().out
    assert main(["settings", "album:wedding", "--model", "ddcolor-tiny", "--input-size", "256"]) == 0
    out = capsys.readouterr().out
    assert "model = ddcolor-tiny" in out and "input_size = 256" in out
    assert SettingsStore(layout.state).get("wedding/a").model == "ddcolor-tiny"
    assert main(["settings", "album:wedding", "--input-size", "100"]) == 2
    assert "input_size must be a multiple of 32" in capsys.readouterr().err
    assert main(["settings", "album:wedding", "--reset"]) == 0
    assert SettingsStore(layout.state).get("wedding/a").model == "deoldify-stable"


def test_settings_max_magnification(layout, capsys):
    from restore_dagster.settings import SettingsStore

    assert main(["settings", "defaults", "--max-magnification", "3"]) == 0
    assert "max_magnification" in capsys.readouterr().out
    assert SettingsStore(layout.state).get("any/photo").max_magnification == 3
    assert main(["settings", "defaults", "--max-magnification", "0.5"]) == 2
    assert "max_magnification must be between 1 and 64" in capsys.readouterr().err
    assert SettingsStore(layout.state).get("any/photo").max_magnification == 3
