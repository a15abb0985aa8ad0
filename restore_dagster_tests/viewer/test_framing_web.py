"""The owner's Frame panel in the web viewer: who may frame (owner, CSRF; never a share-link visitor),
what is refused and why (corners off the picture, crossed, no area, a turn that is not 90° steps),
what is stored (fractions, ordered), that saving re-queues the photo from ``scanned``, and the reset."""
from __future__ import annotations

import json
import re

import pytest

from restore_dagster.lineage import read_failure, record_failure
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.conftest import csrf_of, share_token
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.test_albums import _publish_current

CORNERS = [[0.1, 0.05], [0.9, 0.1], [0.95, 0.9], [0.05, 0.95]]


@pytest.fixture
def published(app, layout):
    """A photo restored from its current inputs: (photo url, key)."""
    library = app.state.services.library
    album = library.create_album("Prints")
    write_scan(library.root / album.folder / "table.jpg", grey=True, size=(120, 90), seed=3)
    album_path, photo_url = f"/albums/{album.folder}", f"/albums/{album.folder}/photos/table.jpg"
    key = _publish_current(app, layout, album_path, photo_url)
    mark_done(layout, key)
    assert plan(layout).requests == []
    return photo_url, key


def _save(client, photo_url, body, csrf=True):
    """As the editor sends it: corners as "x,y x,y x,y x,y" (empty: automatic) and the turn, form fields."""
    headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
    corners = body.get("corners")
    data = {"corners": " ".join(f"{x},{y}" for x, y in corners) if corners else "", "rotation": body.get("rotation", 0)}
    return client.post(photo_url + "/framing", data=data, headers=headers)


def test_saving_a_framing_stores_it_and_queues_the_photo_from_scanned(owner, layout, published):
    photo_url, key = published
    assert owner.get(f"/api{photo_url}").json()["state"] == "restored"
    record_failure(layout, key, "scanned", "old", "an earlier failure", None)

    shuffled = [CORNERS[2], CORNERS[0], CORNERS[3], CORNERS[1]]  # any order: stored top-left first
    response = _save(owner, photo_url, {"corners": shuffled, "rotation": 270})
    assert response.status_code == 200, response.text
    assert response.json()["detail"] == "saved"
    assert response.json()["photo"]["state"] == "waiting"
    stored = json.loads((layout.state / "settings.json").read_text())[key]
    assert stored == {"frame_corners": CORNERS, "rotation": 270}
    assert read_failure(layout, key) is None, "a failure on the old framing no longer applies"
    requests = plan(layout).requests
    assert [(r.keys, r.start) for r in requests] == [((key,), "scanned")]

    # The page starts from the saved corners and turn, and offers the reset.
    page = owner.get(photo_url).text
    corners = json.loads(re.search(r'data-corners="([^"]*)"', page).group(1).replace("&#34;", '"'))
    assert corners == CORNERS
    assert 'data-rotation="270"' in page and 'data-manual="true"' in page and 'id="frame-reset"' in page
    owner.cookies.set("lang", "zh")
    assert "裁切和旋转" in owner.get(photo_url).text and "恢复自动" in owner.get(photo_url).text


def test_only_a_turn_keeps_the_framing_automatic(owner, layout, published):
    photo_url, key = published
    assert _save(owner, photo_url, {"corners": None, "rotation": 90}).status_code == 200
    settings = SettingsStore(layout.state).get(key)
    assert (settings.frame_corners, settings.rotation) == (None, 90)
    page = owner.get(photo_url).text
    assert 'data-manual="false"' in page and 'data-rotation="90"' in page


@pytest.mark.parametrize("corners, reason", [
    ([[0, 0], [120, 0], [120, 90], [0, 90]], "outside the picture: corners are fractions"),
    ([[0, 0], [1, 0], [0.5, 0.1], [0, 1]], "do not form a convex quadrilateral"),
    ([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], "do not form a convex quadrilateral"),
    ([[0.1, 0.1], [0.2, 0.1], [0.2, 0.1001], [0.1, 0.1001]], "almost no area"),
    ([[0, 0], [1, 0], [1, 1]], "four x,y pairs"),
])
def test_bad_corners_are_refused_with_a_clear_message_and_nothing_changes(owner, layout, published, corners, reason):
    photo_url, key = published
    response = _save(owner, photo_url, {"corners": corners, "rotation": 0})
    assert response.status_code == 422
    assert reason in response.json()["detail"], response.json()["detail"]
    assert SettingsStore(layout.state).get(key).frame_corners is None
    assert plan(layout).requests == []


