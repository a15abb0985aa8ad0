"""The home page's album cards are kept between visits (album_cards.py) and never show a stale count."""
from __future__ import annotations

import os
import re

from restore_dagster.descriptions import DescriptionStore
from restore_dagster.lineage import record_path
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
