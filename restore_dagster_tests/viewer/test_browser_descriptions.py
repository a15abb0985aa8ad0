"""At phone size: set a photo's date and names, see it in the album's timeline, find it by a name.

Uses the browser fixtures of ``test_browser`` (Debian's Chromium through Playwright; skipped without
it unless ``RESTORE_BROWSER_TESTS=required``). Screenshots go to ``test-artifacts/screenshots/``.
"""
from __future__ import annotations

import re

from restore_dagster.descriptions import DescriptionStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 - fixtures
    TIMEOUT_MS, _images_loaded, browser, logged_in_owner, playwright_api, site,
)


def test_describe_on_a_phone_then_timeline_and_search(browser, playwright_api, site, layout):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    library = app.state.services.library
    album = library.create_album("Family 1962")
    for seed, name in enumerate(["1962 wedding.jpg", "beach.jpg", "garden.jpg"]):
        write_scan(library.root / album.folder / name, grey=True, size=(240, 180), seed=seed)
    album_path = f"/albums/{album.folder}"

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        expect(page).to_have_url(base + "/")

        # 1. The beach photo: a date, names and a caption with non-ASCII text, typed on the phone.
        page.goto(base + album_path + "/photos/beach.jpg")
        form = page.locator("#describe-form")
        expect(form).to_be_visible()  # open while the photo has no description
        form.locator('input[name="date"]').fill("1958-07")
        form.locator('input[name="people"]').fill("Anna, Ben")
        form.locator('textarea[name="caption"]').fill("Am Strand, 海边")
        owner.shot("20-describe-form")
        form.get_by_role("button", name="Save").click()
        expect(page.locator("#description .desc-date")).to_contain_text("1958-07")
        expect(page.locator("#description .desc-people")).to_have_text("👥 Anna, Ben")
        expect(page.locator("#description .desc-caption")).to_have_text("Am Strand, 海边")
        owner.shot("21-described")

        # 2. The wedding: the file name's date is offered (not applied), names come from the album.
        page.goto(base + album_path + "/photos/1962%20wedding.jpg")
        date = page.locator("#describe-date")
        expect(date).to_have_value("")
        page.get_by_role("button", name="Use it: 1962").click()
        expect(date).to_have_value("1962")
        page.locator("button.chip", has_text="Anna").click()
        expect(page.locator("#describe-people")).to_have_value("Anna")
        owner.shot("22-suggestions")
        page.locator("#describe-form").get_by_role("button", name="Save").click()
        expect(page.locator("#description .desc-date")).to_have_text("📅 1962")
        stored = DescriptionStore(layout.state).photo(f"{album.folder}/1962 wedding.jpg")
        assert (stored.date, stored.people) == ("1962", ("Anna",))

        # 3. The timeline: by date, the undated garden photo last.
        page.goto(base + album_path)
        page.locator("#view-timeline").click()
        expect(page).to_have_url(re.compile(r"\?view=timeline$"))
        expect(page.locator("#grid .timeline-heading")).to_have_text(["1958", "1962", "Undated"])
        expect(page.locator("#grid .photo-title")).to_have_text(["beach", "1962 wedding", "garden"])
        expect(page.locator("#grid .photo-date")).to_have_text(["1958-07", "1962"])
        _images_loaded(page, "#grid li.photo-card img")
        owner.shot("23-timeline")

        # 4. Search by a name, in the album (staying in the timeline) and from the albums page.
        search = page.locator(".album-views input[type=search]")
        search.fill("ben")
        search.press("Enter")
        expect(page.locator("#grid .photo-title")).to_have_text(["beach"])
        expect(page.locator("#grid .timeline-heading")).to_have_text(["1958"])
        owner.shot("24-search-in-album")
        page.goto(base + "/")
        page.locator("input[type=search]").fill("Anna")
        page.locator("input[type=search]").press("Enter")
        expect(page.locator("#photo-hits .hit-title")).to_have_text(["1962 wedding", "beach"])
        owner.shot("25-search-everywhere")
        owner.assert_no_errors()
