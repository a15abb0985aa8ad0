"""The family's descriptions on the web: labels, the album timeline, search and suggestions.

Descriptions live in ``state/descriptions.json`` (``restore_dagster.descriptions``), keyed by the
photo's source (``<album folder>/<file name>``), so a photo uploaded a second ago can be described
before the pipeline has seen it. Share-link visitors see the same date, caption, place and names:
they are the family's knowledge about the picture, not server details.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

from restore_dagster.date_hints import date_hint
from restore_dagster.descriptions import Description, DescriptionError, DescriptionSnapshot, PhotoDate
from restore_dagster.viewer.library import Photo

MAX_SUGGESTIONS = 12


def safe_effective(snapshot: DescriptionSnapshot, photo: Photo) -> Description:
    """The photo's description with its album's defaults; a broken hand-edited entry shows as none."""
    return safe_effective_name(snapshot, photo.album, photo.filename)


def safe_effective_name(snapshot: DescriptionSnapshot, folder: str, filename: str) -> Description:
    """``safe_effective`` by album folder and file name: no Photo (so no stat) is needed, as for an
    album's search or timeline order over every one of its photos."""
    try:
        return snapshot.effective(f"{folder}/{filename}", folder)  # Photo.source
    except DescriptionError:
        return Description()


def date_label(when: PhotoDate | None, t) -> str:
    """The date for display: numbers as typed (1962-06), words translated ("about", "1960s" → "约", "1960年代")."""
    if when is None:
        return ""
    if when.precision == "decade":
        core = t("date_decade", decade=when.year)
    elif when.precision == "year":
        core = t("date_year", year=when.year)
    elif when.precision == "month":
        core = t("date_month", year=when.year, month=when.month)
    elif when.precision == "day":
        core = t("date_day", year=when.year, month=when.month, day=when.day)
    else:
        core = t("date_day", year=when.year, month=when.month, day=when.day) + f" {when.hour:02d}:{when.minute:02d}"
    return t("date_about", date=core) if when.approximate else core


def description_json(description: Description, t) -> dict:
    when = description.photo_date if description.date else None
    return {
        "date": description.date,
        "date_label": date_label(when, t),
        "caption": description.caption,
        "place": description.place,
        "people": list(description.people),
        "from_album": list(description.from_album),
    }


def matches(query: str, title: str, description: Description) -> bool:
    """Every word of ``query`` is in the title, caption, place or a name (case and width folded)."""
    left = lacking(search_words(query), description)
    return not left or all(word in folded(title) for word in left)


def search_words(query: str) -> list[str]:
    return folded(query).split()


def lacking(words: list[str], description: Description) -> list[str]:
    """The words not in the description's caption, place or names: the title must hold them. (A word
    has no whitespace, so it is in one or the other, never across both.)"""
    text = description.search_text()
    return [word for word in words if word not in text]


def folded(text: str) -> str:
    """NFKC, case folded: what search compares. ASCII is that already but for case (and faster so)."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class TimelineGroup:
    label: str  # "1962", "1960s", or the translated "Undated"
    items: list[dict]


def timeline(items: list[dict], descriptions: dict[str, Description], t) -> list[TimelineGroup]:
    """``items`` (photo JSON, keyed by filename into ``descriptions``) ordered by date, grouped by year.

    A photo known only to its decade is grouped under the decade, which sorts before the decade's
    first year; undated photos come last, in their album order.
    """
    dated, undated = _by_date(items, descriptions, lambda item: item["filename"])
    groups: list[TimelineGroup] = []
    for when, item in dated:
        label = t("date_decade", decade=when.year) if when.precision == "decade" else t("date_year", year=when.year)
        if not groups or groups[-1].label != label:
            groups.append(TimelineGroup(label, []))
        groups[-1].items.append(item)
    if undated:
        groups.append(TimelineGroup(t("undated"), undated))
    return groups


def timeline_order(names: list[str], descriptions: dict[str, Description]) -> list[str]:
    """File names in the timeline's order (``timeline``'s, without its groups): an album's pages by date."""
    dated, undated = _by_date(names, descriptions, lambda name: name)
    return [name for _, name in dated] + undated


def _by_date(items: list, descriptions: dict[str, Description], name) -> tuple[list, list]:
    """``(dated, undated)``: ``[(date, item)]`` sorted by date, and the undated items in their order."""
    dated, undated = [], []
    for item in items:
        description = descriptions.get(name(item))
        when = description.photo_date if description is not None and description.date else None
        if when:
            dated.append((when, item))
        else:
            undated.append(item)
    dated.sort(key=lambda pair: pair[0].sort_key)
    return dated, undated


def suggestions(descriptions: list[Description], counts: list[int] | None = None) -> dict[str, list[str]]:
    """Names, places and dates used in the album, the most used first: one tap instead of typing them again.

    ``counts``: how many photos have each description (an album's photos without their own share one)."""
    people, places, dates = Counter(), Counter(), Counter()
    for i, description in enumerate(descriptions):
        n = counts[i] if counts is not None else 1
        for person in description.people:
            people[person] += n
        if description.place:
            places[description.place] += n
        if description.date and "date" not in description.from_album:
            dates[description.date] += n
    return {
        "people": [name for name, _ in people.most_common(MAX_SUGGESTIONS)],
        "places": [place for place, _ in places.most_common(MAX_SUGGESTIONS)],
        "dates": [when for when, _ in dates.most_common(MAX_SUGGESTIONS)],
    }


def file_name_hint(photo: Photo) -> str | None:
    """A date the upload's title or file name suggests (never applied: the form offers it as a button)."""
    return date_hint(photo.title) or date_hint(photo.filename)
