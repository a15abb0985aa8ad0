"""LycheeGallery against a fake Lychee modelled on Lychee's source, in each supported API generation.

The fake (restore_dagster_tests/lychee_fake.py) switches each behaviour on by version as Lychee's
source does; ``VERSIONS`` holds one release each of v6.10, v7.0, v7.3, v7.6 and v7.7.
"""
from __future__ import annotations

import hashlib
import io
import socket

import pytest
from PIL import Image

from restore_dagster.gallery import FolderGallery, GalleryUnavailable
from restore_dagster.lychee import (LycheeAuthError, LycheeDuplicate, LycheeError, LycheeGallery, LycheePending,
                                    LycheeUpload)
from restore_dagster_tests.lychee_fake import VERSIONS, FakeLychee, parse_version


def jpeg(seed: int, size=(24, 16)) -> bytes:
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(params=VERSIONS)
def lychee(request):
    with FakeLychee(version=request.param) as fake:
        yield fake


def gallery_for(fake: FakeLychee, tmp_path, **kwargs) -> LycheeGallery:
    kwargs.setdefault("backoff", 0.001)
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("ready_wait", 0)
    return LycheeGallery(fake.url, fake.token, cache_dir=tmp_path / "lychee-cache", **kwargs)


def restorations(fake: FakeLychee, title="Family (restored)"):
    return fake.in_album(fake.album_named(title))


# -- listing ----------------------------------------------------------------------------------------


def test_lists_uploads_across_pages_and_skips_restorations(lychee, tmp_path):
    family = lychee.add_album("Family 1950")
    trips = lychee.add_album("Trips")
    ids = [lychee.add_photo(family, f"scan {i}", jpeg(i)) for i in range(5)]  # with the 2 restorations below: 4 pages of 2
    trip = lychee.add_photo(trips, "Beach.JPG", jpeg(9), extension=".jpg")
    lychee.add_photo(family, "scan 0 (restored)", jpeg(20))  # a restoration in the same album
    lychee.add_photo(family, "odd name", jpeg(21), tags=["restored", "restored-from:" + ids[0]])
    restored_album = lychee.add_album("Family 1950 (restored)")
    lychee.add_photo(restored_album, "scan 1", jpeg(22))

    uploads = gallery_for(lychee, tmp_path).list_uploads()

    assert sorted(u.source for u in uploads) == sorted(ids + [trip])
    by_id = {u.source: u for u in uploads}
    assert by_id[trip].name == "Beach.JPG"  # the extension is not doubled
    assert by_id[ids[2]].signature == "sha1:" + hashlib.sha1(jpeg(2)).hexdigest()
    if lychee.paged:
        assert [f["page"] for f in lychee.calls("GET", "Album::photos") if f["album_id"] == family][-4:] == ["1", "2", "3", "4"]
    else:
        assert lychee.calls("GET", "Album")  # v6.10 / v7.0: photos under GET /Album's resource


def test_every_json_request_says_content_type_json(lychee, tmp_path):
    """Fault 1: Lychee's content_type:json middleware answers 406 to any JSON route without it, GETs too."""
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    assert [u.source for u in gallery.list_uploads()] == [photo]
    gallery.publish(photo, jpeg(5), "jpg")
    api = [(e, h) for e, h in lychee.headers_seen if not e.startswith("uploads/")]
    assert api and all(h.get("Accept", "").startswith("application/json") for _, h in api)
    for endpoint, headers in api:
        wanted = "multipart/form-data" if endpoint == "Photo" and "boundary" in headers.get("Content-Type", "") else "application/json"
        assert headers.get("Content-Type", "").startswith(wanted), endpoint


def test_filesize_is_read_from_lychees_human_readable_size(lychee, tmp_path):
    """Fault 3: size_variants.*.filesize is "1.46 KB", not a number of bytes."""
    data = jpeg(1, size=(300, 200))
    photo = lychee.add_photo(lychee.add_album("Family"), "grandma", data)
    [upload] = gallery_for(lychee, tmp_path).list_uploads()
    assert upload == LycheeUpload(photo, "Family", "grandma.jpg", upload.size, 0, hashlib.sha1(data).hexdigest())
    assert abs(upload.size - len(data)) <= 0.005 * 1024 ** 1  # "%.2f KB": within rounding


