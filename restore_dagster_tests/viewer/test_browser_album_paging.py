"""A big album on a phone: page 2 through the pager, "Show more" with and without JavaScript, and the
viewer's previous/next across the pages' boundary (album_pages.py).

Skipped without Chromium unless ``RESTORE_BROWSER_TESTS=required``, as test_browser.py. Screenshots
go to ``test-artifacts/screenshots/`` (60-paging-*).
"""
from __future__ import annotations

import re
from urllib.parse import quote

from restore_dagster.viewer.album_pages import PAGE_SIZE
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes
from restore_dagster_tests.viewer.test_albums import _folder, _publish_current
from restore_dagster_tests.viewer.test_browser import PHONE, Watched, _images_loaded, browser, log_in, playwright_api, site  # noqa: F401

__all__ = ["browser", "playwright_api", "site"]

PHOTOS = PAGE_SIZE + 5  # a full page and a second of five


def _name(i: int) -> str:
    return f"scan {i:04d}.jpg"


def _big_album(app, owner, tmp_path) -> str:
    album = create_album(owner, "Scans from the attic")  # through the test app: the same storage root as the site's
    folder = app.state.services.library.root / _folder(album)
    data = jpeg_bytes(size=(48, 36), value=110)
    for i in range(PHOTOS):
        (folder / _name(i)).write_bytes(data)
    write_scan(folder / _name(PAGE_SIZE), grey=True, size=(480, 360), seed=3)  # page 2's first: a real scan, restored
    return album


def test_page_two_and_the_viewer_across_pages_on_a_phone(site, browser, playwright_api, owner, layout, tmp_path):
    expect = playwright_api.expect
    app, base = site
    album = _big_album(app, owner, tmp_path)
    restored = _name(PAGE_SIZE)
    _publish_current(app, layout, album, f"{album}/photos/{restored}")

    with_script = Watched(browser.new_context(**PHONE))
    page = with_script.page
    try:
        log_in(page, base)
        page.goto(base + album)
        cards = page.locator("#grid li.photo-card")
        expect(cards).to_have_count(PAGE_SIZE)
        expect(page.locator("#page-range")).to_contain_text(f"Photos 1–{PAGE_SIZE} of {PHOTOS}")
        expect(page.locator("#album-summary")).to_contain_text(f"{PHOTOS} photos")
        with_script.shot("60-paging-first-page-top", full_page=False)
        pager = page.locator("#pager")
        pager.scroll_into_view_if_needed()
        expect(pager).to_contain_text("Page 1 of 2")
        with_script.shot("61-paging-pager", full_page=False)

        # Page 2 through the pager's "Next".
        pager.locator('a[rel="next"]').click()
        expect(page).to_have_url(base + album + "?page=2")
        expect(cards).to_have_count(5)
        expect(cards.first).to_have_attribute("data-filename", restored)
        expect(page.locator("#page-range")).to_contain_text(f"Photos {PAGE_SIZE + 1}–{PHOTOS} of {PHOTOS}")
        expect(page.locator("#load-more")).to_have_count(0)
        _images_loaded(page, "#grid li.photo-card img")
        with_script.shot("62-paging-page-2")

        # Its first photo, restored: side by side, then previous (on page 1) and next, and back to page 2.
        cards.first.locator("a").click()
        expect(page).to_have_url(re.compile(re.escape(album) + "/photos/" + re.escape(quote(restored)) + "$"))
        page.locator('[data-mode="side"]').click()
        expect(page.locator("#stage")).to_have_class(re.compile(r"\bside\b"))
        _images_loaded(page, "#stage img.layer")
        page.locator("nav.neighbours").scroll_into_view_if_needed()
        with_script.shot("63-paging-viewer-side-by-side", full_page=False)
        page.locator('nav.neighbours a[rel="prev"]').click()
        expect(page.locator("h1.photo-heading")).to_contain_text(f"scan {PAGE_SIZE - 1:04d}")
        expect(page.locator("a.back")).to_have_attribute("href", album)  # its own page: page 1
        page.locator('nav.neighbours a[rel="next"]').click()
        expect(page.locator("h1.photo-heading")).to_contain_text(f"scan {PAGE_SIZE:04d}")
        page.locator('nav.neighbours a[rel="next"]').click()
        expect(page.locator("h1.photo-heading")).to_contain_text(f"scan {PAGE_SIZE + 1:04d}")
        page.locator("a.back").click()
        expect(page).to_have_url(base + album + "?page=2")

        # "Show more" from page 1 adds page 2's photos below the first page's, in place.
        page.goto(base + album)
        page.locator("#load-more").scroll_into_view_if_needed()
        page.locator("#load-more").click()
        expect(cards).to_have_count(PHOTOS)
        expect(page).to_have_url(base + album + "?page=2")
        expect(page.locator("#page-range")).to_contain_text(f"Photos 1–{PHOTOS} of {PHOTOS}")
        expect(page.locator("#load-more")).to_have_count(0)
        expect(page.locator("#pager")).to_contain_text("Page 2 of 2")
        assert cards.nth(PAGE_SIZE).get_attribute("data-filename") == restored
        cards.nth(PAGE_SIZE).scroll_into_view_if_needed()
        with_script.shot("64-paging-shown-more", full_page=False)

        # The timeline: every photo from 1962 (the album's date), so the year goes on over the pages'
        # boundary; "Show more" keeps one heading for it and the view in the address.
        app.state.services.descriptions.describe_album(_folder(album), date="1962")
        page.goto(base + album + "?view=timeline")
        expect(page.locator("#grid .timeline-heading")).to_have_count(1)
        page.locator("#load-more").click()
        expect(cards).to_have_count(PHOTOS)
        expect(page.locator("#grid .timeline-heading")).to_have_count(1)
        expect(page).to_have_url(base + album + "?view=timeline&page=2")
        with_script.assert_no_errors()
    finally:
        with_script.context.close()

    # Without JavaScript "Show more" is a plain link to the next page.
    no_script = Watched(browser.new_context(**PHONE, java_script_enabled=False))
    try:
        log_in(no_script.page, base)
        no_script.page.goto(base + album)
        no_script.page.locator("#load-more").click()
        expect(no_script.page).to_have_url(base + album + "?page=2")
        expect(no_script.page.locator("#grid li.photo-card")).to_have_count(5)
        no_script.shot("65-paging-no-script-page-2", full_page=False)
        no_script.assert_no_errors()
    finally:
        no_script.context.close()
