"""The owner's repair panel and mask corrections in the web viewer (contract item 8's file format).

Routes: who may use them (owner, CSRF; never a share-link visitor), what they refuse and why (not
a PNG, a broken PNG, the wrong size, nothing painted, too big), the file they write (greyscale PNG of
the scan's size: 255 repair here, 0 never, 128 untouched) and how it merges with an earlier one,
and that a correction re-queues the photo from ``repaired``. The repair settings in the form.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from restore_dagster.lineage import (
    fingerprints, read_failure, record_failure, repair_mask_path, scan_touchups, stage_file, weights_signatures, write_record,
)
from restore_dagster.optional_steps import weights_missing
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.viewer import repair_edits
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.conftest import csrf_of, share_token
from restore_dagster_tests.viewer.test_albums import _publish_current

SCAN = (120, 90)


def _png(pixels: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def _strokes(size=SCAN, white=(), black=()) -> bytes:
    """An RGBA PNG as the editor sends it: transparent, white and black boxes (x0, y0, x1, y1) painted."""
    pixels = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    for x0, y0, x1, y1 in white:
        pixels[y0:y1, x0:x1] = (255, 255, 255, 255)
    for x0, y0, x1, y1 in black:
        pixels[y0:y1, x0:x1] = (0, 0, 0, 255)
    return _png(pixels, "RGBA")


def _scanned(app, layout, size=SCAN, repair="auto"):
    """A photo the pipeline has scanned (and published), with ``repair`` set: (photo url, key)."""
    library = app.state.services.library
    album = library.create_album("Repairs")
    write_scan(library.root / album.folder / "grandpa.jpg", grey=True, size=size, seed=3)
    album_path, photo_url = f"/albums/{album.folder}", f"/albums/{album.folder}/photos/grandpa.jpg"
    key = _publish_current(app, layout, album_path, photo_url)
    SettingsStore(layout.state).set(key, repair=repair)
    _publish_current(app, layout, album_path, photo_url)  # current with the repair setting
    scan = stage_file(layout, "scanned", key, "png")
    scan.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 110, 100)).save(scan, "PNG")
    write_record(layout, "scanned", key, "fp", scan, {"width": size[0], "height": size[1]})
    return photo_url, key


def _post(client, photo_url, data: bytes, name="repair-mask.png", content_type="image/png", csrf=True):
    headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
    return client.post(photo_url + "/repair-mask", files={"file": (name, data, content_type)}, headers=headers)


def _written(layout, key) -> np.ndarray:
    with Image.open(repair_mask_path(layout, key)) as image:
        assert image.format == "PNG" and image.mode == "L"
        return np.asarray(image)


def test_only_the_owner_with_the_csrf_token_may_correct(app, owner, anon, layout):
    photo_url, key = _scanned(app, layout)
    body = _strokes(white=[(10, 10, 20, 20)])
    assert _post(anon, photo_url, body).status_code == 401
    assert anon.get(photo_url + "/repair/scan").status_code == 401
    assert anon.get(photo_url + "/repair/mask").status_code == 401
    assert _post(owner, photo_url, body, csrf=False).status_code == 403
    response = owner.post(photo_url + "/repair-mask", files={"file": ("m.png", body, "image/png")},
                          headers={"X-CSRF-Token": "x" * 43})
    assert response.status_code == 403
    assert not repair_mask_path(layout, key).exists()
    assert _post(owner, photo_url, body).status_code == 200
    assert repair_mask_path(layout, key).exists()


def test_a_share_link_visitor_sees_no_repair_panel_and_reaches_no_repair_route(app, owner, anon, layout):
    photo_url, key = _scanned(app, layout)
    album_path = photo_url.rsplit("/photos/", 1)[0]
    token = share_token(owner, album_path)
    page = anon.get(f"/s/{token}/photos/grandpa.jpg")
    assert page.status_code == 200
    for owner_only in ("mask-editor", "repair-panel", "repair.js", "/repair-mask", "/repair/"):
        assert owner_only not in page.text
    for path in ("/repair/scan", "/repair/mask"):
        assert anon.get(f"/s/{token}/photos/grandpa.jpg{path}").status_code == 404
    csrf = csrf_of(anon)
    response = anon.post(f"/s/{token}/photos/grandpa.jpg/repair-mask", files={"file": ("m.png", _strokes(white=[(0, 0, 5, 5)]), "image/png")},
                         headers={"X-CSRF-Token": csrf})
    assert response.status_code in (404, 405)
    assert not repair_mask_path(layout, key).exists()
    owner_page = owner.get(photo_url).text
    assert 'id="mask-editor"' in owner_page and "/static/repair.js" in owner_page


@pytest.mark.parametrize("data, content_type, status, words", [
    (b"", "image/png", 422, "empty"),
    (b"not an image at all", "image/png", 415, "must be a PNG"),
    ("jpeg", "image/png", 415, "must be a PNG"),
    ("truncated", "image/png", 422, "cannot be read"),
    ("wrong size", "image/png", 422, "121×90 pixels but this scan needs 120×90"),
    ("nothing painted", "image/png", 422, "nothing is painted"),
    ("grey only", "image/png", 422, "nothing is painted"),
    ("16-bit", "image/png", 422, "pixel mode"),
])
def test_bad_corrections_are_refused_with_a_reason_and_nothing_is_written(app, owner, layout, data, content_type, status, words):
    photo_url, key = _scanned(app, layout)
    if data == "jpeg":
        buffer = io.BytesIO()
        Image.new("L", SCAN, 255).save(buffer, "JPEG")
        data = buffer.getvalue()
    elif data == "truncated":
        data = _strokes(white=[(0, 0, 50, 50)])[:60]
    elif data == "wrong size":
        data = _strokes(size=(121, 90), white=[(0, 0, 5, 5)])
    elif data == "nothing painted":
        data = _strokes()
    elif data == "grey only":
        data = _png(np.full((SCAN[1], SCAN[0]), 128, np.uint8), "L")
    elif data == "16-bit":
        buffer = io.BytesIO()
        Image.new("I;16", SCAN, 65535).save(buffer, "PNG")
        data = buffer.getvalue()
    response = _post(owner, photo_url, data, content_type=content_type)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert not repair_mask_path(layout, key).exists()


def test_a_correction_over_the_size_limit_is_refused(app, owner, layout, monkeypatch):
    photo_url, key = _scanned(app, layout)
    monkeypatch.setattr(repair_edits, "MAX_CORRECTION_BYTES", 100)
    monkeypatch.setattr("restore_dagster.viewer.routes_repair.MAX_CORRECTION_BYTES", 100)
    response = _post(owner, photo_url, _strokes(white=[(0, 0, 50, 50)]) + b"\0" * 200)
    assert response.status_code == 413 and "larger than the limit" in response.json()["detail"]
    assert not repair_mask_path(layout, key).exists()


def test_a_photo_not_scanned_yet_cannot_be_corrected(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    stage_file(layout, "scanned", key, "json").unlink()
    response = _post(owner, photo_url, _strokes(white=[(0, 0, 5, 5)]))
    assert response.status_code == 409 and "not been scanned" in response.json()["detail"]
    assert "mask-editor" not in owner.get(photo_url).text


def test_the_written_file_is_the_contract_format_and_merges_with_the_earlier_one(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    first = _post(owner, photo_url, _strokes(white=[(10, 10, 30, 30)], black=[(60, 10, 100, 40)]))
    assert first.status_code == 200, first.text
    written = _written(layout, key)
    assert written.shape == (SCAN[1], SCAN[0])
    assert set(np.unique(written)) == {0, 128, 255}
    assert (written[10:30, 10:30] == 255).all() and (written[10:40, 60:100] == 0).all()
    assert (written[50:, :] == 128).all()

    # The second correction paints over part of the "never" box and adds a new "repair here":
    # earlier strokes stay where it does not paint.
    second = _post(owner, photo_url, _strokes(white=[(60, 10, 80, 40), (0, 70, 5, 80)], black=[(10, 10, 15, 15)]))
    assert second.status_code == 200, second.text
    merged = _written(layout, key)
    assert (merged[10:40, 60:80] == 255).all(), "painted over: repair here now"
    assert (merged[10:40, 80:100] == 0).all(), "not painted over: still never"
    assert (merged[10:15, 10:15] == 0).all() and (merged[15:30, 15:30] == 255).all()
    assert (merged[70:80, 0:5] == 255).all()
    assert np.count_nonzero(merged == 128) == merged.size - 20 * 20 - 30 * 40 - 10 * 5
    assert not list(repair_mask_path(layout, key).parent.glob(".*.tmp")), "written atomically, no temp left"


def test_the_stage_reads_the_written_file_as_painted(app, owner, layout):
    from restore_dagster.imaging.repair_mask import read_corrections

    photo_url, key = _scanned(app, layout)
    assert _post(owner, photo_url, _strokes(white=[(10, 10, 30, 30)], black=[(60, 10, 100, 40)])).status_code == 200
    add, remove = read_corrections(repair_mask_path(layout, key), SCAN)
    assert add.sum() == 400 and add[10:30, 10:30].all()
    assert remove.sum() == 1200 and remove[10:40, 60:100].all()


def test_the_editor_size_is_brought_to_the_scan_size_nearest(app, owner, layout, monkeypatch):
    """A big scan is painted on a smaller canvas; the file is still the scan's size, bands unblended."""
    monkeypatch.setattr(repair_edits, "EDITOR_SIDE", 60)
    photo_url, key = _scanned(app, layout)
    assert 'data-width="60" data-height="45"' in owner.get(photo_url).text
    response = _post(owner, photo_url, _strokes(size=(60, 45), white=[(5, 5, 15, 15)], black=[(30, 30, 40, 40)]))
    assert response.status_code == 200, response.text
    written = _written(layout, key)
    assert written.shape == (SCAN[1], SCAN[0]) and set(np.unique(written)) == {0, 128, 255}
    assert (written[10:30, 10:30] == 255).all() and (written[60:80, 60:80] == 0).all()
    refused = _post(owner, photo_url, _strokes(size=(61, 45), white=[(5, 5, 15, 15)]))
    assert refused.status_code == 422 and "120×90 or 60×45" in refused.json()["detail"]


