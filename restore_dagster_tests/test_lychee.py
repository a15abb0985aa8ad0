"""LycheeGallery against a fake Lychee server (restore_dagster_tests/lychee_fake.py), v7.1 and v6 APIs."""
from __future__ import annotations

import hashlib
import io
import socket

import pytest
from PIL import Image

from restore_dagster.gallery import FolderGallery, GalleryUnavailable
from restore_dagster.lychee import LycheeAuthError, LycheeError, LycheeGallery, LycheeUpload
from restore_dagster_tests.lychee_fake import FakeLychee


def jpeg(seed: int, size=(24, 16)) -> bytes:
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(params=["v7", "v6"])
def lychee(request):
    with FakeLychee(version=request.param) as fake:
        yield fake


def gallery_for(fake: FakeLychee, tmp_path, **kwargs) -> LycheeGallery:
    kwargs.setdefault("backoff", 0.001)
    kwargs.setdefault("timeout", 5)
    return LycheeGallery(fake.url, fake.token, cache_dir=tmp_path / "lychee-cache", **kwargs)


def test_lists_uploads_across_pages_and_skips_restorations(lychee, tmp_path):
    family = lychee.add_album("Family 1950")
    trips = lychee.add_album("Trips")
    ids = [lychee.add_photo(family, f"scan {i}", jpeg(i)) for i in range(5)]  # with the 2 restorations below: 4 pages of 2 in v7
    trip = lychee.add_photo(trips, "Beach.JPG", jpeg(9), extension=".jpg")
    lychee.add_photo(family, "scan 0 (restored)", jpeg(20))  # a restoration in the same album
    lychee.add_photo(family, "odd name", jpeg(21), tags=["restored", "restored-from:" + ids[0]])
    restored_album = lychee.add_album("Family 1950 (restored)")
    lychee.add_photo(restored_album, "scan 1", jpeg(22))

    uploads = gallery_for(lychee, tmp_path).list_uploads()

    assert sorted(u.source for u in uploads) == sorted(ids + [trip])
    by_id = {u.source: u for u in uploads}
    assert by_id[ids[2]] == LycheeUpload(ids[2], "Family 1950", "scan 2.jpg", len(jpeg(2)), 0, hashlib.sha1(jpeg(2)).hexdigest())
    assert by_id[trip].name == "Beach.JPG"  # the extension is not doubled
    assert by_id[ids[2]].signature == "sha1:" + hashlib.sha1(jpeg(2)).hexdigest()
    if lychee.version == "v7":
        assert [f["page"] for f in lychee.calls("GET", "Album::photos") if f["album_id"] == family] == ["1", "2", "3", "4"]
    else:
        assert lychee.calls("GET", "Album")  # fell back to the v6 listing


def test_inboxes_by_title_or_id(lychee, tmp_path):
    family = lychee.add_album("Family")
    trips = lychee.add_album("Trips")
    other = lychee.add_album("Other")
    a = lychee.add_photo(family, "a", jpeg(1))
    b = lychee.add_photo(trips, "b", jpeg(2))
    lychee.add_photo(other, "c", jpeg(3))
    uploads = gallery_for(lychee, tmp_path, inboxes=["Family", trips]).list_uploads()
    assert sorted(u.source for u in uploads) == sorted([a, b])


