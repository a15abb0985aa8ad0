"""The quality floor's settings: stored photos' old ones still load, the new ones are checked."""

from __future__ import annotations

import json

import pytest

from restore_dagster.settings import PhotoSettings, SettingsStore, parse_web_formats


def test_settings_stored_before_the_detail_floor_still_load(tmp_path):
    """state/settings.json written before issue 12 holds ssim_floor only: it keeps its meaning
    (SSIM at screen scale) and the photo gets the default 1:1 floor and formats."""
    (tmp_path / "settings.json").write_text(json.dumps({"family-1962/wedding": {"ssim_floor": 0.95, "max_bytes": 900000}}))
    (tmp_path / "defaults.json").write_text(json.dumps({"ssim_floor": 0.96}))

    store = SettingsStore(tmp_path)
    photo = store.get("family-1962/wedding")

    assert (photo.ssim_floor, photo.max_bytes) == (0.95, 900000)
    assert (photo.detail_floor_1to1, photo.web_formats) == (0.90, "JPEG,WEBP")
    assert store.get("family-1962/other").ssim_floor == 0.96


def test_the_new_fields_are_stored_and_validated(tmp_path):
    store = SettingsStore(tmp_path)

    assert store.set("a/b", detail_floor_1to1=0.85, web_formats="jpeg, webp, avif").web_formats == "jpeg, webp, avif"
    assert SettingsStore(tmp_path).get("a/b").detail_floor_1to1 == 0.85
    with pytest.raises(ValueError, match="detail_floor_1to1 must be between 0.5 and 1"):
        store.set("a/b", detail_floor_1to1=1.5)
    with pytest.raises(ValueError, match="web_formats must be a comma-separated list of JPEG, WEBP, AVIF"):
        PhotoSettings(web_formats="png")
    with pytest.raises(ValueError, match="web_formats"):
        PhotoSettings(web_formats="")


def test_web_formats_are_parsed_in_order_without_repeats():
    assert parse_web_formats("webp, JPEG,webp") == ("WEBP", "JPEG")
    assert parse_web_formats("avif") == ("AVIF",)
    assert parse_web_formats("jpeg,gif") == ()


def test_the_cli_sets_the_floors_and_formats(layout, capsys):
    from restore_dagster.cli import main

    assert main(["settings", "defaults", "--detail-floor", "0.92", "--ssim-floor", "0.96", "--web-formats", "JPEG,WEBP,AVIF"]) == 0
    assert "detail_floor_1to1 = 0.92" in capsys.readouterr().out
    defaults = SettingsStore(layout.state).defaults
    assert (defaults.ssim_floor, defaults.detail_floor_1to1, defaults.web_formats) == (0.96, 0.92, "JPEG,WEBP,AVIF")
    assert main(["settings", "defaults", "--web-formats", "GIF"]) == 2
    assert "web_formats must be" in capsys.readouterr().err
