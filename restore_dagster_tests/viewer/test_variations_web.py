"""The owner's Colour variations panel in the web viewer: asking for them (a request for the sensor),
following their progress, the candidates served by id only, choosing one (the photo's settings, redone
from ``colorized``), and who may do any of it (the owner with the CSRF token; never a share-link visitor).

The variations here are written by ``variations``' own publishing code from small JPEGs: the models
and the asset are tested in pipeline/test_colour_variations.py, the whole path in test_browser_variations.py.
"""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from restore_dagster import variation_requests, variations
from restore_dagster.files import atomic_write_bytes
from restore_dagster.lineage import read_failure, read_record, record_failure
from restore_dagster.progress import PhotoProgress
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.conftest import csrf_of, share_token
from restore_dagster_tests.viewer.test_albums import _publish_current

CANDIDATES = [("deoldify-artistic", 8, (200, 120, 90)), ("deoldify-artistic", 20, (90, 140, 200)),
              ("ddcolor-tiny", 256, (120, 190, 100))]


def jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def write_variations(layout, key, state=variations.MADE, source_fingerprint=None) -> dict:
    """A listing as make_variations writes it, with one JPEG per candidate and a sheet."""
    folder = variations.folder(layout, key)
    candidates = []
    for model, value, colour in CANDIDATES if state == variations.MADE else []:
        candidate = variations.Candidate(model, value)
        name = f"20261201000000abcdef-{candidate.id}.jpg"
        atomic_write_bytes(folder / name, jpeg(colour))
        candidates.append({"id": candidate.id, "model": model, "label": variations.model_label(model),
                           "knob": candidate.knob, "value": value, "knob_label": variations.knob_label(candidate),
                           "file": name, "seconds": 1.0, "cpu_seconds": 1.0})
    sheet = None
    if candidates:
        sheet = "sheet-20261201000000abcdef.jpg"
        atomic_write_bytes(folder / sheet, jpeg((0, 0, 0)))
    toned = read_record(layout, "toned", key)
    listing = {"key": key, "state": state, "at": 1_000.0, "run_id": "r", "source": "toned",
               "source_fingerprint": source_fingerprint or toned.fingerprint, "current": "deoldify-artistic-8",
               "message": "a colour photo: it passes through the colouriser unchanged" if state == variations.COLOUR_PHOTO else "",
               "candidates": candidates, "omitted": [{"model": "ddcolor", "label": "DDColor large (ModelScope)",
                                                      "reason": "DDColor large (ModelScope): weights not here", "detail": "x"}],
               "sheet": sheet, "seconds": 3.0, "device": "cpu"}
    variations._publish(folder, listing)
    return listing


@pytest.fixture
def published(app, layout):
    """A black-and-white photo restored from its current inputs: (photo url, key)."""
    library = app.state.services.library
    album = library.create_album("Prints")
    write_scan(library.root / album.folder / "wedding.jpg", grey=True, size=(120, 90), seed=3)
    album_path, photo_url = f"/albums/{album.folder}", f"/albums/{album.folder}/photos/wedding.jpg"
    key = _publish_current(app, layout, album_path, photo_url)
    mark_done(layout, key)
    assert plan(layout).requests == []
    return photo_url, key


def _post(client, url, data=None, csrf=True):
    return client.post(url, data=data or {}, headers={"X-CSRF-Token": csrf_of(client)} if csrf else {})


