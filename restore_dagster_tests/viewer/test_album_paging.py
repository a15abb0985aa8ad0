"""An album page shows one page of photos (album_pages.py), with the whole album's counts and links to the others.

The album here holds two full pages and 7 photos more, copied into its folder by hand as an archive's
scans would be (``scan 0000.jpg`` … ``scan 0406.jpg``): pages of 200, 200 and 7.
"""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from restore_dagster.registry import RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.viewer.album_pages import PAGE_SIZE
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, share_token
from restore_dagster_tests.viewer.test_albums import _folder, _publish_current

PHOTOS = 2 * PAGE_SIZE + 7


def _name(i: int) -> str:
    return f"scan {i:04d}.jpg"


@pytest.fixture
def big(owner, app) -> str:
    """An album of PHOTOS photos; returns its page path."""
    album = create_album(owner, "Scans")
    folder = app.state.services.library.root / _folder(album)
    data = jpeg_bytes()
    for i in range(PHOTOS):
        (folder / _name(i)).write_bytes(data)
    return album


def _cards(page: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'<li class="photo-card" data-filename="([^"]+)"', page)]


def _link(page: str, pattern: str) -> str | None:
    match = re.search(pattern, page)
    return html.unescape(match.group(1)) if match else None


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_first_page_holds_only_its_photos_with_the_whole_albums_counts(owner, big):
    page = owner.get(big).text
    assert _cards(page) == [_name(i) for i in range(PAGE_SIZE)]
    # Nothing of the other pages' photos is in the HTML: not a card, not a thumbnail, not a title.
    assert "scan 0200" not in page and "scan%200200" not in page and "scan 0406" not in page
    assert page.count("/thumb?v=") == PAGE_SIZE
    assert f"{PHOTOS} photos · " in page  # the summary counts the whole album
    assert "Photos 1–200 of 407" in page
    assert _link(page, r'id="load-more" href="([^"]+)"') == big + "?page=2"
    assert "Show 200 more" in page
    assert _link(page, r'rel="next" href="([^"]+)"') == big + "?page=2"
    assert 'rel="prev"' not in page
    assert "Page 1 of 3" in page
    # The poller asks for this page's states only.
    assert _link(page, r'data-status-url="([^"]+)"') == "/api/" + big.lstrip("/") + "/photos?page=1"


