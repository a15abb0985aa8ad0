"""An album shown a page at a time: which photos a page holds, and the links to the other pages.

An archive's single "Scans" folder can hold tens of thousands of photos; an album page of all of them
took seconds to make and megabytes for a phone to load. A page works out the states, thumbnails and
descriptions of its own photos only. What it still takes from the whole album: the names (one
listing of the folder, kept while the folder is unchanged: ``Library.photo_names``) and, to search it
or order it by date, every photo's description (one read of the store, and a photo without its own
description shares its album's).

``?page=N`` numbers pages from 1. Anything else than a whole number from 1 up is a 404 that says
so (a mistyped or cut link: there is no page to guess). A number past the last page redirects to the
last page (the album shrank since the link was made, e.g. photos moved to the trash: the family
member still lands among the photos, and the address says where). The JSON states API answers 404
instead: it never redirects.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from restore_dagster.descriptions import Description, DescriptionSnapshot
from restore_dagster.viewer.describing import folded, lacking, safe_effective_name, search_words, timeline_order
from restore_dagster.viewer.library import Library

# Photos on one album page. A phone shows six to nine cards a screen, so 200 are some 25 screens of
# scrolling before "Show more"; the page's HTML is about 90 KB and its states (read per photo) take
# about 0.1 s on the 2-core server, while an album of up to 200 photos stays one page as before.
PAGE_SIZE = 200
MAX_PAGE_DIGITS = 9  # a longer number is no page of any album (a billion pages of 200)
WINDOW = 1  # page numbers linked either side of the current one (with the first and last): fits a phone's width


class NoSuchPage(LookupError):
    """``?page=`` is not a page number (the web answers 404 with this message)."""


class PastTheEnd(LookupError):
    """A page number after the last page: ``last`` is the last page."""

    def __init__(self, last: int):
        super().__init__(f"there are only {last} page(s)")
        self.last = last


def requested_page(raw: str) -> int:
    """The page number of ``?page=`` (1 when absent); NoSuchPage when it is not a whole number from 1."""
    if raw == "":
        return 1
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_PAGE_DIGITS or int(text) < 1:
        raise NoSuchPage(f"no such page {raw[:20]!r}: pages are numbered 1, 2, 3 …")
    return int(text)


@dataclass(frozen=True)
class Paging:
    """Page ``page`` of ``pages`` over ``total`` photos (an empty album has one empty page)."""

    page: int
    total: int
    size: int = PAGE_SIZE

    def __post_init__(self):
        if self.page > self.pages:
            raise PastTheEnd(self.pages)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def start(self) -> int:  # index of the page's first photo
        return (self.page - 1) * self.size

    @property
    def end(self) -> int:  # one past the page's last photo
        return min(self.total, self.page * self.size)

    def window(self) -> list[int | None]:
        """The page numbers to link, in order; None where numbers are left out (shown as "…")."""
        shown = sorted({1, self.pages, *range(max(1, self.page - WINDOW), min(self.pages, self.page + WINDOW) + 1)})
        result: list[int | None] = []
        for number in shown:
            if result and number - result[-1] > 1:
                result.append(None)
            result.append(number)
        return result


def page_query(view: str, q: str, page: int, always: bool = False) -> str:
    """``?view=…&q=…&page=N`` keeping the view and the search; page 1 is left out unless ``always``."""
    params = {}
    if view == "timeline":
        params["view"] = "timeline"
    if q:
        params["q"] = q
    if page != 1 or always:
        params["page"] = str(page)
    return "?" + urlencode(params) if params else ""


def album_order(library: Library, snapshot: DescriptionSnapshot, folder: str, q: str,
                view: str) -> tuple[tuple[str, ...] | list[str], dict[str, Description] | None]:
    """The file names of the album (or of its photos matching ``q``) in the view's order, and their
    descriptions when they had to be read for that (a search or the timeline), else None."""
    names = library.photo_names(folder)
    if not q.strip() and view != "timeline":
        return names, None  # album order: by name, as listed
    descriptions = album_descriptions_by_name(snapshot, folder, names)
    if q.strip():
        names = _search(names, library.titles(folder), descriptions, q)
    if view == "timeline":
        names = timeline_order(list(names), descriptions)
    return names, descriptions


def album_descriptions_by_name(snapshot: DescriptionSnapshot, folder: str, names) -> dict[str, Description]:
    """``{file name: effective description}``; the photos without a description of their own share
    their album's (one object), so 100,000 photos cost 100,000 dictionary lookups, not 100,000 merges."""
    shared = None
    result = {}
    for name in names:
        if f"{folder}/{name}" in snapshot.photos:
            result[name] = safe_effective_name(snapshot, folder, name)
        else:
            if shared is None:
                shared = safe_effective_name(snapshot, folder, name)
            result[name] = shared
    return result


def _search(names, titles: dict[str, str], descriptions: dict[str, Description], q: str) -> list[str]:
    """The names whose photo ``describing.matches`` ``q``, in order, for 100,000 photos in about 0.1 s.

    The photos are taken by description (most share their album's one object), and a group's titles are
    looked at only for the words its description lacks, in one pass per word."""
    words = search_words(q)
    groups: dict[int, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(id(descriptions[name]), []).append(i)
    found: list[int] = []
    for members in groups.values():
        left = lacking(words, descriptions[names[members[0]]])
        for word in left:
            # A title is its file name without the extension unless one was given (Library.photos).
            members = [i for i in members if word in folded(titles.get(names[i]) or names[i].rpartition(".")[0])]
        found.extend(members)
    return [names[i] for i in sorted(found)]


def counted_descriptions(snapshot: DescriptionSnapshot, folder: str, names) -> tuple[list[Description], list[int]]:
    """The photos' effective descriptions, each once, in the order the album first has them, and how
    many photos have each: ``describing.suggestions`` over an album of 100,000 counts a few, not 100,000.
    The photos sharing their album's description share one object (album_descriptions_by_name)."""
    counted: dict[int, list] = {}  # id of a description -> [it, its photos]
    for description in album_descriptions_by_name(snapshot, folder, names).values():
        counted.setdefault(id(description), [description, 0])[1] += 1
    return [d for d, _ in counted.values()], [n for _, n in counted.values()]