def test_a_deleted_album_does_not_switch_the_listing_style(lychee, tmp_path):
    """Fault 6: a 404 for one album on v7.1+ is not "no Album::photos"; 406 from v6.10/v7.0 is."""
    family = lychee.add_album("Family")
    photo = lychee.add_photo(family, "grandma", jpeg(1))
    gone = lychee.add_album("Gone")
    gallery = gallery_for(lychee, tmp_path, inboxes=["Gone", "Family"])
    gallery._inbox_albums(refresh=True)  # both albums are there when the inboxes are resolved
    del lychee.albums[gone]
    # A fresh client whose very first probe meets the deleted album: only a 406 decides the style.
    with pytest.raises(LycheeError, match="404"):
        gallery.client.album_photos(gone)
    # v7.4+ has no GET /Album any more (406), which settles it; v7.1-v7.3 have both: still undecided.
    assert gallery.client._paged is (False if not lychee.paged else None if lychee.legacy_album_get else True)
    assert [p["id"] for p in gallery.client.album_photos(family)] == [photo]
    assert gallery.client._paged is lychee.paged
    # Once known, a 404 for one album leaves the style alone.
    with pytest.raises(LycheeError, match="404"):
        gallery.client.album_photos(gone)
    assert [p["id"] for p in gallery.client.album_photos(family)] == [photo]
    assert gallery.client._paged is lychee.paged
    if lychee.paged:
        assert len(lychee.calls("GET", "Album")) == 1  # asked once, only to tell a gone album from an old server


def test_unknown_paths_answered_404_still_find_the_old_listing(tmp_path):
    """Behind a proxy that answers unknown paths 404 instead of Lychee's 406, v6 is still recognised."""
    with FakeLychee(version="6.10.4") as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "a", jpeg(1))
        lychee.fail("GET", "Album::photos", 404, times=10)
        assert [u.source for u in gallery_for(lychee, tmp_path).list_uploads()] == [photo]


def test_pages_reordered_while_listing_skip_or_double_nothing(tmp_path):
    """Pages are sorted without a tiebreaker: every photo must be listed exactly once."""
    with FakeLychee(version="7.7.4", per_page=3, shuffle_ties=True) as lychee:
        album = lychee.add_album("Family")
        ids = [lychee.add_photo(album, f"scan {i}", jpeg(i)) for i in range(8)]
        uploads = gallery_for(lychee, tmp_path).list_uploads()
        assert sorted(u.source for u in uploads) == sorted(ids)


def test_inboxes_are_root_titles_or_album_ids_nested_included(lychee, tmp_path):
    family = lychee.add_album("Family")
    trips = lychee.add_album("Trips")
    other = lychee.add_album("Other")
    nested = lychee.add_album("1950s", parent_id=family)  # GET /Albums lists roots only: named by id
    shared = lychee.add_album("From Aunt", owner="aunt")  # under shared_albums
    a = lychee.add_photo(family, "a", jpeg(1))
    b = lychee.add_photo(trips, "b", jpeg(2))
    lychee.add_photo(other, "c", jpeg(3))
    d = lychee.add_photo(nested, "d", jpeg(4))
    e = lychee.add_photo(shared, "e", jpeg(6))
    uploads = gallery_for(lychee, tmp_path, inboxes=["Family", trips, nested, "From Aunt"]).list_uploads()
    assert sorted(u.source for u in uploads) == sorted([a, b, d, e])
    # By default: the user's own root albums (not nested ones, not shared ones).
    c = next(p.id for p in lychee.in_album(other))
    assert sorted(u.source for u in gallery_for(lychee, tmp_path).list_uploads()) == sorted([a, b, c])


def test_an_inbox_title_not_on_the_server_is_no_error(lychee, tmp_path):
    """Not a root album's title and not shaped like an id: nothing to watch there (Lychee answers 422 to such an id)."""
    photo = lychee.add_photo(lychee.add_album("Family"), "a", jpeg(1))
    gallery = gallery_for(lychee, tmp_path, inboxes=["Family", "Not created yet"])
    assert [u.source for u in gallery.list_uploads()] == [photo]


def test_a_deleted_restored_album_is_created_again(lychee, tmp_path):
    family = lychee.add_album("Family")
    nested = lychee.add_album("1950s", parent_id=family)
    photo = lychee.add_photo(nested, "grandma", jpeg(1))
    gallery_for(lychee, tmp_path, inboxes=[nested]).publish(photo, jpeg(5), "jpg")
    old = lychee.album_named("1950s (restored)")
    for p in lychee.in_album(old):
        del lychee.photos[p.id]
    del lychee.albums[old]  # the family deleted it
    location = gallery_for(lychee, tmp_path, inboxes=[nested]).publish(photo, jpeg(5), "jpg")
    new = lychee.album_named("1950s (restored)")
    assert new != old and location == f"lychee:{lychee.in_album(new)[0].id}"