def test_middle_and_last_pages(owner, big):
    middle = owner.get(big + "?page=2").text
    assert _cards(middle) == [_name(i) for i in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    assert "Photos 201–400 of 407" in middle and "Page 2 of 3" in middle
    assert _link(middle, r'rel="prev" href="([^"]+)"') == big  # page 1 has no page parameter
    assert _link(middle, r'rel="next" href="([^"]+)"') == big + "?page=3"
    assert _link(middle, r'<a href="([^"]+)" aria-current="page">2</a>') == big + "?page=2"
    assert "Show 7 more" in middle

    last = owner.get(big + "?page=3").text
    assert _cards(last) == [_name(i) for i in range(2 * PAGE_SIZE, PHOTOS)]
    assert "Photos 401–407 of 407" in last and "Page 3 of 3" in last
    assert 'rel="next"' not in last and 'id="load-more"' not in last
    assert _link(last, r'rel="prev" href="([^"]+)"') == big + "?page=2"


def test_a_small_album_is_one_page_without_a_pager(owner, app):
    album = create_album(owner, "Small")
    folder = app.state.services.library.root / _folder(album)
    for i in range(3):
        (folder / _name(i)).write_bytes(jpeg_bytes())
    page = owner.get(album).text
    assert len(_cards(page)) == 3 and "3 photos · 0 restored" in page
    assert 'id="pager"' not in page and 'id="load-more"' not in page and 'id="page-range"' not in page


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "２", " ", "1e3", "9" * 10, "1; DROP"])
def test_a_page_that_is_no_page_number_is_404_saying_so(owner, big, bad):
    response = owner.get(big, params={"page": bad}, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "no such page" in response.text and "numbered 1, 2, 3" in response.text
    assert owner.get("/api/" + big.lstrip("/") + "/photos", params={"page": bad}).status_code == 404


def test_a_page_past_the_last_goes_to_the_last_keeping_view_and_search(owner, big):
    response = owner.get(big + "?page=4", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == big + "?page=3"
    response = owner.get(big, params={"page": "999999999", "view": "timeline", "q": "scan"}, follow_redirects=False)
    assert response.status_code == 303
    assert _query(response.headers["location"]) == {"view": ["timeline"], "q": ["scan"], "page": ["3"]}
    # A search with no match has one (empty) page: any later page goes to it.
    response = owner.get(big, params={"page": "2", "q": "nothing like this"}, follow_redirects=False)
    assert response.headers["location"] == big + "?q=nothing+like+this"
    # The JSON API never redirects.
    response = owner.get("/api/" + big.lstrip("/") + "/photos?page=4", follow_redirects=False)
    assert response.status_code == 404 and "3 page(s)" in response.json()["detail"]


def test_links_keep_the_view_and_the_search(owner, big):
    page = owner.get(big, params={"view": "timeline", "q": "scan", "page": "2"}).text
    for pattern in (r'rel="prev" href="([^"]+)"', r'rel="next" href="([^"]+)"', r'id="load-more" href="([^"]+)"',
                    r'<a href="([^"]+)" aria-current="page">', r'data-status-url="([^"]+)"'):
        query = _query(_link(page, pattern))
        assert query["view"] == ["timeline"] and query["q"] == ["scan"], pattern
    assert _query(_link(page, r'rel="next" href="([^"]+)"'))["page"] == ["3"]
    assert "page" not in _query(_link(page, r'rel="prev" href="([^"]+)"'))  # page 1
    jump = re.search(r'<form method="get" action="[^"]+" class="pager-jump">(.*?)</form>', page, re.S).group(1)
    assert '<input type="hidden" name="view" value="timeline">' in jump and '<input type="hidden" name="q" value="scan">' in jump


def test_search_and_timeline_order_the_whole_album_before_paging(owner, app, big):
    folder = _folder(big)
    descriptions = app.state.services.descriptions
    descriptions.describe(f"{folder}/{_name(405)}", caption="Grandpa at the lake")  # on page 3
    descriptions.describe(f"{folder}/{_name(300)}", date="1950")  # page 2 in album order
    descriptions.describe(f"{folder}/{_name(2)}", date="1962")

    found = owner.get(big, params={"q": "lake"}).text
    assert _cards(found) == [_name(405)] and 'id="pager"' not in found
    app.state.services.library.rename_photo(folder, _name(350), "Lake Como")
    assert _cards(owner.get(big, params={"q": "LAKE"}).text) == [_name(350), _name(405)]  # a title, a caption
    assert _cards(owner.get(big, params={"q": "lake 0405"}).text) == [_name(405)]  # one word in each
    assert _cards(owner.get(big, params={"q": "como 0405"}).text) == []

    timeline = owner.get(big, params={"view": "timeline"}).text
    assert _cards(timeline)[:2] == [_name(300), _name(2)]  # the dated first, whichever page they were on
    assert len(_cards(timeline)) == PAGE_SIZE
    rest = _cards(owner.get(big, params={"view": "timeline", "page": "3"}).text)
    assert rest == [_name(i) for i in range(PHOTOS - 7, PHOTOS)]  # the undated in album order, 2 and 300 left out

    # The JSON of a page is that page, in the same order; without a page, the whole album as before.
    api = "/api/" + big.lstrip("/") + "/photos"
    assert [p["filename"] for p in owner.get(api, params={"view": "timeline", "page": "1"}).json()] == _cards(timeline)
    assert [p["filename"] for p in owner.get(api, params={"page": "2"}).json()] == [_name(i) for i in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    assert len(owner.get(api).json()) == PHOTOS


def test_the_viewer_steps_across_page_boundaries_and_goes_back_to_its_page(owner, big):
    last_of_first = owner.get(f"{big}/photos/{_name(PAGE_SIZE - 1)}").text
    assert _link(last_of_first, r'href="([^"]+)" rel="next"') == f"{big}/photos/scan%20{PAGE_SIZE:04d}.jpg"
    assert _link(last_of_first, r'class="back" href="([^"]+)"') == big

    first_of_second = owner.get(f"{big}/photos/{_name(PAGE_SIZE)}").text
    assert _link(first_of_second, r'href="([^"]+)" rel="prev"') == f"{big}/photos/scan%20{PAGE_SIZE - 1:04d}.jpg"
    assert _link(first_of_second, r'class="back" href="([^"]+)"') == big + "?page=2"

    very_last = owner.get(f"{big}/photos/{_name(PHOTOS - 1)}").text
    assert 'rel="next"' not in very_last and _link(very_last, r'class="back" href="([^"]+)"') == big + "?page=3"


def test_the_album_colouriser_and_restored_count_cover_every_page(owner, app, layout, big):
    # One photo on the last page restored, and one with a colouriser of its own (the sensor registered them all).
    _publish_current(app, layout, big, f"{big}/photos/{_name(PHOTOS - 1)}")
    own = RegistryStore(layout.state).load().key_for(f"{_folder(big)}/{_name(300)}")
    SettingsStore(layout.state).set(own, model="ddcolor")

    page = owner.get(big).text
    assert "1 photo(s) of this album have their own colouriser" in page
    assert "407 photos · " in page
    # The restored count comes from the album's card, made in the background on the first visit.
    app.state.services.album_cards.wait()
    assert "407 photos · 1 restored" in owner.get(big + "?page=2").text


def test_a_shared_album_pages_the_same_way(owner, anon, big):
    token = share_token(owner, big)
    page = anon.get(f"/s/{token}", params={"page": "2"}).text
    assert _cards(page) == [_name(i) for i in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    assert _link(page, r'rel="next" href="([^"]+)"') == f"/s/{token}?page=3"
    assert _link(page, r'data-status-url="([^"]+)"') == f"/s/{token}/api/photos?page=2"
    assert len(anon.get(f"/s/{token}/api/photos", params={"page": "3"}).json()) == 7
    response = anon.get(f"/s/{token}?page=9", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/s/{token}?page=3"
    assert anon.get(f"/s/{token}?page=x").status_code == 404


def test_a_pages_restorations_looked_up_by_name_are_what_the_listing_finds(layout):
    """``restorations(album, bases)`` (a page's, one photo's) finds what the whole listing finds for those names."""
    import os

    from restore_dagster.gallery import FolderGallery

    gallery = FolderGallery(layout.gallery)
    (layout.gallery / "a").mkdir(parents=True)
    for name in ("one.jpg", "two.jpg", "three.jpg", "four.jpg"):
        (layout.gallery / "a" / name).write_bytes(jpeg_bytes())
    gallery.publish("a/one.jpg", b"webp", "webp", download=b"jpeg")  # shown: the WebP; downloaded: the JPEG
    gallery.publish("a/two.jpg", b"jpeg", "jpg")
    restored = layout.gallery / "a" / "restored"
    (restored / "three.jpg.restored.PNG").write_bytes(b"png")  # copied in by hand, upper case
    os.symlink(restored / "two.jpg.restored.jpg", restored / "four.jpg.restored.jpg")  # a link is never a restoration
    bases = [FolderGallery.restoration_name(n) for n in ("one.jpg", "two.jpg", "three.jpg", "four.jpg", "five.jpg")]
    assert gallery.restorations("a", bases) == gallery.restorations("a")
    assert gallery.restoration_downloads("a", bases) == gallery.restoration_downloads("a")
    assert gallery.restoration_files("a", bases[:1]) == {bases[0]: gallery.restoration_files("a")[bases[0]]}
    assert [p.suffix for p in gallery.restoration_files("a", bases[:1])[bases[0]]] == [".webp", ".jpg"]
    assert gallery.restorations("a", ["four.jpg.restored", ".hidden.restored", "x"]) == {}


def test_suggestions_from_counted_descriptions_are_those_from_every_photo(layout):
    """The viewer's suggestions count an album's shared description once, with its number of photos."""
    from restore_dagster.descriptions import DescriptionStore
    from restore_dagster.viewer.album_pages import counted_descriptions
    from restore_dagster.viewer.describing import safe_effective_name, suggestions

    store = DescriptionStore(layout.state)
    store.describe_album("f", place="Paris", date="1960")
    store.describe("f/a.jpg", people="Ann", place="Rome")
    store.describe("f/c.jpg", people="Ann, Bob", date="1962")
    store.describe("f/e.jpg", place="Rome")
    names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "g.jpg"]  # Rome twice, Paris (the album's) three times
    snapshot = store.snapshot()
    every = [safe_effective_name(snapshot, "f", name) for name in names]
    descriptions, counts = counted_descriptions(snapshot, "f", names)
    assert sum(counts) == len(names) and len(descriptions) == 4
    assert suggestions(descriptions, counts) == suggestions(every)
    assert suggestions(every)["places"] == ["Paris", "Rome"] and suggestions(every)["people"] == ["Ann", "Bob"]
    for cut in (names[:2], names[1:2], names[2:], []):  # ties broken by the album's order, as before
        snapshot_list = [safe_effective_name(snapshot, "f", name) for name in cut]
        assert suggestions(*counted_descriptions(snapshot, "f", cut)) == suggestions(snapshot_list)