def test_replaced_photo_changes_the_signature(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    before = gallery.list_uploads()[0].signature
    assert gallery.list_uploads()[0].signature == before
    lychee.photos[photo].data = jpeg(2)  # the user replaced the scan; Lychee keeps the id
    after = gallery.list_uploads()[0]
    assert after.source == photo and after.signature != before


def test_original_is_downloaded_once_per_checksum(tmp_path):
    with FakeLychee(absolute_urls=True) as lychee:
        album = lychee.add_album("Family")
        photo = lychee.add_photo(album, "grandma", jpeg(1), extension=".png")
        gallery = gallery_for(lychee, tmp_path)
        path = gallery.original_path(photo)
        assert path.read_bytes() == jpeg(1) and path.suffix == ".png" and path.parent == tmp_path / "lychee-cache"
        downloads = lambda: len(lychee.calls("GET", f"uploads/original/{photo}.png"))
        gallery_for(lychee, tmp_path).original_path(photo)
        assert downloads() == 1  # unchanged checksum: the cached copy is used
        lychee.photos[photo].data = jpeg(2)
        assert gallery_for(lychee, tmp_path).original_path(photo).read_bytes() == jpeg(2)
        assert downloads() == 2
        assert lychee.photos[photo].tags == []  # reading never touches the original


def test_publish_uploads_in_chunks_tags_and_finds_by_checksum(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    data = bytes(range(256)) * 10  # 2560 bytes: three 1 KiB chunks
    gallery = gallery_for(lychee, tmp_path)

    location = gallery.publish(photo, data, "jpg")

    chunks = lychee.calls("POST", "Photo")
    assert [(c["chunk_number"], c["total_chunks"]) for c in chunks] == [("1", "3"), ("2", "3"), ("3", "3")]
    assert len({c["uuid_name"] for c in chunks}) == 1
    restored_album = lychee.album_named("Family (restored)")
    [restored] = lychee.in_album(restored_album)
    assert restored.data == data  # reassembled by the fake from the chunks
    assert location == f"lychee:{restored.id}"
    assert restored.title == "grandma (restored)"
    assert restored.tags == ["restored", f"restored-from:{photo}"]
    assert lychee.photos[photo].tags == ["processed"]
    assert lychee.photos[photo].data == jpeg(1)
    assert gallery.published_location(photo) == location
    assert [u.source for u in gallery.list_uploads()] == [photo]  # the restoration is not an upload


def test_republish_replaces_without_duplicates(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    first = gallery.publish(photo, jpeg(5), "jpg")
    assert gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg") == first  # identical bytes: reused
    assert len(lychee.calls("POST", "Photo")) == 1
    second = gallery_for(lychee, tmp_path).publish(photo, jpeg(6), "webp")
    restored_album = lychee.album_named("Family (restored)")
    [current] = lychee.in_album(restored_album)
    assert second == f"lychee:{current.id}" != first and current.data == jpeg(6)
    assert len([a for a in lychee.albums.values() if a["title"] == "Family (restored)"]) == 1
    assert lychee.photos[photo].tags == ["processed"]


@pytest.mark.parametrize("same_bytes", [True, False])
def test_crash_between_upload_and_tagging(lychee, tmp_path, same_bytes):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    lychee.fail("PATCH", "Photo::tags", 500)  # the upload lands, then tagging fails
    with pytest.raises(LycheeError, match="500"):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    restored_album = lychee.album_named("Family (restored)")
    [orphan] = lychee.in_album(restored_album)
    assert orphan.tags == []
    assert [u.source for u in gallery_for(lychee, tmp_path).list_uploads()] == [photo]

    retry_bytes = jpeg(5) if same_bytes else jpeg(6)
    location = gallery_for(lychee, tmp_path).publish(photo, retry_bytes, "jpg")

    [restored] = lychee.in_album(restored_album)
    assert restored.data == retry_bytes and location == f"lychee:{restored.id}"
    assert (restored.id == orphan.id) == same_bytes
    assert restored.tags == ["restored", f"restored-from:{photo}"] and restored.title == "grandma (restored)"
    assert len(lychee.calls("POST", "Photo")) == (1 if same_bytes else 2)


def test_publish_into_the_same_album(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path, destination="same")
    lychee.fail("PATCH", "Photo::tags", 500)
    with pytest.raises(LycheeError):
        gallery.publish(photo, jpeg(5), "jpg")
    # Untagged and still titled by its file name, the orphan is known by the mark in that name.
    [orphan] = [p for p in lychee.in_album(album) if p.id != photo]
    assert orphan.tags == [] and f"[restored-from {photo}]" in orphan.title
    assert [u.source for u in gallery.list_uploads()] == [photo]
    location = gallery.publish(photo, jpeg(5), "jpg")
    assert len(lychee.in_album(album)) == 2 and lychee.album_named("Family (restored)") is None
    assert [u.source for u in gallery.list_uploads()] == [photo]
    assert gallery.published_location(photo) == location


def test_album_id_answered_as_object(tmp_path):
    with FakeLychee(album_id_as_object=True, chunk_size=None) as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
        assert len(lychee.in_album(lychee.album_named("Family (restored)"))) == 1
        assert len(lychee.calls("POST", "Photo")) == 1  # no limit given: the 2 MiB default, one chunk


def test_lychee_down_is_gallery_unavailable(tmp_path):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gallery = LycheeGallery(f"http://127.0.0.1:{port}", "t", cache_dir=tmp_path, retries=2, backoff=0.001, timeout=2)
    with pytest.raises(GalleryUnavailable, match="unreachable"):
        gallery.list_uploads()


def test_server_errors_are_retried_then_unavailable(lychee, tmp_path):
    lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    lychee.fail("GET", "Albums", 503, times=2)
    assert len(gallery_for(lychee, tmp_path).list_uploads()) == 1
    lychee.fail("GET", "Albums", 503, times=10)
    with pytest.raises(GalleryUnavailable, match="503"):
        gallery_for(lychee, tmp_path, retries=3).list_uploads()


def test_bad_token_is_an_auth_error_naming_the_variable(lychee, tmp_path):
    lychee.add_album("Family")
    gallery = LycheeGallery(lychee.url, "wrong", cache_dir=tmp_path, backoff=0.001)
    with pytest.raises(LycheeAuthError, match="RESTORE_LYCHEE_TOKEN"):
        gallery.list_uploads()
    assert len(lychee.calls("GET", "Albums")) == 1  # not retried


def test_rate_limit_honours_retry_after(lychee, tmp_path):
    lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    waits = []
    gallery.client.sleep = waits.append
    lychee.fail("GET", "Albums", 429, times=2, headers={"Retry-After": "7"})
    assert len(gallery.list_uploads()) == 1
    assert waits == [7.0, 7.0]
    assert len(lychee.calls("GET", "Albums")) == 3


def test_plan_sync_assigns_keys_from_lychee(lychee, layout, tmp_path):
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    album = lychee.add_album("Family Café 1950")
    grandma = lychee.add_photo(album, "Grandma at the Lake", jpeg(1))
    wedding = lychee.add_photo(album, "wedding.jpg", jpeg(2))
    gallery = gallery_for(lychee, tmp_path)

    plan = plan_sync(gallery, layout, RegistryStore(layout.state).load(), SettingsStore(layout.state))

    assert sorted(plan.added) == ["family-cafe-1950/grandma-at-the-lake", "family-cafe-1950/wedding"]
    assert plan.registry.photos["family-cafe-1950/grandma-at-the-lake"].source == grandma
    assert plan.registry.photos["family-cafe-1950/wedding"].source == wedding
    assert {r.start for r in plan.requests} == {"scanned"}

    lychee.photos[grandma].data = jpeg(3)  # replaced in Lychee
    again = plan_sync(gallery, layout, plan.registry, SettingsStore(layout.state))
    assert again.changed == ["family-cafe-1950/grandma-at-the-lake"] and not again.added


def test_storage_resource_builds_a_lychee_gallery_from_env(lychee, layout, monkeypatch):
    from restore_dagster.resources import StorageResource

    family = lychee.add_album("Family")
    photo = lychee.add_photo(family, "grandma", jpeg(1))
    lychee.add_photo(lychee.add_album("Other"), "elsewhere", jpeg(2))
    monkeypatch.setenv("RESTORE_GALLERY_KIND", "lychee")
    monkeypatch.setenv("RESTORE_LYCHEE_URL", lychee.url + "/api/v2")  # the API address works as well
    monkeypatch.setenv("RESTORE_LYCHEE_INBOXES", "Family")
    monkeypatch.delenv("RESTORE_LYCHEE_TOKEN", raising=False)
    storage = StorageResource(home=str(layout.root))
    with pytest.raises(LycheeAuthError, match="RESTORE_LYCHEE_TOKEN"):
        storage.gallery()
    monkeypatch.setenv("RESTORE_LYCHEE_TOKEN", lychee.token)
    gallery = storage.gallery()
    assert isinstance(gallery, LycheeGallery) and gallery.cache_dir == layout.root / "cache" / "lychee"
    assert [u.source for u in gallery.list_uploads()] == [photo]
    assert isinstance(StorageResource(home=str(layout.root), gallery_kind="folder").gallery(), FolderGallery)
    with pytest.raises(ValueError, match="not 'folder' or 'lychee'"):
        StorageResource(home=str(layout.root), gallery_kind="flickr").gallery()