def test_nested_inbox_publishes_into_a_sibling_beside_it(lychee, tmp_path):
    family = lychee.add_album("Family")
    nested = lychee.add_album("1950s", parent_id=family)
    photo = lychee.add_photo(nested, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path, inboxes=[nested])
    location = gallery.publish(photo, jpeg(5), "jpg")
    sibling = lychee.album_named("1950s (restored)")
    assert lychee.albums[sibling]["parent_id"] == family
    assert location == f"lychee:{lychee.in_album(sibling)[0].id}"
    gallery_for(lychee, tmp_path, inboxes=[nested]).publish(photo, jpeg(6), "jpg")
    assert len([a for a in lychee.albums.values() if a["title"] == "1950s (restored)"]) == 1


def test_replaced_photo_changes_the_signature(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    before = gallery.list_uploads()[0].signature
    assert gallery.list_uploads()[0].signature == before
    lychee.photos[photo].data = jpeg(2)  # the user replaced the scan; Lychee keeps the id
    after = gallery.list_uploads()[0]
    assert after.source == photo and after.signature != before


# -- originals --------------------------------------------------------------------------------------


def test_original_is_downloaded_once_per_checksum(lychee, tmp_path):
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


def test_originals_on_another_host_never_get_the_token(tmp_path):
    with FakeLychee(cdn=True) as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        assert gallery_for(lychee, tmp_path).original_path(photo).read_bytes() == jpeg(1)
        assert lychee.cdn.authorizations == [None]


def test_originals_behind_secure_links_are_fetched_as_images(tmp_path):
    """Secure image links are web routes: 406 to "Accept: application/json"."""
    with FakeLychee(secure_links=True) as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        assert gallery_for(lychee, tmp_path).original_path(photo).read_bytes() == jpeg(1)


# -- publishing -------------------------------------------------------------------------------------


def test_publish_uploads_in_chunks_tags_and_finds_by_checksum(lychee, tmp_path):
    """Fault 2: chunk 1 sends uuid_name and extension empty; later chunks send back the server's name."""
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    data = bytes(range(256)) * 10  # 2560 bytes: three 1 KiB chunks
    gallery = gallery_for(lychee, tmp_path)

    location = gallery.publish(photo, data, "jpg")

    chunks = lychee.calls("POST", "Photo")
    assert [(c["chunk_number"], c["total_chunks"]) for c in chunks] == [("1", "3"), ("2", "3"), ("3", "3")]
    assert (chunks[0]["uuid_name"], chunks[0]["extension"]) == ("", "")
    assert chunks[1]["uuid_name"] == chunks[2]["uuid_name"] != "" and chunks[1]["extension"] == ".jpg"
    [restored] = restorations(lychee)
    assert restored.data == data  # reassembled by the fake from the chunks
    assert location == f"lychee:{restored.id}"
    assert restored.title == "grandma (restored)"
    assert restored.tags == ["restored", f"restored-from:{photo}"]
    assert lychee.photos[photo].tags == ["processed"]
    assert lychee.photos[photo].data == jpeg(1)
    assert gallery.published_location(photo) == location
    assert [u.source for u in gallery.list_uploads()] == [photo]  # the restoration is not an upload


def test_republish_replaces_without_duplicates(lychee, tmp_path):
    """Fault 5 (from v6.6.6 DELETE /Photo needs from_id) and fault 7 (v7.7 tags are objects)."""
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    first = gallery.publish(photo, jpeg(5), "jpg")
    assert gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg") == first  # identical bytes: reused
    assert len(lychee.calls("POST", "Photo")) == 1
    second = gallery_for(lychee, tmp_path).publish(photo, jpeg(6), "webp")
    [current] = restorations(lychee)
    assert second == f"lychee:{current.id}" != first and current.data == jpeg(6)
    assert len([a for a in lychee.albums.values() if a["title"] == "Family (restored)"]) == 1
    assert lychee.photos[photo].tags == ["processed"]  # tagged once, also when tags come back as objects
    assert len(lychee.calls("PATCH", "Photo::tags")) == 3  # processed once + two restorations


def test_album_id_answered_as_raw_text_creates_one_album(lychee, tmp_path):
    """Fault 4: POST /Album answers the id as a raw text body; a retry must not create another album."""
    photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    lychee.fail("PATCH", "Photo::tags", 500)
    with pytest.raises(LycheeError):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    assert len(lychee.calls("POST", "Album")) == 1
    assert len(restorations(lychee)) == 1


@pytest.mark.parametrize("same_bytes", [True, False])
def test_crash_between_upload_and_tagging(lychee, tmp_path, same_bytes):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    lychee.fail("PATCH", "Photo::tags", 500)  # the upload lands, then tagging fails
    with pytest.raises(LycheeError, match="500"):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    [orphan] = restorations(lychee)
    assert orphan.tags == []
    assert [u.source for u in gallery_for(lychee, tmp_path).list_uploads()] == [photo]

    retry_bytes = jpeg(5) if same_bytes else jpeg(6)
    location = gallery_for(lychee, tmp_path).publish(photo, retry_bytes, "jpg")

    [restored] = restorations(lychee)
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
    assert orphan.tags == [] and orphan.title.startswith(f"[restored-from {photo}]")
    assert [u.source for u in gallery.list_uploads()] == [photo]
    location = gallery.publish(photo, jpeg(5), "jpg")
    assert len(lychee.in_album(album)) == 2 and lychee.album_named("Family (restored)") is None
    assert [u.source for u in gallery.list_uploads()] == [photo]
    assert gallery.published_location(photo) == location


@pytest.mark.parametrize("title", ["Großmutter Ämilie am See, Sommer 1952 – " * 3, "Mr.. Smith / the \\ garden"])
def test_long_accented_or_odd_titles_fit_lychees_rules(lychee, tmp_path, title):
    """Titles are limited to 100 bytes; new titles are the file name cut to 98 bytes / 100 characters;
    from v7.7.3 file names with "/", "\\" or ".." are refused. The crash mark must survive the cut."""
    album = lychee.add_album(title[:90])
    photo = lychee.add_photo(album, title, jpeg(1))
    lychee.fail("PATCH", "Photo::tags", 500)
    with pytest.raises(LycheeError, match="500"):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    [sibling] = [a for a in lychee.albums.values() if a["title"].endswith(" (restored)")]
    assert len(sibling["title"].encode()) <= 100
    [orphan] = lychee.in_album(sibling["id"])
    assert orphan.title.startswith(f"[restored-from {photo}]")
    location = gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    [restored] = lychee.in_album(sibling["id"])
    assert location == f"lychee:{restored.id}" and restored.id == orphan.id
    assert restored.title.endswith(" (restored)") and len(restored.title.encode()) <= 100
    assert len(lychee.calls("POST", "Photo")) == 1 and len(lychee.calls("POST", "Album")) == 1


def test_embedded_title_replacing_the_mark_is_still_found(tmp_path):
    """IPTC/XMP titles override the file name: the upload is proven ours by its time, not its title."""
    with FakeLychee(version="7.3.3", embedded_title="Holiday") as lychee:
        album = lychee.add_album("Family")
        photo = lychee.add_photo(album, "grandma", jpeg(1))
        location = gallery_for(lychee, tmp_path, destination="same").publish(photo, jpeg(5), "jpg")
        [restored] = [p for p in lychee.in_album(album) if p.id != photo]
        assert location == f"lychee:{restored.id}" and restored.tags == ["restored", f"restored-from:{photo}"]


@pytest.mark.parametrize("linked", ["checksum", "original_checksum"])
def test_never_adopts_someone_elses_identical_photo(lychee, tmp_path, linked):
    """Lychee links an existing photo with the same checksum (or original_checksum) instead of storing
    the upload: that photo is not ours to tag or rename."""
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    elsewhere = lychee.add_album("Holidays")
    other = lychee.add_photo(elsewhere, "beach", jpeg(5))
    if linked == "original_checksum":
        lychee.photos[other].original_data, lychee.photos[other].data = jpeg(5), jpeg(7)  # rotated since
    with pytest.raises(LycheeDuplicate, match=other):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    assert lychee.photos[other].tags == [] and lychee.photos[other].title == "beach"
    assert lychee.photos[photo].tags == []


def test_restoration_identical_to_its_original_never_tags_the_original(lychee, tmp_path):
    album = lychee.add_album("Family")
    photo = lychee.add_photo(album, "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path, destination="same")
    with pytest.raises(LycheeDuplicate):
        gallery.publish(photo, jpeg(1), "jpg")
    assert lychee.photos[photo].tags == [] and lychee.photos[photo].title == "grandma"
    assert [u.source for u in gallery.list_uploads()] == [photo]


def test_server_skipping_duplicates_answers_409(tmp_path):
    with FakeLychee(skip_duplicates=True) as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        lychee.add_photo(lychee.add_album("Holidays"), "beach", jpeg(5))
        with pytest.raises(LycheeDuplicate, match="409"):
            gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")


def test_upload_answered_ready_is_found_later_without_a_second_upload(lychee, tmp_path):
    """With queue processing, the last chunk answers "ready" and the photo appears later."""
    lychee.queue = True
    photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    with pytest.raises(LycheePending, match="queue"):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    assert [u.source for u in gallery_for(lychee, tmp_path).list_uploads()] == [photo]
    with pytest.raises(LycheePending):  # still queued: not uploaded again
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    lychee.run_queue()
    location = gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    [restored] = restorations(lychee)
    assert location == f"lychee:{restored.id}" and restored.tags == ["restored", f"restored-from:{photo}"]
    assert len(lychee.calls("POST", "Photo")) == 1
    assert not (tmp_path / "lychee-cache" / "pending_uploads.json").read_text().strip("{} \n")


def test_an_upload_broken_off_is_uploaded_again_at_once(lychee, tmp_path):
    """Only a queued upload is waited for: one that failed on the way is simply sent again."""
    photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    lychee.fail("POST", "Photo", 422)
    with pytest.raises(LycheeError, match="422"):
        gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    location = gallery_for(lychee, tmp_path).publish(photo, jpeg(5), "jpg")
    [restored] = restorations(lychee)
    assert location == f"lychee:{restored.id}" and len(lychee.calls("POST", "Photo")) == 2


def test_upload_answered_ready_is_waited_for(tmp_path):
    with FakeLychee(version="7.6.4", queue=True) as lychee:
        photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
        gallery = gallery_for(lychee, tmp_path, ready_wait=30, ready_poll=0.01)
        gallery.client.sleep = lambda seconds: lychee.run_queue()  # the worker runs while we wait
        location = gallery.publish(photo, jpeg(5), "jpg")
        [restored] = restorations(lychee)
        assert location == f"lychee:{restored.id}" and len(lychee.calls("POST", "Photo")) == 1
        assert restored.id.startswith("up")  # v7.6+: the id promised as expected_id


# -- errors -----------------------------------------------------------------------------------------


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
    """Fault 8: Lychee answers a wrong token 400 "Invalid token", not 401."""
    lychee.add_album("Family")
    gallery = LycheeGallery(lychee.url, "wrong", cache_dir=tmp_path, backoff=0.001)
    with pytest.raises(LycheeAuthError, match="RESTORE_LYCHEE_TOKEN"):
        gallery.list_uploads()
    assert len(lychee.calls("GET", "Albums")) == 1  # not retried


def test_token_lost_on_the_way_is_an_auth_error(lychee, tmp_path):
    """No Authorization reaching Lychee (a proxy dropping it) makes writes answer 419 (CSRF)."""
    photo = lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    gallery.list_uploads()
    gallery.client._token = ""
    gallery.client._auth = lambda: {}
    with pytest.raises(LycheeAuthError, match="419.*RESTORE_LYCHEE_TOKEN"):
        gallery.publish(photo, jpeg(5), "jpg")


def test_rate_limit_honours_retry_after(lychee, tmp_path):
    lychee.add_photo(lychee.add_album("Family"), "grandma", jpeg(1))
    gallery = gallery_for(lychee, tmp_path)
    waits = []
    gallery.client.sleep = waits.append
    lychee.fail("GET", "Albums", 429, times=2, headers={"Retry-After": "7"})
    assert len(gallery.list_uploads()) == 1
    assert waits == [7.0, 7.0]
    assert len(lychee.calls("GET", "Albums")) == 3


# -- wiring -----------------------------------------------------------------------------------------


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


def test_fake_versions_cover_each_api_generation():
    """The fake's version switches follow Lychee's source (see lychee_fake's docstring)."""
    generations = {v: parse_version(v) for v in VERSIONS}
    assert [v[:2] for v in generations.values()] == [(6, 10), (7, 0), (7, 3), (7, 6), (7, 7)]
