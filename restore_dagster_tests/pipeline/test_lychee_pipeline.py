"""The same sensor and assets against a (fake) Lychee server instead of the folder gallery, per Lychee version."""
from __future__ import annotations

import io

import dagster as dg
import pytest
from PIL import Image

from restore_dagster_tests.lychee_fake import VERSIONS, FakeLychee
from restore_dagster_tests.pipeline.harness import drain, materialized, tick


def grey_jpeg(seed: int) -> bytes:
    image = Image.radial_gradient("L").resize((40, 30)).point(lambda v: (v + seed * 13) % 256)
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(params=VERSIONS)
def lychee(request, monkeypatch):
    with FakeLychee(version=request.param) as fake:
        monkeypatch.setenv("RESTORE_LYCHEE_TOKEN", fake.token)
        yield fake


def test_lychee_uploads_are_restored_and_published_back(layout, resources, lychee):
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource
    from restore_dagster.settings import SettingsStore

    album = lychee.add_album("Family 1950")
    first = lychee.add_photo(album, "Grandma", grey_jpeg(1))
    lychee.add_photo(album, "Grandpa", grey_jpeg(2))
    storage = StorageResource(home=str(layout.root), gallery_kind="lychee", lychee_url=lychee.url)
    with get_instance(layout) as instance:
        requests = drain(instance, dict(resources, storage=storage))
        assert len(requests) == 1
        assert materialized(instance, "published") == {"family-1950/grandma", "family-1950/grandpa"}
        restored_album = lychee.album_named("Family 1950 (restored)")
        restored = lychee.in_album(restored_album)
        assert sorted(p.title for p in restored) == ["Grandma (restored)", "Grandpa (restored)"]
        assert "processed" in lychee.photos[first].tags
        uploads = len(lychee.calls("POST", "Photo"))

        # Re-publishing (a changed setting re-runs the photo) replaces the restoration: no duplicates.
        SettingsStore(layout.state).set("family-1950/grandma", render_factor=10)
        drain(instance, dict(resources, storage=storage))
        assert sorted(p.title for p in lychee.in_album(restored_album)) == ["Grandma (restored)", "Grandpa (restored)"]

        # A replaced original (Lychee keeps its id, the checksum changes): restored again, the old restoration deleted.
        old = {p.id for p in lychee.in_album(restored_album) if p.title == "Grandma (restored)"}
        lychee.photos[first].data = grey_jpeg(5)
        drain(instance, dict(resources, storage=storage))
        grandma = [p for p in lychee.in_album(restored_album) if p.title == "Grandma (restored)"]
        assert len(grandma) == 1 and grandma[0].id not in old
        assert all(i not in lychee.photos for i in old)  # deleted, not just unlinked
        assert len(lychee.in_album(restored_album)) == 2
        assert len(lychee.calls("POST", "Photo")) >= uploads + 1
        assert len([a for a in lychee.albums.values() if a["title"] == "Family 1950 (restored)"]) == 1

        lychee.fail("GET", "Albums", 503, times=50)  # Lychee down: the tick is skipped, nothing lost
        assert isinstance(tick(instance, dict(resources, storage=storage)), dg.SkipReason)


def test_upload_answered_ready_is_published_once_it_appears(layout, resources, lychee):
    """Lychee with queue processing: the upload answers "ready" and the photo appears a moment later."""
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource

    lychee.queue, lychee.queue_delay = True, 0.3
    album = lychee.add_album("Family")
    lychee.add_photo(album, "Grandma", grey_jpeg(1))
    storage = StorageResource(home=str(layout.root), gallery_kind="lychee", lychee_url=lychee.url)
    with get_instance(layout) as instance:
        drain(instance, dict(resources, storage=storage))
        assert materialized(instance, "published") == {"family/grandma"}
        [restored] = lychee.in_album(lychee.album_named("Family (restored)"))
        assert restored.title == "Grandma (restored)" and "restored" in restored.tags
        assert len(lychee.calls("POST", "Photo")) == 1  # found after it appeared, not uploaded again


def test_wrong_token_stops_with_an_error_naming_the_variable(layout, resources, lychee, monkeypatch):
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource

    lychee.add_photo(lychee.add_album("Family"), "Grandma", grey_jpeg(1))
    monkeypatch.setenv("RESTORE_LYCHEE_TOKEN", "not-the-token")
    storage = StorageResource(home=str(layout.root), gallery_kind="lychee", lychee_url=lychee.url)
    with get_instance(layout) as instance:
        with pytest.raises(Exception, match="RESTORE_LYCHEE_TOKEN"):
            tick(instance, dict(resources, storage=storage))
    assert [e for m, e, f in lychee.requests] == ["Albums"]  # refused at once, not retried


def test_lychee_backend_is_configured_from_the_environment(layout, lychee, monkeypatch):
    from restore_dagster.resources import StorageResource

    monkeypatch.setenv("RESTORE_GALLERY_KIND", "lychee")
    monkeypatch.setenv("RESTORE_LYCHEE_URL", lychee.url)
    monkeypatch.setenv("RESTORE_LYCHEE_DESTINATION", "same")
    monkeypatch.setenv("RESTORE_LYCHEE_INBOXES", "Inbox")
    monkeypatch.setenv("RESTORE_LYCHEE_READY_WAIT", "5")
    gallery = StorageResource(home=str(layout.root)).gallery()
    assert gallery.destination == "same" and gallery.ready_wait == 5
    inbox, other = lychee.add_album("Inbox"), lychee.add_album("Elsewhere")
    lychee.add_photo(inbox, "in", grey_jpeg(1))
    lychee.add_photo(other, "out", grey_jpeg(2))
    assert [u.album for u in gallery.list_uploads()] == ["Inbox"]
    monkeypatch.setenv("RESTORE_LYCHEE_DESTINATION", "elsewhere")
    with pytest.raises(ValueError, match="destination"):
        StorageResource(home=str(layout.root)).gallery()
