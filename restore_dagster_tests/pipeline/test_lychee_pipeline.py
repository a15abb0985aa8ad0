"""The same sensor and assets against a (fake) Lychee server instead of the folder gallery."""
from __future__ import annotations

import io

import dagster as dg
import pytest
from PIL import Image

from restore_dagster_tests.lychee_fake import FakeLychee
from restore_dagster_tests.pipeline.harness import drain, materialized


def grey_jpeg(seed: int) -> bytes:
    image = Image.radial_gradient("L").resize((40, 30)).point(lambda v: (v + seed * 13) % 256)
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def lychee(monkeypatch):
    with FakeLychee(version="v7") as fake:
        monkeypatch.setenv("RESTORE_LYCHEE_TOKEN", fake.token)
        yield fake


def test_lychee_uploads_are_restored_and_published_back(layout, resources, lychee):
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import StorageResource

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
        assert "processed" in next(p for p in lychee.in_album(album) if p.id == first).tags

        # Re-publishing (a changed setting re-runs the photo) replaces the restoration: no duplicates.
        from restore_dagster.settings import SettingsStore

        SettingsStore(layout.state).set("family-1950/grandma", render_factor=10)
        drain(instance, dict(resources, storage=storage))
        assert sorted(p.title for p in lychee.in_album(restored_album)) == ["Grandma (restored)", "Grandpa (restored)"]

        lychee.fail("GET", "Albums", 503, times=50)  # Lychee down: the tick is skipped, nothing lost
        from restore_dagster_tests.pipeline.harness import tick

        assert isinstance(tick(instance, dict(resources, storage=storage)), dg.SkipReason)


def test_lychee_backend_is_configured_from_the_environment(layout, lychee, monkeypatch):
    from restore_dagster.resources import StorageResource

    monkeypatch.setenv("RESTORE_GALLERY_KIND", "lychee")
    monkeypatch.setenv("RESTORE_LYCHEE_URL", lychee.url)
    monkeypatch.setenv("RESTORE_LYCHEE_DESTINATION", "same")
    monkeypatch.setenv("RESTORE_LYCHEE_INBOXES", "Inbox")
    gallery = StorageResource(home=str(layout.root)).gallery()
    assert gallery.destination == "same"
    inbox, other = lychee.add_album("Inbox"), lychee.add_album("Elsewhere")
    lychee.add_photo(inbox, "in", grey_jpeg(1))
    lychee.add_photo(other, "out", grey_jpeg(2))
    assert [u.album for u in gallery.list_uploads()] == ["Inbox"]
    monkeypatch.setenv("RESTORE_LYCHEE_DESTINATION", "elsewhere")
    with pytest.raises(ValueError, match="destination"):
        StorageResource(home=str(layout.root)).gallery()