def test_a_correction_clears_the_failure_and_requeues_the_photo_from_repaired(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    assert owner.get("/api" + photo_url).json()["state"] == "restored"
    entry = RegistryStore(layout.state).load().photos[key]
    settings = SettingsStore(layout.state).get(key)
    before = fingerprints(entry.signature, settings, scan_touchups(layout).get(key, {}), weights_signatures(layout))
    record_failure(layout, key, "repaired", before["repaired"], "repaired: out of memory", "run-1")
    response = _post(owner, photo_url, _strokes(white=[(10, 10, 30, 30)]))
    assert response.status_code == 200
    assert response.json()["photo"]["state"] == "waiting"
    assert read_failure(layout, key) is None
    after = fingerprints(entry.signature, settings, scan_touchups(layout).get(key, {}), weights_signatures(layout))
    assert after["scanned"] == before["scanned"], "the scan is not redone"
    assert after["repaired"] != before["repaired"], "the photo re-runs from repaired"
    assert owner.get("/api" + photo_url).json()["state"] == "waiting"


def test_a_correction_turns_repair_off_back_to_automatic(app, owner, layout):
    photo_url, key = _scanned(app, layout, repair="off")
    assert "mask-repair-off" in owner.get(photo_url).text
    response = _post(owner, photo_url, _strokes(white=[(10, 10, 30, 30)]))
    assert response.status_code == 200 and "now automatic" in response.json()["detail"]
    assert SettingsStore(layout.state).get(key).repair == "auto"
    assert response.json()["photo"]["state"] == "waiting"


def test_forget_removes_the_corrections(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    _post(owner, photo_url, _strokes(white=[(10, 10, 30, 30)]))
    assert 'id="mask-forget"' in owner.get(photo_url).text
    response = owner.post(photo_url + "/repair-mask/forget", data={"csrf_token": csrf_of(owner)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == photo_url
    assert not repair_mask_path(layout, key).exists()
    assert 'id="mask-forget"' not in owner.get(photo_url).text


def test_the_overlay_shows_the_last_mask_and_the_corrections_at_the_editor_size(app, owner, layout, monkeypatch):
    monkeypatch.setattr(repair_edits, "EDITOR_SIDE", 60)
    photo_url, key = _scanned(app, layout)
    assert 'data-overlay-url' not in owner.get(photo_url).text  # no mask yet: nothing asked for
    assert owner.get(photo_url + "/repair/mask").status_code == 404
    mask = np.zeros((SCAN[1], SCAN[0]), np.uint8)
    mask[40, :] = 255  # a one-pixel scratch must survive the reduction to the editor's size
    path = stage_file(layout, "repaired", key, "mask.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask, "L").save(path)
    response = owner.get(photo_url + "/repair/mask")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    overlay = np.asarray(Image.open(io.BytesIO(response.content)))
    assert overlay.shape == (45, 60, 4)
    assert (overlay[20, :, 3] > 0).all() and (overlay[20, :, 0] == 255).all(), "the scratch is red"
    assert (overlay[:15, :, 3] == 0).all()
    _post(owner, photo_url, _strokes(size=(60, 45), black=[(0, 18, 30, 22)]))
    overlay = np.asarray(Image.open(io.BytesIO(owner.get(photo_url + "/repair/mask").content)))
    assert tuple(overlay[20, 10]) == repair_edits.OVERLAY["never"], "kept as it is: blue"
    assert tuple(overlay[20, 50]) == repair_edits.OVERLAY["mask"]
    scan = owner.get(photo_url + "/repair/scan")
    assert scan.status_code == 200 and scan.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(scan.content)).size == SCAN


def test_the_repair_panel_shows_the_record(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    assert "Not repaired yet" in owner.get(photo_url).text
    write_record(layout, "repaired", key, "fp", None, {"repair": "repaired 3 region(s), 1.25% of the photo", "repaired": True,
                                                        "coverage_percent": 1.25, "regions": 3, "device": "cpu", "seconds": 4.2})
    page = owner.get(photo_url).text
    assert "Repaired: 3 places, 1.25% of the photo" in page and "On cpu in 4.2 s" in page


def test_weights_missing_tells_the_owner_how_to_fix_it_and_a_visitor_only_that_it_is_pending(app, owner, anon, layout):
    photo_url, key = _scanned(app, layout)
    step = weights_missing("repair", "LaMa big-lama", "best.ckpt",
                           f"Published not repaired.\n\nSet RESTORE_LAMA_WEIGHTS or put best.ckpt in {layout.weights}")
    meta = {"repair": "not repaired: weights missing", "repaired": False, "coverage_percent": 0.0, "regions": 0,
            "device": "", "optional_steps": [step.to_json()]}
    write_record(layout, "repaired", key, "fp", None, meta)
    entry = RegistryStore(layout.state).load().photos[key]
    wanted = fingerprints(entry.signature, SettingsStore(layout.state).get(key), {}, weights_signatures(layout))
    published = _publish_current(app, layout, photo_url.rsplit("/photos/", 1)[0], photo_url)
    assert published == key
    record = {"location": "x", "width": 128, "height": 96, "format": "JPEG", "bytes": 1000, "optional_steps": [step.to_json()]}
    write_record(layout, "published", key, wanted["published"], None, record)
    page = owner.get(photo_url).text
    assert "Not repaired: weights missing" in page and "RESTORE_LAMA_WEIGHTS" in page and "How to fix it" in page
    assert owner.get("/api" + photo_url).json()["label"] == "Repair pending"
    token = share_token(owner, photo_url.rsplit("/photos/", 1)[0])
    visitor = anon.get(f"/s/{token}/photos/grandpa.jpg", headers={"Accept-Language": "zh-CN"}).text
    assert "待修复" in visitor and "修复模型安装好后会自动修复" in visitor
    assert "RESTORE_LAMA_WEIGHTS" not in visitor and str(layout.root) not in visitor


def test_settings_accept_and_validate_repair_and_threshold(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    form = {"render_factor": 35, "model": "artistic", "noise_level": 1, "colorize": "auto", "csrf_token": csrf_of(owner)}
    response = owner.post(photo_url + "/settings", data={**form, "repair": "on", "repair_threshold": "0.25"}, follow_redirects=False)
    assert response.status_code == 303
    stored = SettingsStore(layout.state).get(key)
    assert (stored.repair, stored.repair_threshold) == ("on", 0.25)
    page = owner.get(photo_url).text
    assert '<option value="on" selected>' in page and 'value="0.25"' in page
    for bad in ({"repair": "sometimes"}, {"repair_threshold": "0.99"}, {"repair_threshold": "nan"}, {"repair_threshold": "inf"},
                {"repair_threshold": "a lot"}):
        response = owner.post(photo_url + "/settings", data={**form, **bad}, follow_redirects=False)
        assert response.status_code == 422, (bad, response.text)
    stored = SettingsStore(layout.state).get(key)
    assert (stored.repair, stored.repair_threshold) == ("on", 0.25), "a refused change stores nothing"
    # A form without the repair fields (an older page) keeps them as they are.
    assert owner.post(photo_url + "/settings", data={**form, "render_factor": 20}, follow_redirects=False).status_code == 303
    stored = SettingsStore(layout.state).get(key)
    assert (stored.repair, stored.repair_threshold, stored.render_factor) == ("on", 0.25, 20)


def test_settings_accept_and_validate_the_magnification_cap(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    form = {"render_factor": 35, "model": "artistic", "noise_level": 1, "colorize": "auto", "csrf_token": csrf_of(owner)}
    assert 'name="max_magnification"' in owner.get(photo_url).text and 'value="4.0"' in owner.get(photo_url).text
    response = owner.post(photo_url + "/settings", data={**form, "max_magnification": "2.5"}, follow_redirects=False)
    assert response.status_code == 303
    assert SettingsStore(layout.state).get(key).max_magnification == 2.5
    for bad in ("0.5", "65", "nan", "inf", "big"):
        response = owner.post(photo_url + "/settings", data={**form, "max_magnification": bad}, follow_redirects=False)
        assert response.status_code == 422, (bad, response.text)
    assert SettingsStore(layout.state).get(key).max_magnification == 2.5, "a refused change stores nothing"
    # A form without the field (an older page) keeps it as it is.
    assert owner.post(photo_url + "/settings", data=form, follow_redirects=False).status_code == 303
    assert SettingsStore(layout.state).get(key).max_magnification == 2.5


def test_the_editor_says_when_a_hand_repaired_image_makes_corrections_wait(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    assert "mask-hand-repaired" not in owner.get(photo_url).text
    album, photo = key.split("/")
    touchup = layout.touchup_dir("repaired") / album / f"{photo}.png"
    touchup.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", SCAN, (1, 2, 3)).save(touchup)
    assert "mask-hand-repaired" in owner.get(photo_url).text
