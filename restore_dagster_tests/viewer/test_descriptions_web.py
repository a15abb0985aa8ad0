"""Describing photos on the web: the form, album defaults, the timeline, search, and share visitors."""
from __future__ import annotations

import re

from restore_dagster.descriptions import DescriptionStore
from restore_dagster_tests.viewer.conftest import create_album, csrf_of, jpeg_bytes, share_token, upload


def _photo_url(client, album_path: str, data: bytes, name: str) -> str:
    response = upload(client, album_path, data, name=name)
    assert response.status_code == 201, response.text
    return response.json()["url"]


def _describe(client, photo_url: str, **fields):
    return client.post(photo_url + "/describe", data={**fields, "csrf_token": csrf_of(client)}, follow_redirects=False)


def _card_titles(html: str) -> list[str]:
    return re.findall(r'<span class="photo-title">([^<]*)</span>', html)


def _headings(html: str) -> list[str]:
    return re.findall(r'<li class="timeline-heading"><h2>([^<]*)</h2></li>', html)


def test_a_new_upload_is_described_before_the_pipeline_sees_it(owner, layout):
    album = create_album(owner, "Oma")
    photo = _photo_url(owner, album, jpeg_bytes(value=10), "1962 wedding.jpg")
    page = owner.get(photo).text
    # The file name's date is offered, not applied.
    assert "The file name suggests 1962" in page and 'data-value="1962"' in page
    folder = album.rsplit("/", 1)[1]
    assert all(d.is_empty() for d in [DescriptionStore(layout.state).photo(p) for p in DescriptionStore(layout.state).snapshot().photos])

    response = _describe(owner, photo, date="1962-06-14", caption="Hochzeit in Köln, 婚礼", people="Anna, Jürgen",
                         place="Köln", coordinates="")
    assert response.status_code == 303 and response.headers["location"] == photo
    item = owner.get(photo.replace("/albums/", "/api/albums/", 1)).json()
    assert item["description"]["date"] == "1962-06-14"
    assert item["description"]["people"] == ["Anna", "Jürgen"]
    assert item["description"]["caption"] == "Hochzeit in Köln, 婚礼"
    assert item["key"] is None  # not registered yet, and described all the same
    stored = DescriptionStore(layout.state).snapshot().photos
    assert list(stored) == [f"{folder}/{photo.rsplit('/', 1)[1]}"]
    page = owner.get(photo).text
    assert "Hochzeit in Köln, 婚礼" in page and "Anna, Jürgen" in page and "1962-06-14" in page

    assert _describe(owner, photo, date="IMG_1962").status_code == 422
    assert _describe(owner, photo, caption="x" * 2001).status_code == 422
    assert DescriptionStore(layout.state).snapshot().photos[f"{folder}/{photo.rsplit('/', 1)[1]}"]["date"] == "1962-06-14"
    # The form is the whole description: a field emptied is cleared.
    assert _describe(owner, photo, date="1962-06-14", caption="", people="Anna", place="").status_code == 303
    item = owner.get(photo.replace("/albums/", "/api/albums/", 1)).json()["description"]
    assert (item["caption"], item["date"], item["people"], item["place"]) == ("", "1962-06-14", ["Anna"], "")


def test_timeline_orders_by_date_with_undated_last_and_album_dates_fill_the_undated(owner):
    assert 'data-fill="#album-date" data-value="1962"' in owner.get(create_album(owner, "Hochzeit 1962")).text
    album = create_album(owner, "Familie")
    assert 'data-fill="#album-date"' not in owner.get(album).text
    urls = {name: _photo_url(owner, album, jpeg_bytes(value=20 + i * 30), f"{name}.jpg")
            for i, name in enumerate(["zebra", "apple", "mango", "kiwi"])}
    _describe(owner, urls["zebra"], date="1958-05")
    _describe(owner, urls["apple"], date="1971")
    _describe(owner, urls["mango"], date="1960s")
    timeline = owner.get(album + "?view=timeline").text
    assert _headings(timeline) == ["1958", "1960s", "1971", "Undated"]
    assert _card_titles(timeline) == ["zebra", "mango", "apple", "kiwi"]
    assert _card_titles(owner.get(album).text) == ["zebra", "apple", "mango", "kiwi"]  # the grid: upload order

    # The album's date applies to its undated photo only.
    response = owner.post(album + "/describe", data={"date": "about 1965", "place": "Leipzig", "csrf_token": csrf_of(owner)},
                          follow_redirects=False)
    assert response.status_code == 303
    timeline = owner.get(album + "?view=timeline").text
    assert _headings(timeline) == ["1958", "1960s", "1965", "1971"]
    assert _card_titles(timeline) == ["zebra", "mango", "kiwi", "apple"]
    photos = {p["title"]: p["description"] for p in owner.get(album.replace("/albums/", "/api/albums/", 1) + "/photos").json()}
    assert photos["kiwi"]["date"] == "about 1965" and photos["kiwi"]["from_album"] == ["date", "place"]
    assert photos["kiwi"]["date_label"] == "about 1965"
    assert photos["zebra"]["date"] == "1958-05" and photos["zebra"]["from_album"] == ["place"]
    assert owner.post(album + "/describe", data={"date": "someday", "csrf_token": csrf_of(owner)}).status_code == 422


