"""Why a photo is not (fully) restored: the owner gets the detail, a share-link visitor a short line.

A failure message names server paths (the gallery, the storage root) and the owner's environment
variables; a missing model's detail says where on the server its weights go. Neither may reach a
share-link visitor, in any page or JSON answer, in English or Chinese.
"""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.conftest import create_album, share_token, upload

ENV_VAR = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")  # RESTORE_HOME, DAGSTER_HOME, RESTORE_DEOLDIFY_..._WEIGHTS


@pytest.fixture
def troubled_album(owner, layout, monkeypatch, tmp_path):
    """An album run through the real pipeline without DeOldify weights: two black-and-white scans
    published without colour ("colour pending"), one broken file failed."""
    from restore_dagster.resources import GpuResource, StorageResource
    from restore_dagster.runner import run_pipeline

    monkeypatch.delenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", raising=False)
    album = create_album(owner, "Grandma")
    names = []
    for seed in (1, 2):
        scan = write_scan(tmp_path / f"scan{seed}.jpg", grey=True, size=(48, 36), seed=seed)
        names.append(upload(owner, album, scan.read_bytes(), name=f"scan{seed}.jpg").json()["url"].rsplit("/", 1)[1])
    folder = layout.gallery / album.rsplit("/", 1)[1]
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 this is no JPEG")
    resources = {"storage": StorageResource(home=str(layout.root)), "gpu": GpuResource(device="cpu", download_weights=False)}
    result = run_pipeline(layout, progress=False, resources=resources)
    assert list(result.failed) == ["grandma/broken"], result.summary()
    return {"album": album, "pending": names, "failed": "broken.jpg"}


def _secrets(layout) -> list[str]:
    return [str(layout.root), str(layout.gallery), str(layout.weights), "RESTORE_", "DAGSTER_HOME"]


def test_the_owner_sees_the_detail_one_tap_away(owner, layout, troubled_album):
    album = troubled_album["album"]
    photos = {p["filename"]: p for p in owner.get("/api" + album + "/photos").json()}
    broken, pending = photos["broken.jpg"], photos[troubled_album["pending"][0]]
    assert broken["state"] == "failed" and broken["label"] == "Failed"
    assert broken["reason"].startswith("scanned: ") and str(layout.gallery) in broken["reason"]
    assert pending["state"] == "partial" and pending["label"] == "Colour pending" and pending["pending"] == ["colour"]
    assert pending["reason"] == ("Restored without colour for now: it is coloured automatically once the colouring "
                                 "model is installed.")
    assert str(layout.weights / "ColorizeArtistic_gen.pth") in pending["detail"]
    assert pending["restored"], "published, so it has a restoration to show"

    grid = owner.get(album).text
    reasons = re.findall(r'<span class="reason"[^>]*>([^<]*)</span>', grid)
    assert len(reasons) == 3 and all("\n" not in r for r in reasons)  # one line under each
    assert "Colour pending" in grid

    viewer = owner.get(pending["url"]).text
    assert 'class="badge state-partial" id="state-badge">Colour pending<' in viewer
    detail = re.search(r'<details class="detail"><summary>Details</summary><pre class="detail-text">(.*?)</pre>', viewer, re.S)
    assert detail and "ColorizeArtistic_gen.pth" in detail.group(1) and "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS" in detail.group(1)
    assert "Not colourised" not in viewer  # the pending box says it instead
    assert "3 photos · 2 restored" in owner.get("/").text  # published without colour still counts


@pytest.mark.parametrize("lang, failed, pending", [
    ("en", "Restoration failed", "Restored without colour for now"),
    ("zh", "修复失败", "暂时没有上色"),
])
def test_a_share_visitor_gets_a_short_translated_reason_and_nothing_from_the_server(
    app, owner, layout, troubled_album, lang, failed, pending
):
    token = share_token(owner, troubled_album["album"])
    visitor = TestClient(app, headers={"Accept-Language": lang})
    base = f"/s/{token}"
    answers = {
        "album page": visitor.get(base),
        "album JSON": visitor.get(base + "/api/photos"),
    }
    for name in [troubled_album["failed"], *troubled_album["pending"]]:
        answers[f"viewer {name}"] = visitor.get(f"{base}/photos/{name}")
        answers[f"JSON {name}"] = visitor.get(f"{base}/api/photos/{name}")
    for what, response in answers.items():
        assert response.status_code == 200, what
        for secret in _secrets(layout):
            assert secret not in response.text, f"{what} shows {secret!r}"
        assert not ENV_VAR.findall(response.text), f"{what} shows {ENV_VAR.findall(response.text)}"
        assert "detail-text" not in response.text and "ColorizeArtistic" not in response.text, what

    photos = {p["filename"]: p for p in answers["album JSON"].json()}
    assert photos["broken.jpg"]["state"] == "failed" and photos["broken.jpg"]["reason"] == failed
    assert all(p["detail"] == "" and p["key"] is None for p in photos.values())
    colour = photos[troubled_album["pending"][0]]
    assert colour["state"] == "partial" and colour["reason"].startswith(pending)
    assert colour["label"] == ("Colour pending" if lang == "en" else "待上色")
    assert failed in answers["album page"].text and failed in answers["viewer broken.jpg"].text
    assert pending in answers[f"viewer {troubled_album['pending'][0]}"].text


def test_a_failure_naming_server_paths_and_env_vars_reaches_the_owner_only(app, owner, layout):
    """The long weights error (paths under the storage root, RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS) as a
    failure: the owner reads it whole, a visitor reads "Restoration failed" and nothing else."""
    from restore_dagster.lineage import record_failure
    from restore_dagster.models.weights import DEOLDIFY_WEIGHTS, WEIGHTS_ENV_VARS, WeightsMissingError
    from restore_dagster_tests.viewer.test_states import _register

    album = create_album(owner, "Failed")
    photo = upload(owner, album, write_scan(layout.root / "in" / "a.jpg", seed=5).read_bytes(), name="a.jpg").json()
    plan = _register(layout)
    spec = DEOLDIFY_WEIGHTS["artistic"]
    error = str(WeightsMissingError(spec, layout.weights / spec.name, [(spec.urls[0], "cannot connect: no network")],
                                    urls=spec.urls, env_var=WEIGHTS_ENV_VARS["artistic"]))
    record_failure(layout, plan.added[0], "scanned", plan.requests[0].fingerprints[0], error, "run-1")

    mine = owner.get("/api" + photo["url"]).json()
    assert mine["state"] == "failed" and mine["reason"] == "scanned: Model weights ColorizeArtistic_gen.pth are not available."
    assert mine["detail"] == "scanned: " + error and "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS" in mine["detail"]
    assert "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS" in owner.get(photo["url"]).text  # in the viewer's details

    token = share_token(owner, album)
    name = photo["url"].rsplit("/", 1)[1]
    visitor = TestClient(app)
    for path in (f"/s/{token}", f"/s/{token}/photos/{name}", f"/s/{token}/api/photos", f"/s/{token}/api/photos/{name}"):
        text = visitor.get(path).text
        assert "Restoration failed" in text, path
        for secret in _secrets(layout):
            assert secret not in text, f"{path} shows {secret!r}"
        assert not ENV_VAR.findall(text) and "ColorizeArtistic" not in text and "cannot connect" not in text, path