def test_asking_for_variations_writes_one_request_and_the_panel_follows_it(owner, layout, published, busy):
    photo_url, key = published
    state = owner.get(photo_url + "/variations/state").json()
    assert (state["state"], state["can_make"], state["candidates"]) == ("none", True, [])
    assert 'id="variations-panel"' in owner.get(photo_url).text

    response = _post(owner, photo_url + "/variations")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "requested"
    [waiting] = variation_requests.pending(layout.state)
    assert waiting["key"] == key
    # Asked again: one request still, a new id (one more run), never a queue of them.
    _post(owner, photo_url + "/variations")
    [again] = variation_requests.pending(layout.state)
    assert again["id"] != waiting["id"]

    # The run has started: "3 of 8".
    progress = PhotoProgress(layout.state, variations.STAGE, key, 1, 1, "run")
    progress.tiles(3, 8, "candidates")
    state = owner.get(photo_url + "/variations/state").json()
    assert (state["state"], state["done"], state["total"]) == ("making", 3, 8)
    # The badge says it too: the variations run names the photo, so the gallery shows it processing.
    busy.keys.add(key)
    photo = owner.get(f"/api{photo_url}").json()
    assert (photo["state"], photo["reason"]) == ("processing", "making colour variations: 3/8 candidates (37%)")
    busy.keys.clear()
    progress.clear()
    # Another stage's progress is not the variations'.
    other = PhotoProgress(layout.state, "upscaled", key, 1, 1, "run")
    other.tiles(3, 8)
    assert owner.get(photo_url + "/variations/state").json()["state"] == "requested"
    other.clear()

    # Made: the candidates, the photo's current colouring marked, the models left out named.
    write_variations(layout, key)
    variation_requests.finish(layout.state, key, started=2e9)
    state = owner.get(photo_url + "/variations/state").json()
    assert state["state"] == "made" and not state["stale"]
    assert (state["seconds"], state["device"]) == (3.0, "cpu")  # what asking cost, said in the panel
    assert [(c["id"], c["current"]) for c in state["candidates"]] == [
        ("deoldify-artistic-8", True), ("deoldify-artistic-20", False), ("ddcolor-tiny-256", False)]
    assert state["omitted"] == [{"model": "ddcolor", "reason": "DDColor large (ModelScope): weights not here"}]
    for candidate, (_, _, colour) in zip(state["candidates"], CANDIDATES):
        image = owner.get(candidate["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert "immutable" in image.headers["cache-control"]
        with Image.open(io.BytesIO(image.content)) as picture:
            assert abs(picture.convert("RGB").getpixel((10, 10))[0] - colour[0]) < 8
    assert owner.get(state["sheet"]).status_code == 200
    # A newer request than the listing: the panel says it was asked for again.
    variation_requests.request(layout.state, key)
    assert owner.get(photo_url + "/variations/state").json()["state"] == "requested"


def test_choosing_a_candidate_stores_it_and_queues_the_photo_from_its_colour(owner, layout, published):
    photo_url, key = published
    write_variations(layout, key)
    record_failure(layout, key, "colorized", "old", "an earlier failure", None)
    response = _post(owner, photo_url + "/variations/choose", {"candidate": "ddcolor-tiny-256"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["detail"] == "chosen"
    assert answer["photo"]["state"] == "waiting"
    assert [c["id"] for c in answer["variations"]["candidates"] if c["current"]] == ["ddcolor-tiny-256"]
    assert json.loads((layout.state / "settings.json").read_text())[key] == {"model": "ddcolor-tiny", "input_size": 256}
    assert read_failure(layout, key) is None, "a failure on the old colouring no longer applies"
    assert [(r.keys, r.start) for r in plan(layout).requests] == [((key,), "colorized")]
    # The same one again: nothing changes.
    assert _post(owner, photo_url + "/variations/choose", {"candidate": "ddcolor-tiny-256"}).json()["detail"] == "unchanged"

    # Colour off: choosing a colouring turns it back to automatic, and says so.
    SettingsStore(layout.state).set(key, colorize="off")
    answer = _post(owner, photo_url + "/variations/choose", {"candidate": "deoldify-artistic-20"}).json()
    assert answer["detail"] == "chosen; colour was off for this photo and is now automatic"
    settings = SettingsStore(layout.state).get(key)
    assert (settings.colorize, settings.model, settings.render_factor) == ("auto", "deoldify-artistic", 20)


@pytest.mark.parametrize("candidate", ["nope-12", "../../settings", "deoldify-artistic-8/../x", "", "x" * 101])
def test_an_unknown_candidate_is_refused_and_nothing_changes(owner, layout, published, candidate):
    photo_url, key = published
    write_variations(layout, key)
    response = _post(owner, photo_url + "/variations/choose", {"candidate": candidate})
    assert response.status_code == 422
    assert SettingsStore(layout.state).overrides(key) == {}


@pytest.mark.parametrize("candidate", ["..", "..%2F..%2Fvariations.json", "variations.json", "%2e%2e", "sheet%00",
                                       "deoldify-artistic-8.jpg", "nope"])
def test_files_are_served_by_candidate_id_only(owner, layout, published, candidate):
    photo_url, key = published
    write_variations(layout, key)
    assert owner.get(f"{photo_url}/variations/image/{candidate}").status_code == 404


def test_a_hand_edited_listing_cannot_name_a_file_outside_its_folder(owner, layout, published):
    photo_url, key = published
    write_variations(layout, key)
    path = variations.folder(layout, key) / variations.LISTING
    listing = json.loads(path.read_text())
    listing["candidates"][0]["file"] = "../../../state/settings.json"
    listing["sheet"] = "/etc/passwd"
    path.write_text(json.dumps(listing))
    (variations.folder(layout, key) / "link.jpg").symlink_to(layout.state / "web.sqlite3")
    listing["candidates"][1]["file"] = "link.jpg"
    path.write_text(json.dumps(listing))
    assert owner.get(f"{photo_url}/variations/image/deoldify-artistic-8").status_code == 404
    assert owner.get(f"{photo_url}/variations/image/deoldify-artistic-20").status_code == 404
    assert owner.get(f"{photo_url}/variations/image/sheet").status_code == 404
    assert owner.get(f"{photo_url}/variations/image/ddcolor-tiny-256").status_code == 200


def test_a_colour_photo_offers_nothing_and_says_why(owner, layout, published):
    photo_url, key = published
    write_variations(layout, key, state=variations.COLOUR_PHOTO)
    state = owner.get(photo_url + "/variations/state").json()
    assert state["state"] == "colour photo" and state["candidates"] == [] and state["sheet"] is None
    assert "passes through" in state["message"]


def test_variations_of_an_earlier_version_are_marked_stale(owner, layout, published):
    photo_url, key = published
    write_variations(layout, key, source_fingerprint="an-older-toned-picture")
    assert owner.get(photo_url + "/variations/state").json()["stale"] is True


def test_before_the_photo_is_toned_nothing_can_be_asked_for(owner, app, layout):
    library = app.state.services.library
    album = library.create_album("New")
    write_scan(library.root / album.folder / "fresh.jpg", grey=True, seed=5)
    plan(layout)  # registered, not processed
    photo_url = f"/albums/{album.folder}/photos/fresh.jpg"
    assert owner.get(photo_url + "/variations/state").json()["can_make"] is False
    response = _post(owner, photo_url + "/variations")
    assert response.status_code == 409 and "tone" in response.json()["detail"]
    assert variation_requests.pending(layout.state) == []


def test_only_the_owner_with_the_csrf_token_may_ask_or_choose(app, anon, owner, layout, published):
    photo_url, key = published
    write_variations(layout, key)
    assert anon.get(photo_url + "/variations/state").status_code == 401
    assert anon.get(f"{photo_url}/variations/image/deoldify-artistic-8").status_code == 401
    assert _post(anon, photo_url + "/variations").status_code == 401
    assert _post(anon, photo_url + "/variations/choose", {"candidate": "ddcolor-tiny-256"}).status_code == 401
    assert _post(owner, photo_url + "/variations", csrf=False).status_code == 403
    assert _post(owner, photo_url + "/variations/choose", {"candidate": "ddcolor-tiny-256"}, csrf=False).status_code == 403
    assert variation_requests.pending(layout.state) == [] and SettingsStore(layout.state).overrides(key) == {}
    # A share-link visitor sees the photo but none of the panel, and has no such route.
    token = share_token(owner, photo_url.split("/photos/")[0])
    page = anon.get(f"/s/{token}/photos/wedding.jpg")
    assert page.status_code == 200 and "variations-panel" not in page.text and "variations.js" not in page.text
    assert anon.get(f"/s/{token}/photos/wedding.jpg/variations/state").status_code in (401, 404)
    assert anon.get(f"/s/{token}/photos/wedding.jpg/variations/image/deoldify-artistic-8").status_code in (401, 404)


@pytest.mark.parametrize("album, photo", [("..", "wedding.jpg"), ("nope", "wedding.jpg"), ("{album}", ".."),
                                          ("{album}", "..%2F..%2Fsecret.jpg"), ("{album}", "missing.jpg"),
                                          ("{album}", "é" * 130 + ".jpg")])
def test_hostile_album_and_photo_names_are_not_found(owner, layout, published, album, photo):
    photo_url, key = published
    write_variations(layout, key)
    folder = photo_url.split("/")[2]
    base = f"/albums/{album.format(album=folder)}/photos/{photo}"
    assert owner.get(base + "/variations/state").status_code == 404
    assert _post(owner, base + "/variations").status_code == 404
    assert _post(owner, base + "/variations/choose", {"candidate": "ddcolor-tiny-256"}).status_code == 404
    assert variation_requests.pending(layout.state) == [] and SettingsStore(layout.state).overrides(key) == {}


def test_the_panel_speaks_chinese(owner, published):
    photo_url, _ = published
    owner.cookies.set("lang", "zh")
    assert "上色方案" in owner.get(photo_url).text
