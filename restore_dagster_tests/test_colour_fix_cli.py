"""``restore-photos colour-fix``: see an area, colour it, list, undo, forget; refusals with a reason."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster import colour_fixes
from restore_dagster.cli import main
from restore_dagster.lineage import colour_fix_path, stage_file, stage_image_file
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.imaging.colour_fix_scene import scene
from restore_dagster_tests.test_sync import mark_done, plan


@pytest.fixture
def coloured(layout):
    write_scan(layout.gallery / "Al" / "x.jpg")
    key = plan(layout).added[0]
    rgb, _, _ = scene(size=(320, 240), grain=3.0)
    for stage in ("upscaled", "colorized"):
        path = stage_file(layout, stage, key, "png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)
    mark_done(layout, key)
    assert plan(layout).requests == []
    return key


def test_see_the_area_colour_it_list_and_undo(layout, coloured, capsys, tmp_path):
    key = coloured
    preview = tmp_path / "area.png"
    assert main(["colour-fix", key, "--at", "0.45,0.8", "--preview", str(preview)]) == 0
    out = capsys.readouterr().out
    assert "covers" in out and "nothing stored" in out
    with Image.open(preview) as image:
        assert image.size == (320, 240)
        outlined = np.asarray(image.convert("RGB"))
    assert ((outlined == (255, 0, 64)).all(axis=-1)).any(), "the area is outlined"
    assert not colour_fix_path(layout, key).exists() and plan(layout).requests == []

    assert main(["colour-fix", key, "--at", "0.45,0.8", "--colour", "#2B4F9E", "--tolerance", "20"]) == 0
    out = capsys.readouterr().out
    [fix] = colour_fixes.fixes_of(layout, key)
    assert f"added {fix.id}: #2b4f9e on" in out and f"restore-photos run --photo {key}" in out
    assert (fix.x, fix.y, fix.tolerance) == (0.45, 0.8, 20)
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))]

    assert main(["colour-fix", key]) == 0
    assert f"1. {fix.id} #2b4f9e at 0.45,0.8 tolerance 20" in capsys.readouterr().out

    assert main(["colour-fix", key, "--undo", "0123abcd"]) == 2
    assert "no colour fix '0123abcd'" in capsys.readouterr().err
    assert main(["colour-fix", key, "--undo"]) == 0
    assert f"undone: {fix.id} #2b4f9e" in capsys.readouterr().out
    assert not colour_fix_path(layout, key).exists()
    assert main(["colour-fix", key, "--undo"]) == 2
    assert main(["colour-fix", key, "--at", "0.45,0.8", "--colour", "#aa0000"]) == 0
    assert main(["colour-fix", key, "--forget"]) == 0
    assert "forgot 1 colour fix(es)" in capsys.readouterr().out and not colour_fix_path(layout, key).exists()


def test_refusals_say_why_and_store_nothing(layout, coloured, capsys):
    key = coloured
    assert main(["colour-fix", "nope/nope", "--at", "0.5,0.5", "--colour", "#ffffff"]) == 2
    assert "no photo 'nope/nope'" in capsys.readouterr().err
    assert main(["colour-fix", key, "--at", "0.5,0.5"]) == 2
    assert "--at needs --colour" in capsys.readouterr().err
    assert main(["colour-fix", key, "--at", "0.5,0.5", "--colour", "blue"]) == 2
    assert "#RRGGBB" in capsys.readouterr().err
    assert main(["colour-fix", key, "--at", "0.5,0.5", "--colour", "#ffffff", "--tolerance", "200"]) == 2
    assert "tolerance" in capsys.readouterr().err
    for bad in (["--at", "640,480"], ["--at", "0.5"], ["--at", "0.5,0.5", "--undo"]):
        with pytest.raises(SystemExit):
            main(["colour-fix", key, *bad, "--colour", "#ffffff"])
    stage_image_file(layout, "upscaled", key).unlink()
    assert main(["colour-fix", key, "--at", "0.5,0.5", "--colour", "#ffffff"]) == 2
    assert "not coloured yet" in capsys.readouterr().err
    assert not colour_fix_path(layout, key).exists()
