"""The home page's album cards are kept between visits (album_cards.py) and never show a stale count."""
from __future__ import annotations

import json
import logging
import os
import re

import pytest

from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import record_path
from restore_dagster.viewer.album_cards import AlbumCards
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, upload
from restore_dagster_tests.viewer.test_albums import _folder, _publish_current

OLD_NS = 1_600_000_000 * 10**9


def _counts(owner) -> tuple[int, int]:
    match = re.search(r"(\d+) photos · (\d+) restored", owner.get("/").text)
    assert match, "no album card on the home page"
    return int(match.group(1)), int(match.group(2))


def _settle(layout, folder, key):
    """Make the album's folders look long unchanged, as in a gallery at rest: its card may then be kept."""
    for path in (layout.gallery / folder, layout.gallery / folder / "restored", record_path(layout, "published", key).parent):
        os.utime(path, ns=(OLD_NS, OLD_NS))


def test_card_is_kept_while_nothing_changes_and_made_again_on_each_change(owner, app, layout, busy, monkeypatch):
    album = create_album(owner, "Cards")
    first = upload(owner, album, jpeg_bytes(value=60)).json()
    second = upload(owner, album, jpeg_bytes(value=200)).json()
    key = _publish_current(app, layout, album, first["url"])
    folder = _folder(album)
    _settle(layout, folder, key)
    assert _counts(owner) == (2, 1)

    states = app.state.services.states
    made = []
    real = states.restored
    monkeypatch.setattr(states, "restored", lambda photos: made.append(len(photos)) or real(photos))
    assert _counts(owner) == (2, 1) and made == []  # kept: no photo's state read again

    other = _publish_current(app, layout, album, second["url"])  # a restoration and its record appear
    assert _counts(owner) == (2, 2) and made == [2]
    _settle(layout, folder, other)
    assert _counts(owner) == (2, 2)

    busy.keys.add(key)  # processing again: not counted as restored
    assert _counts(owner) == (2, 1)
    busy.keys.clear()
    assert _counts(owner) == (2, 2)

    DescriptionStore(layout.state).describe(first["url"].split("/albums/", 1)[1].replace("/photos/", "/"), caption="At the lake")
    assert _counts(owner) == (2, 1)  # to be published again with its caption

    record_path(layout, "published", other).unlink()
    assert _counts(owner)[1] == 0


def _two_albums(owner, app, layout):
    """Two settled albums: one with a photo restored of two, one with its only photo waiting."""
    first_album, second_album = create_album(owner, "First"), create_album(owner, "Second")
    restored = upload(owner, first_album, jpeg_bytes(value=60)).json()
    upload(owner, first_album, jpeg_bytes(value=200))
    upload(owner, second_album, jpeg_bytes(value=120))
    key = _publish_current(app, layout, first_album, restored["url"])
    _settle(layout, _folder(first_album), key)
    os.utime(layout.gallery / _folder(second_album), ns=(OLD_NS, OLD_NS))
    return _folder(first_album), key


def _restarted(app, monkeypatch, fail: bool):
    """A new AlbumCards over the same state folder, as after a restart of the web server."""
    services = app.state.services
    cards = AlbumCards(services.layout, services.library, services.states)
    if fail:
        monkeypatch.setattr(cards, "_make", lambda *args: pytest.fail("a card was made again after the restart"))
    monkeypatch.setattr(services, "album_cards", cards)
    return cards


def _shown(owner) -> dict[str, str]:
    """Each album card's count text, by album title."""
    html = owner.get("/").text
    return dict(re.findall(r'album-title">([^<]+)</span>\s*<span class="album-counts">(.*?)</span>\s*</a>', html, re.S))


def test_cards_over_the_budget_are_counted_in_the_background(owner, app, layout):
    _two_albums(owner, app, layout)
    cards = app.state.services.album_cards
    cards.budget_s = 0  # nothing made while the visit waits
    page = owner.get("/").text
    assert page.count("counting…") == 2 and "albums_pending.js" in page
    assert "restored" not in re.sub(r"counting…", "", re.sub(r"<script.*?</script>", "", page))
    cards.wait(30)
    shown = _shown(owner)
    assert shown == {"First": "2 photos · 1 restored", "Second": "1 photos · 0 restored"}
    assert "albums_pending.js" not in owner.get("/").text
    assert (layout.state / "web" / "album_cards.json").is_file()


def test_a_restart_reuses_the_saved_cards_without_making_any(owner, app, layout, monkeypatch):
    _two_albums(owner, app, layout)
    expected = _shown(owner)  # made, and saved
    assert expected["First"].endswith("1 restored")
    _restarted(app, monkeypatch, fail=True)
    assert _shown(owner) == expected


def test_a_saved_card_whose_version_changed_is_not_reused(owner, app, layout, monkeypatch):
    first, key = _two_albums(owner, app, layout)
    _shown(owner)
    record = record_path(layout, "published", key)
    record.unlink()  # no longer published: the First album's version changed while the server was down
    os.utime(record.parent, ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    cards = _restarted(app, monkeypatch, fail=False)
    made = []
    real = cards._make
    monkeypatch.setattr(cards, "_make", lambda album, version: made.append(album.folder) or real(album, version))
    assert _shown(owner)["First"] == "2 photos · 0 restored"
    assert made == [first]  # the Second album's saved card still matched


def test_a_corrupt_cards_file_is_ignored_and_written_again(owner, app, layout, monkeypatch, caplog):
    _two_albums(owner, app, layout)
    expected = _shown(owner)
    path = layout.state / "web" / "album_cards.json"
    path.write_text('{"format": 1, "albums": {"x": ', "utf-8")
    with caplog.at_level(logging.WARNING):
        _restarted(app, monkeypatch, fail=False)
    assert "ignoring the album cards file" in caplog.text
    assert _shown(owner) == expected
    assert json.loads(path.read_text("utf-8"))["format"] == 1


def test_over_the_budget_a_changed_album_shows_its_last_card_and_a_broken_one_is_logged(owner, app, layout, monkeypatch, caplog):
    first, key = _two_albums(owner, app, layout)
    assert _shown(owner)["First"] == "2 photos · 1 restored"
    cards = app.state.services.album_cards
    cards.budget_s = 0
    record = record_path(layout, "published", key)
    record.unlink()
    os.utime(record.parent, ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    second = next(path.name for path in layout.gallery.iterdir() if path.is_dir() and path.name != first)
    os.utime(layout.gallery / second, ns=(OLD_NS + 10**9, OLD_NS + 10**9))  # its card to be made again, and fail
    real = cards._make

    def make(album, version):
        if album.folder == first:
            return real(album, version)
        raise OSError("unreadable album")

    monkeypatch.setattr(cards, "_make", make)
    assert _shown(owner)["First"] == "2 photos · 1 restored"  # the last card, while it is made again
    with caplog.at_level(logging.ERROR):
        cards.wait(30)
    assert f"album card for {second!r} could not be made" in caplog.text and "unreadable album" in caplog.text
    assert _shown(owner) == {"First": "2 photos · 0 restored", "Second": "1 photos · 0 restored"}  # Second: its last card
    cards.wait(30)  # the visit above queued Second again
