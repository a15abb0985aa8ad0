"""The owner's "Fix a colour" panel and routes, and the album page's colouriser choice.

Who may use them (owner with the CSRF token; never a share-link visitor), what they refuse and why
(points off the picture, bad colours and tolerances, a broken fixes file, a photo not coloured yet),
what they write (touchups/colour-fix/<album>/<photo>.json) and that a fix, its undo and an album's
colouriser re-queue the photos from ``colorized``.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from restore_dagster import colour_fixes
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.lineage import colour_fix_path, read_record, stage_file, stage_image_file, write_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.imaging.colour_fix_scene import scene
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.conftest import csrf_of, share_token
from restore_dagster_tests.viewer.test_albums import _publish_current

SIZE = (320, 240)


def _coloured(app, layout, title="Weddings", name="bride.jpg"):
    """A restored photo with its upscaled and colorized pictures on disk: (photo url, key)."""
    library = app.state.services.library
    album = library.create_album(title)
    write_scan(library.root / album.folder / name, grey=True, size=SIZE, seed=5)
    album_path, photo_url = f"/albums/{album.folder}", f"/albums/{album.folder}/photos/{name}"
    key = _publish_current(app, layout, album_path, photo_url)
    rgb, _, _ = scene(size=SIZE, grain=3.0)
    for stage in ("upscaled", "colorized"):
        path = stage_file(layout, stage, key, "png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)
    mark_done(layout, key)  # every stage current: a change shows where the pipeline starts again
    return photo_url, key


def _apply(client, photo_url, csrf=True, **fields):
    data = {"x": "0.45", "y": "0.8", "tolerance": "24", "colour": "#2b4f9e", **fields}
    headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
    return client.post(photo_url + "/colour-fix", data=data, headers=headers)


def _undo(client, photo_url, fix_id=""):
    return client.post(photo_url + "/colour-fix/undo", data={"id": fix_id} if fix_id else {},
                       headers={"X-CSRF-Token": csrf_of(client)})


def test_tap_see_the_region_apply_and_undo(app, owner, layout):
    photo_url, key = _coloured(app, layout)
    page = owner.get(photo_url).text
    assert 'id="colour-fix"' in page and "/static/colourfix.js" in page and 'id="fix-data">[]' in page

    region = owner.get(photo_url + "/colour-fix/region", params={"x": 0.45, "y": 0.8, "tolerance": 24})
    assert region.status_code == 200 and region.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(region.content)) as image:
        assert image.mode == "LA" and image.size == SIZE
        shown = np.asarray(image.getchannel("A")) > 0
    expected = cf.segment(cf.working_luminance(Image.fromarray(scene(size=SIZE, grain=3.0)[0])), 0.45, 0.8, 24)
    assert (shown == expected.mask).all(), "the preview is the region the pipeline will colour"
    assert float(region.headers["X-Region-Percent"]) == pytest.approx(100 * expected.area, abs=0.05)
    assert not colour_fix_path(layout, key).exists(), "looking stores nothing"

    response = _apply(owner, photo_url)
    assert response.status_code == 200, response.text
    body = response.json()
    [item] = body["fixes"]
    assert (item["colour"], item["state"], item["tolerance"]) == ("#2b4f9e", "waiting", 24)
    assert body["photo"]["state"] == "waiting"
    [stored] = colour_fixes.fixes_of(layout, key)
    assert stored.id == item["id"] and (stored.region() == expected.mask).all()
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))], "redone from colorized only"
    assert json.loads(owner.get(photo_url + "/colour-fix/list").text)["fixes"][0]["id"] == stored.id

    # The run replays it: the list then says what became of each fix.
    record = read_record(layout, "colorized", key)
    write_record(layout, "colorized", key, record.fingerprint, None,
                 {**record.metadata, "colour_fixes": {"applied": [stored.id], "skipped": []}})
    assert owner.get(photo_url + "/colour-fix/list").json()["fixes"][0]["state"] == "applied"

    undone = _undo(owner, photo_url)
    assert undone.status_code == 200 and undone.json()["fixes"] == []
    assert not colour_fix_path(layout, key).exists()
    assert _undo(owner, photo_url).status_code == 404


def test_undo_any_fix_by_its_id_and_forget_them_all(app, owner, layout):
    photo_url, key = _coloured(app, layout)
    ids = [_apply(owner, photo_url, colour=c).json()["fixes"][-1]["id"] for c in ("#aa0000", "#00aa00", "#0000aa")]
    assert [f["colour"] for f in _undo(owner, photo_url, ids[1]).json()["fixes"]] == ["#aa0000", "#0000aa"]
    assert _undo(owner, photo_url, "0123abcd").status_code == 404
    assert _undo(owner, photo_url, "../../etc").status_code == 404
    assert 'id="fix-forget"' in owner.get(photo_url).text
    forget = owner.post(photo_url + "/colour-fix/forget", data={"csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert forget.status_code == 303 and forget.headers["location"].endswith("#colour-fix-panel")
    assert not colour_fix_path(layout, key).exists()


def test_only_the_owner_with_the_csrf_token_may_fix_colours(app, owner, anon, layout):
    photo_url, key = _coloured(app, layout)
    for path in ("/colour-fix/region?x=0.5&y=0.5", "/colour-fix/picture", "/colour-fix/list"):
        assert anon.get(photo_url + path).status_code == 401
    csrf = csrf_of(anon)
    assert anon.post(photo_url + "/colour-fix", data={"x": 0.5, "y": 0.5, "colour": "#ffffff"}, headers={"X-CSRF-Token": csrf}).status_code == 401
    assert anon.post(photo_url + "/colour-fix/undo", headers={"X-CSRF-Token": csrf}).status_code == 401
    assert _apply(owner, photo_url, csrf=False).status_code == 403
    assert owner.post(photo_url + "/colour-fix/undo").status_code == 403
    assert owner.post(photo_url + "/colour-fix/forget").status_code == 403
    assert not colour_fix_path(layout, key).exists()


def test_a_share_link_visitor_sees_no_colour_fix_panel_and_reaches_no_colour_fix_route(app, owner, anon, layout):
    photo_url, key = _coloured(app, layout)
    token = share_token(owner, photo_url.rsplit("/photos/", 1)[0])
    page = anon.get(f"/s/{token}/photos/bride.jpg")
    assert page.status_code == 200
    for owner_only in ("colour-fix", "colourfix.js", "fix-data"):
        assert owner_only not in page.text
    for path in ("/colour-fix/region?x=0.5&y=0.5", "/colour-fix/picture", "/colour-fix/list"):
        assert anon.get(f"/s/{token}/photos/bride.jpg{path}").status_code == 404
    response = anon.post(f"/s/{token}/photos/bride.jpg/colour-fix", data={"x": 0.5, "y": 0.5, "colour": "#fff000"},
                         headers={"X-CSRF-Token": csrf_of(anon)})
    assert response.status_code in (404, 405)
    assert not colour_fix_path(layout, key).exists()


@pytest.mark.parametrize("fields, words", [
    ({"x": "-0.1"}, "x"), ({"y": "1.01"}, "y"), ({"x": "nan"}, "x"), ({"x": "abc"}, "x"), ({"x": "inf"}, "x"),
    ({"tolerance": "3"}, "tolerance"), ({"tolerance": "81"}, "tolerance"), ({"tolerance": "1e9"}, "tolerance"),
    ({"colour": "javascript:alert(1)"}, "colour"), ({"colour": "#12345"}, "#RRGGBB"), ({"colour": "#ggg000"}, "#RRGGBB"),
    ({"colour": "<b>red</b>"}, "#RRGGBB"),
])
def test_bad_fixes_are_refused_with_a_reason_and_nothing_is_written(app, owner, layout, fields, words):
    photo_url, key = _coloured(app, layout)
    response = _apply(owner, photo_url, **fields)
    assert response.status_code == 422
    assert words in json.dumps(response.json()["detail"])
    assert not colour_fix_path(layout, key).exists()


@pytest.mark.parametrize("query", ["x=2&y=0.5", "x=0.5", "x=0.5&y=0.5&tolerance=0", "x=0.5&y=-1", "x=%00&y=0.5"])
def test_bad_taps_are_refused_by_the_region_preview(app, owner, layout, query):
    photo_url, _ = _coloured(app, layout)
    assert owner.get(f"{photo_url}/colour-fix/region?{query}").status_code == 422


@pytest.mark.parametrize("photo", ["..%2F..%2Fstate%2Fsettings.json", "%2e%2e", "nothing.jpg", "bride.jpg%00.png"])
def test_hostile_photo_names_reach_no_file(app, owner, layout, photo):
    photo_url, key = _coloured(app, layout)
    album = photo_url.rsplit("/photos/", 1)[0]
    assert owner.get(f"{album}/photos/{photo}/colour-fix/region?x=0.5&y=0.5").status_code == 404
    assert _apply(owner, f"{album}/photos/{photo}").status_code == 404


def test_a_photo_not_coloured_yet_says_so(app, owner, layout):
    photo_url, key = _coloured(app, layout)
    stage_image_file(layout, "upscaled", key).unlink()
    stage_image_file(layout, "colorized", key).unlink()
    assert "Colours can be fixed once the photo has been restored." in owner.get(photo_url).text
    response = owner.get(photo_url + "/colour-fix/region?x=0.5&y=0.5")
    assert response.status_code == 409 and "not been coloured yet" in response.json()["detail"]
    assert _apply(owner, photo_url).status_code == 409
    assert owner.get(photo_url + "/colour-fix/picture").status_code == 404


def test_a_tap_on_an_outline_is_explained(app, owner, layout):
    photo_url, key = _coloured(app, layout)
    ramp = np.tile(np.clip((np.arange(SIZE[0]) - 150) * 12, 0, 240).astype(np.uint8), (SIZE[1], 1))
    Image.fromarray(ramp).convert("RGB").save(stage_image_file(layout, "upscaled", key))
    response = owner.get(photo_url + "/colour-fix/region?x=0.5&y=0.5&tolerance=4")
    assert response.status_code == 422 and "outline" in response.json()["detail"]


def test_a_broken_fixes_file_is_shown_never_overwritten_and_can_be_forgotten(app, owner, layout):
    photo_url, key = _coloured(app, layout)
    path = colour_fix_path(layout, key)
    path.parent.mkdir(parents=True)
    path.write_text('{"format": 1, "fixes": [{"id": "zz"}]}')
    page = owner.get(photo_url).text
    assert 'id="fix-error"' in page and "fix 1: missing" in page
    response = _apply(owner, photo_url)
    assert response.status_code == 422 and str(path) in response.json()["detail"]
    assert path.read_text() == '{"format": 1, "fixes": [{"id": "zz"}]}'
    assert "Forget every colour fix" in _undo(owner, photo_url).json()["detail"]
    owner.post(photo_url + "/colour-fix/forget", data={"csrf_token": csrf_of(owner)})
    assert not path.exists()


def test_the_panel_is_translated(app, owner, layout):
    photo_url, _ = _coloured(app, layout)
    page = owner.get(photo_url, headers={"Accept-Language": "zh-CN"}).text
    assert "修正颜色" in page and "应用颜色" in page and "天蓝" in page


# --- the album's colouriser ----------------------------------------------------------------------------

def _set_model(client, album_path, model, csrf=True):
    data = {"model": model, **({"csrf_token": csrf_of(client)} if csrf else {})}
    return client.post(album_path + "/colouriser", data=data, follow_redirects=False)


def test_the_album_colouriser_is_chosen_on_the_album_page_and_recolours_only_from_colorized(app, owner, anon, layout):
    photo_url, key = _coloured(app, layout)
    album_path = photo_url.rsplit("/photos/", 1)[0]
    library = app.state.services.library
    folder = album_path.rsplit("/", 1)[-1]
    write_scan(library.root / folder / "groom.jpg", grey=True, size=SIZE, seed=6)
    own = _publish_current(app, layout, album_path, album_path + "/photos/groom.jpg")
    SettingsStore(layout.state).set(own, model="deoldify-stable")  # this photo has its own colouriser
    mark_done(layout, own)
    assert plan(layout).requests == []

    page = owner.get(album_path).text
    assert 'id="album-colouriser-form"' in page and 'id="album-colouriser-own"' in page
    assert '<option value="" selected>Project default: DeOldify artistic (vivid)</option>' in page

    response = _set_model(owner, album_path, "ddcolor")
    assert response.status_code == 303 and response.headers["location"].endswith("#album-colouriser")
    slug = key.split("/", 1)[0]
    assert SettingsStore(layout.state).album_overrides(slug) == {"model": "ddcolor"}
    assert SettingsStore(layout.state).get(key).model == "ddcolor"
    assert SettingsStore(layout.state).get(own).model == "deoldify-stable", "a photo's own choice wins"
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))]
    assert '<option value="ddcolor" selected>' in owner.get(album_path).text

    # Back to the project default: nothing stored for the album; it follows the project from then on.
    assert _set_model(owner, album_path, "").status_code == 303
    assert SettingsStore(layout.state).album_overrides(slug) == {}
    assert plan(layout).requests == []

    assert _set_model(owner, album_path, "deoldify-supreme").status_code == 422
    assert _set_model(owner, album_path, "x" * 41).status_code == 422
    assert _set_model(owner, album_path, "ddcolor", csrf=False).status_code == 403
    assert anon.post(album_path + "/colouriser", data={"model": "ddcolor", "csrf_token": csrf_of(anon)}).status_code == 401
    assert SettingsStore(layout.state).album_overrides(slug) == {}
    token = share_token(owner, album_path)
    assert "album-colouriser" not in anon.get(f"/s/{token}").text


def test_an_album_the_pipeline_has_not_seen_cannot_choose_yet(owner, app):
    album = app.state.services.library.create_album("New scans")
    assert "picked up the album" in owner.get(f"/albums/{album.folder}").text
    assert _set_model(owner, f"/albums/{album.folder}", "ddcolor").status_code == 409
