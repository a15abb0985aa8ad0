"""The colouriser setting is a model choice: DeOldify or DDColor, per photo, per album and per project.

Old stored names ("artistic", "stable") still load; each model's own knob (render factor, input size)
is the only one in the colour stage's fingerprint, and DeOldify photos keep the fingerprints they had
before DDColor existed, so an upgrade re-colourises nothing.
"""
from __future__ import annotations

import json

import pytest

from restore_dagster import lineage
from restore_dagster.settings import MODELS, PhotoSettings, SettingsStore, album_setting_name


def test_old_model_names_still_load(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"al/x": {"model": "stable"}}))
    (tmp_path / "defaults.json").write_text(json.dumps({"model": "artistic"}))
    store = SettingsStore(tmp_path)
    assert store.defaults.model == "deoldify-artistic"
    assert store.get("al/x").model == "deoldify-stable" and store.get("al/y").model == "deoldify-artistic"
    assert PhotoSettings(model="stable").model == "deoldify-stable"


def test_models_and_their_knobs():
    assert MODELS == ("deoldify-artistic", "deoldify-stable", "ddcolor", "ddcolor-artistic", "ddcolor-tiny")
    assert PhotoSettings(model="deoldify-stable", render_factor=20).colour_knob == ("render_factor", 20)
    assert PhotoSettings(model="ddcolor-tiny", input_size=256).colour_knob == ("input_size", 256)
    assert [PhotoSettings(model=m).weights_kind for m in MODELS] == [
        "artistic", "stable", "ddcolor", "ddcolor-artistic", "ddcolor-tiny"]


@pytest.mark.parametrize("bad", [{"model": "ddcolor-huge"}, {"input_size": 500}, {"input_size": 32},
                                 {"input_size": 4096}, {"input_size": "512"}])
def test_bad_model_settings_are_refused(bad):
    with pytest.raises(ValueError, match="invalid settings"):
        PhotoSettings(**bad)


def test_album_defaults_sit_between_the_project_and_the_photo(tmp_path):
    store = SettingsStore(tmp_path)
    store.set_defaults(model="deoldify-stable")
    assert store.set_album_defaults("wedding", model="ddcolor", input_size=384).model == "ddcolor"
    assert store.get("wedding/a").model == "ddcolor" and store.get("wedding/a").input_size == 384
    assert store.get("other/a").model == "deoldify-stable"
    assert store.set("wedding/b", model="ddcolor-tiny").model == "ddcolor-tiny"
    assert store.overrides("wedding/b") == {"model": "ddcolor-tiny"}  # only what differs from the album's
    store.set("wedding/c", model="ddcolor")  # the album's own value: nothing stored for the photo
    assert store.overrides("wedding/c") == {}
    # Reloaded from disk, as a later run (or the sensor) sees them.
    again = SettingsStore(tmp_path)
    assert (again.get("wedding/b").model, again.get("wedding/b").input_size) == ("ddcolor-tiny", 384)
    again.reset_album_defaults("wedding")
    assert again.get("wedding/a").model == "deoldify-stable" and again.get("wedding/b").model == "ddcolor-tiny"
    with pytest.raises(ValueError, match="invalid settings"):
        again.set_album_defaults("wedding", input_size=100)
    assert not (tmp_path / "album_settings.json").exists() or json.loads(
        (tmp_path / "album_settings.json").read_text()) == {}


def test_a_hand_broken_album_file_names_itself(tmp_path):
    (tmp_path / "album_settings.json").write_text(json.dumps({"al": {"input_size": 7}}))
    with pytest.raises(ValueError, match=r"album_settings.json: settings of album al"):
        SettingsStore(tmp_path).get("al/x")


@pytest.mark.parametrize(("key", "album"), [("album:wedding", "wedding"), ("album:", None), ("album:a/b", None),
                                            ("wedding/a", None), ("defaults", None), ("album:..", "..")])
def test_album_keys(key, album):
    assert album_setting_name(key) == album


def _colour_print(settings: PhotoSettings, weights=None) -> str:
    return lineage.fingerprints("src", settings, {}, weights or {})["colorized"]


def test_deoldify_fingerprints_are_the_ones_from_before_ddcolor():
    """The parts the colour stage hashed before the model choice: {colorize, model, render_factor}."""
    settings = PhotoSettings(model="deoldify-stable", render_factor=20, input_size=1024)
    upstream = lineage.fingerprints("src", settings, {}, {})["upscaled"]
    before = lineage._digest({"up": upstream, "salt": lineage.STAGE_SALT["colorized"], "touchup": None,
                              "settings": {"colorize": "auto", "model": "stable", "render_factor": 20},
                              "weights": "cache:x"})
    assert _colour_print(settings, {"stable": "cache:x"}) == before


def test_each_model_fingerprints_its_own_knob_and_weights():
    ddcolor = PhotoSettings(model="ddcolor-tiny", input_size=256)
    assert _colour_print(ddcolor) != _colour_print(PhotoSettings(model="ddcolor-tiny", input_size=512))
    assert _colour_print(ddcolor) == _colour_print(PhotoSettings(model="ddcolor-tiny", input_size=256, render_factor=9))
    assert _colour_print(ddcolor) != _colour_print(PhotoSettings(model="ddcolor", input_size=256))
    assert _colour_print(ddcolor, {"ddcolor-tiny": "cache:missing"}) != _colour_print(ddcolor, {"ddcolor-tiny": "cache:1"})
    assert _colour_print(ddcolor, {"ddcolor": "cache:1"}) == _colour_print(ddcolor, {"ddcolor": "cache:2"})
    deoldify = PhotoSettings(model="deoldify-artistic", render_factor=20)
    assert _colour_print(deoldify) == _colour_print(PhotoSettings(model="artistic", render_factor=20, input_size=64))


def test_weights_signatures_cover_the_ddcolor_kinds(tmp_path, monkeypatch):
    from restore_dagster.config import Layout

    monkeypatch.setenv("RESTORE_HOME", str(tmp_path))
    monkeypatch.delenv("RESTORE_GALLERY", raising=False)
    for var in ("RESTORE_DDCOLOR_WEIGHTS", "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS", "RESTORE_DDCOLOR_TINY_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)
    layout = Layout.from_env().ensure()
    signatures = lineage.weights_signatures(layout)
    assert {signatures[k] for k in ("ddcolor", "ddcolor-artistic", "ddcolor-tiny")} == {"cache:missing"}
    (layout.weights / "ddcolor_paper_tiny.pth").write_bytes(b"x")
    assert lineage.weights_signatures(layout)["ddcolor-tiny"].startswith("cache:1:")
