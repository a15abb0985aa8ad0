"""Photo states from the pipeline (waiting, processing, restored, failed) and "restore again"."""
from __future__ import annotations

from restore_dagster.lineage import record_failure
from restore_dagster.viewer.states import instance_busy_keys
from restore_dagster_tests.viewer.conftest import create_album, csrf_of, jpeg_bytes, upload
from restore_dagster_tests.viewer.test_albums import _publish_current


def _register(layout):
    """What the sensor's tick does first: give every upload a key in the registry."""
    from restore_dagster.gallery import FolderGallery
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    store = RegistryStore(layout.state)
    plan = plan_sync(FolderGallery(layout.gallery), layout, store.load(), SettingsStore(layout.state))
    store.save(plan.registry)
    return plan


def _state(owner, photo):
    return owner.get("/api" + photo["url"]).json()


def test_states_waiting_processing_failed_restored(owner, app, layout, busy):
    album = create_album(owner, "States")
    photo = upload(owner, album, jpeg_bytes()).json()
    assert _state(owner, photo)["state"] == "waiting" and "new upload" in _state(owner, photo)["reason"]
    plan = _register(layout)
    key = plan.added[0]
    assert _state(owner, photo)["key"] == key and _state(owner, photo)["state"] == "waiting"
    busy.keys.add(key)
    assert _state(owner, photo)["state"] == "processing"
    busy.keys.clear()
    wanted = plan.requests[0].fingerprints[0]  # what `scanned` should become: its failure blocks exactly this
    record_failure(layout, key, "scanned", wanted, "truncated JPEG", "run-1")
    failed = _state(owner, photo)
    assert failed["state"] == "failed" and failed["reason"] == "scanned: truncated JPEG"
    assert "truncated JPEG" in owner.get(album).text
    _publish_current(app, layout, album, photo["url"])
    restored = _state(owner, photo)
    assert restored["state"] == "restored" and restored["restored"].startswith(photo["url"] + "/restored?v=")


def test_processing_is_read_from_the_dagster_instance(layout):
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

    from restore_dagster.instance import get_instance
    from restore_dagster.partitions import photos

    instance = get_instance(layout)
    instance.add_dynamic_partitions(photos.name, ["a/one", "a/two", "a/three", "b/four"])
    read = instance_busy_keys(layout)
    assert read() == set()
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id="r1", status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": "b/four"}))
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id="r2", status=dg.DagsterRunStatus.STARTING, tags={
        "dagster/asset_partition_range_start": "a/one", "dagster/asset_partition_range_end": "a/two"}))
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", run_id="r3", status=dg.DagsterRunStatus.SUCCESS, tags={"dagster/partition": "a/three"}))
    assert read() == {"b/four", "a/one", "a/two"}


def test_no_instance_means_nothing_is_processing(layout):
    assert instance_busy_keys(layout)() == set()


def test_settings_need_a_registered_photo_and_valid_values(owner, layout):
    album = create_album(owner, "Settings")
    photo = upload(owner, album, jpeg_bytes()).json()
    form = {"render_factor": "20", "model": "stable", "noise_level": "2", "colorize": "on", "csrf_token": csrf_of(owner)}
    early = owner.post(photo["url"] + "/settings", data=form, headers={"Accept": "application/json"})
    assert early.status_code == 409 and "not picked this photo up" in early.json()["detail"]
    assert "Settings can be changed once" in owner.get(photo["url"]).text
    _register(layout)
    for bad in ({"render_factor": "99"}, {"model": "fancy"}, {"noise_level": "7"}, {"colorize": "maybe"}):
        response = owner.post(photo["url"] + "/settings", data={**form, **bad}, headers={"Accept": "application/json"})
        assert response.status_code == 422, bad
    assert owner.post(photo["url"] + "/settings", data=form, follow_redirects=False).status_code == 303
    from restore_dagster.settings import SettingsStore

    key = _state(owner, photo)["key"]
    chosen = SettingsStore(layout.state).get(key)
    # The form of an older page posts the old model name: stored under its new name.
    assert (chosen.render_factor, chosen.model, chosen.noise_level, chosen.colorize) == (20, "deoldify-stable", 2, "on")
    for bad in ({"input_size": "500"}, {"model": "ddcolor-huge"}):
        response = owner.post(photo["url"] + "/settings", data={**form, **bad}, headers={"Accept": "application/json"})
        assert response.status_code == 422, bad
    ddcolor = {**form, "model": "ddcolor-tiny", "input_size": "256"}
    assert owner.post(photo["url"] + "/settings", data=ddcolor, follow_redirects=False).status_code == 303
    chosen = SettingsStore(layout.state).get(key)
    assert (chosen.model, chosen.input_size, chosen.render_factor) == ("ddcolor-tiny", 256, 20)
    page = owner.get(photo["url"]).text
    assert 'name="input_size"' in page and 'value="ddcolor-tiny" selected' in page and "DDColor tiny (fast)" in page


def test_retry_clears_the_failure_so_the_sensor_tries_again(owner, layout):
    album = create_album(owner, "Retry")
    photo = upload(owner, album, jpeg_bytes()).json()
    plan = _register(layout)
    key = plan.added[0]
    record_failure(layout, key, "scanned", plan.requests[0].fingerprints[0], "disk full", None)
    assert _state(owner, photo)["state"] == "failed"
    assert owner.post(photo["url"] + "/retry", data={"csrf_token": csrf_of(owner)}, follow_redirects=False).status_code == 303
    assert _state(owner, photo)["state"] == "waiting"


def test_web_upload_runs_through_the_real_pipeline_and_restore_again_replaces_it(owner, layout, resources):
    """Upload in the web gallery, restore with the real assets, change settings, restore again."""
    from restore_dagster.runner import run_pipeline
    from restore_dagster_tests.conftest import write_scan

    album = create_album(owner, "Pipeline")
    scan = write_scan(layout.root / "incoming" / "grandpa.jpg", grey=True, size=(48, 36), seed=3)
    photo = upload(owner, album, scan.read_bytes(), name="grandpa.jpg").json()
    result = run_pipeline(layout, progress=False, resources=resources)
    assert not result.failed, result.summary()
    first = _state(owner, photo)
    assert first["state"] == "restored"
    page = owner.get(photo["url"]).text
    assert "AI-colourised" in page and "DeOldify artistic" in page and "render factor 8" in page
    assert 'id="compare"' in page
    restored = owner.get(first["restored"])
    assert restored.status_code == 200 and restored.headers["content-type"] in ("image/jpeg", "image/webp")

    form = {"render_factor": "12", "model": "artistic", "noise_level": "0", "colorize": "off", "csrf_token": csrf_of(owner)}
    owner.post(photo["url"] + "/settings", data=form)
    assert _state(owner, photo)["state"] == "waiting"
    assert _state(owner, photo)["restored_version"] == first["restored_version"]  # the old one stays on show meanwhile
    result = run_pipeline(layout, progress=False, resources=resources)
    assert not result.failed, result.summary()
    second = _state(owner, photo)
    assert second["state"] == "restored" and second["restored_version"] != first["restored_version"]
    page = owner.get(photo["url"]).text
    assert "AI-colourised" not in page and "Not colourised" in page
