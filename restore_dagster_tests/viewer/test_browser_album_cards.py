"""The home page at phone size while album cards are counted in the background (album_cards.py).

The page shows "counting…" for cards not made yet, its script (allowed by the pages' CSP)
loads it again a few seconds later, and the counts appear without the owner doing anything.
Skipped without Chromium unless ``RESTORE_BROWSER_TESTS=required``, as test_browser.py.
"""
from __future__ import annotations

import time

from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, upload
from restore_dagster_tests.viewer.test_browser import PHONE, Watched, browser, log_in, playwright_api, site  # noqa: F401

__all__ = ["browser", "playwright_api", "site"]


def test_counting_cards_turn_into_counts_without_a_reload_by_hand(site, browser, owner, monkeypatch):
    app, base = site
    album = create_album(owner, "Summer 1972")  # through the test app: the same storage root as the site's
    upload(owner, album, jpeg_bytes(value=80))
    cards = app.state.services.album_cards
    cards.budget_s = 0  # every card made in the background
    real = cards._make
    monkeypatch.setattr(cards, "_make", lambda *args: time.sleep(1.0) or real(*args))  # still counting when the page shows

    context = browser.new_context(**PHONE)
    try:
        watched = Watched(context)
        log_in(watched.page, base)
        watched.page.goto(base + "/")
        counts = watched.page.locator(".album-counts")
        assert "counting…" in counts.inner_text()
        watched.shot("album-cards-counting")
        counts.filter(has_text="0 restored").wait_for(timeout=15_000)  # the page's own reload, 5 s later
        assert "counting" not in counts.inner_text()
        assert watched.page.locator('script[src="/static/albums_pending.js"]').count() == 0
        watched.shot("album-cards-counted")
        watched.assert_no_errors()
    finally:
        context.close()