def test_a_turn_other_than_90_degree_steps_or_garbled_corners_are_refused(owner, layout, published):
    photo_url, key = published
    response = _save(owner, photo_url, {"corners": CORNERS, "rotation": 45})
    assert response.status_code == 422 and "rotation must be one of (0, 90, 180, 270)" in response.json()["detail"]
    response = owner.post(photo_url + "/framing", data={"corners": "0.1;0.1 top left"}, headers={"X-CSRF-Token": csrf_of(owner)})
    assert response.status_code == 422 and "four x,y pairs separated by spaces" in response.json()["detail"]
    assert SettingsStore(layout.state).get(key).frame_corners is None


def test_only_the_owner_with_the_csrf_token_may_frame(app, anon, owner, layout, published):
    photo_url, key = published
    assert _save(anon, photo_url, {"corners": CORNERS}).status_code == 401
    assert _save(owner, photo_url, {"corners": CORNERS}, csrf=False).status_code == 403
    assert anon.post(photo_url + "/framing/reset", headers={"X-CSRF-Token": csrf_of(anon)}).status_code == 401
    assert SettingsStore(layout.state).get(key).frame_corners is None
    # A share-link visitor sees the photo but none of the panel, and has no such route.
    token = share_token(owner, photo_url.split("/photos/")[0])
    visitor_page = anon.get(f"/s/{token}/photos/table.jpg")
    assert visitor_page.status_code == 200 and "frame-editor" not in visitor_page.text and "framing.js" not in visitor_page.text
    assert anon.post(f"/s/{token}/photos/table.jpg/framing", data={"corners": "0,0 1,0 1,1 0,1"},
                     headers={"X-CSRF-Token": csrf_of(anon)}).status_code in (401, 404, 405)
    assert "frame-editor" in owner.get(photo_url).text


def test_reset_goes_back_to_automatic_and_queues_the_photo(owner, layout, published):
    photo_url, key = published
    assert _save(owner, photo_url, {"corners": CORNERS, "rotation": 90}).status_code == 200
    mark_done(layout, key)  # the framed photo restored
    assert plan(layout).requests == []
    response = owner.post(photo_url + "/framing/reset", data={"csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("#framing")
    assert key not in json.loads((layout.state / "settings.json").read_text())
    assert [(r.keys, r.start) for r in plan(layout).requests] == [((key,), "scanned")]
    page = owner.get(photo_url).text
    assert 'data-manual="false"' in page and 'id="frame-reset"' not in page


def test_the_viewer_compares_the_restoration_with_the_framed_scan_not_the_table(app, anon, owner, layout, published):
    """A framed (or turned) scan is the viewer's "before", for the owner and a share-link visitor alike:
    the print alone lines up with its restoration; an unframed photo keeps its original."""
    import io

    from PIL import Image

    from restore_dagster.lineage import read_record, stage_file, write_record

    photo_url, key = published
    before = lambda client, url: re.search(r'<figure class="cell before-cell">\s*<img class="layer" src="([^"]+)"', client.get(url).text).group(1)  # noqa: E731
    assert before(owner, photo_url) == photo_url + "/screen?v=" + app.state.services.library.photo(
        photo_url.split("/")[2], "table.jpg").version
    assert owner.get(photo_url + "/scan").status_code == 404

    scan = stage_file(layout, "scanned", key, "png")  # what a framed, turned run leaves
    Image.new("RGB", (70, 100), (200, 190, 180)).save(scan, "PNG")
    record = read_record(layout, "scanned", key)
    write_record(layout, "scanned", key, record.fingerprint, scan, {"width": 70, "height": 100, "framing": "manual", "rotation": 90})
    url = before(owner, photo_url)
    assert re.fullmatch(re.escape(photo_url) + r"/scan\?v=\d+", url), url
    response = owner.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (70, 100)
    token = share_token(owner, photo_url.split("/photos/")[0])
    shared = before(anon, f"/s/{token}/photos/table.jpg")
    assert shared.startswith(f"/s/{token}/photos/table.jpg/scan?v=") and anon.get(shared).status_code == 200