def test_search_finds_captions_places_and_names_also_for_a_share_visitor(owner, anon):
    album = create_album(owner, "Sommer")
    anna = _photo_url(owner, album, jpeg_bytes(value=40), "a.jpg")
    lake = _photo_url(owner, album, jpeg_bytes(value=90), "b.jpg")
    _describe(owner, anna, people="Anna Schmidt, 王芳", caption="Geburtstag")
    _describe(owner, lake, place="Müggelsee", caption="Am See")
    assert _card_titles(owner.get(album + "?q=anna").text) == ["a"]
    assert _card_titles(owner.get(album + "?q=王芳").text) == ["a"]
    assert _card_titles(owner.get(album + "?q=müggelsee").text) == ["b"]
    assert _card_titles(owner.get(album + "?q=see").text) == ["b"]
    assert "No photo matches" in owner.get(album + "?q=nobody").text
    everywhere = owner.get("/?q=schmidt").text  # across albums, from the albums page
    assert 'id="photo-hits"' in everywhere and "Geburtstag" in everywhere and "Anna Schmidt, 王芳" in everywhere

    token = share_token(owner, album)
    shared = anon.get(f"/s/{token}?q=anna")
    assert shared.status_code == 200 and _card_titles(shared.text) == ["a"]
    filename = anna.rsplit("/", 1)[1]
    shared_photo = anon.get(f"/s/{token}/photos/{filename}").text
    assert "Anna Schmidt, 王芳" in shared_photo and "Geburtstag" in shared_photo
    assert 'id="describe-form"' not in shared_photo  # visitors read, never edit
    assert anon.get(f"/s/{token}/api/photos").json()[0]["description"]["people"] == ["Anna Schmidt", "王芳"]
    assert _headings(anon.get(f"/s/{token}?view=timeline").text) == ["Undated"]
    # A visitor (no owner session) cannot describe.
    refused = anon.post(anna + "/describe", data={"caption": "hacked", "csrf_token": csrf_of(anon)}, follow_redirects=False)
    assert refused.status_code in (303, 401, 403)
    assert owner.get(anna.replace("/albums/", "/api/albums/", 1)).json()["description"]["caption"] == "Geburtstag"


def test_the_form_suggests_names_places_and_dates_from_the_albums_other_photos(owner):
    album = create_album(owner, "Ferien")
    first = _photo_url(owner, album, jpeg_bytes(value=50), "one.jpg")
    second = _photo_url(owner, album, jpeg_bytes(value=150), "two.jpg")
    assert _describe(owner, first, people="Anna, Ben", place="Ostsee", date="1963-07").status_code == 303
    page = owner.get(second).text
    assert 'data-add="#describe-people" data-value="Anna"' in page and 'data-value="Ben"' in page
    assert 'data-fill="#describe-place" data-value="Ostsee"' in page
    assert 'data-fill="#describe-date" data-value="1963-07"' in page


def test_a_restored_photo_described_waits_only_for_publishing_and_says_so(owner, layout):
    from restore_dagster.gallery import FolderGallery
    from restore_dagster.lineage import fingerprints, weights_signatures, write_record
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    album = create_album(owner, "Opa")
    photo = _photo_url(owner, album, jpeg_bytes(value=70), "opa.jpg")
    store = RegistryStore(layout.state)
    plan = plan_sync(FolderGallery(layout.gallery), layout, store.load(), SettingsStore(layout.state))
    store.save(plan.registry)
    entry = next(iter(plan.registry.photos.values()))

    def publish(description=None):  # what the pipeline records once it has published
        wanted = fingerprints(entry.signature, SettingsStore(layout.state).get(entry.key), {}, weights_signatures(layout),
                              description)
        for stage in ("scanned", "upscaled", "colorized", "compressed", "published"):
            write_record(layout, stage, entry.key, wanted[stage], None, {})

    publish()
    api = photo.replace("/albums/", "/api/albums/", 1)
    assert owner.get(api).json()["state"] == "restored"
    _describe(owner, photo, caption="Opa am Meer")
    item = owner.get(api).json()
    assert item["state"] == "waiting" and item["reason"] == "waiting to be published again (no model runs again)"
    publish(DescriptionStore(layout.state).snapshot().signature(entry.source, entry.album))
    assert owner.get(api).json()["state"] == "restored"


def test_dates_and_the_timeline_in_chinese(owner):
    album = create_album(owner, "家")
    first = _photo_url(owner, album, jpeg_bytes(value=30), "a.jpg")
    second = _photo_url(owner, album, jpeg_bytes(value=130), "b.jpg")
    _photo_url(owner, album, jpeg_bytes(value=230), "c.jpg")
    _describe(owner, first, date="about 1962-06")
    _describe(owner, second, date="1950s")
    page = owner.get(album + "?view=timeline", headers={"Accept-Language": "zh-CN"}).text
    assert _headings(page) == ["1950年代", "1962年", "未注明日期"]
    assert "约1962年6月" in page and "时间线" in page
