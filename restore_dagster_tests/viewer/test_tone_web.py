"""The tone setting in the owner's "Restore again" form, and the note under a toned restoration."""
from __future__ import annotations

from restore_dagster.lineage import fingerprints, weights_signatures, write_record
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.viewer.conftest import csrf_of
from restore_dagster_tests.viewer.test_repair_web import _scanned


def test_the_form_sets_and_validates_the_tone(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    page = owner.get(photo_url).text
    assert 'name="tone"' in page and "Fading and colour cast" in page
    form = {"render_factor": 35, "model": "artistic", "noise_level": 1, "colorize": "auto", "csrf_token": csrf_of(owner)}
    assert owner.post(photo_url + "/settings", data={**form, "tone": "off"}, follow_redirects=False).status_code == 303
    assert SettingsStore(layout.state).get(key).tone == "off"
    assert owner.post(photo_url + "/settings", data={**form, "tone": "sometimes"}, follow_redirects=False).status_code == 422
    assert SettingsStore(layout.state).get(key).tone == "off", "a refused change stores nothing"
    # A form without the field (an older page) keeps it as it is.
    assert owner.post(photo_url + "/settings", data={**form, "render_factor": 20}, follow_redirects=False).status_code == 303
    assert SettingsStore(layout.state).get(key).tone == "off"


def test_a_toned_restoration_says_so(app, owner, layout):
    photo_url, key = _scanned(app, layout)
    assert 'id="tone-mark"' not in owner.get(photo_url).text
    write_record(layout, "toned", key, "fp", None, {"toned": True, "tone": "colour print: ... (blacks lifted to 45)"})
    entry = RegistryStore(layout.state).load().photos[key]
    wanted = fingerprints(entry.signature, SettingsStore(layout.state).get(key), {}, weights_signatures(layout))
    write_record(layout, "published", key, wanted["published"], None,
                 {"location": "x", "width": 128, "height": 96, "format": "JPEG", "bytes": 1000})
    page = owner.get(photo_url).text
    assert 'id="tone-mark"' in page and "Fading corrected" in page
