"""Reading every item of a paged Lychee listing exactly once.

Lychee sorts album pages by the album's sorting column without a tiebreaker, so between two page
requests a photo can move from one page to another: read naively, it is counted twice and another is
skipped. Items are collected by id over whole passes until the ids seen add up to the total the
server reports; a total that changes during a pass starts over.
"""
from __future__ import annotations

from typing import Callable

from restore_dagster.lychee.errors import LycheeError

MAX_PASSES = 6

# fetch(page) -> (items on that page, last page number, total item count)
PageFetcher = Callable[[int], "tuple[list[dict], int, int]"]


def collect_pages(fetch: PageFetcher, what: str) -> list[dict]:
    collected: dict[str, dict] = {}
    expected: int | None = None
    for _ in range(MAX_PASSES):
        this_pass: dict[str, dict] = {}
        totals: set[int] = set()
        page, last = 1, 1
        while page <= last:
            items, last, total = fetch(page)
            totals.add(total)
            for item in items:
                this_pass[str(item["id"])] = item
            page += 1
        if len(totals) != 1:
            collected, expected = {}, None  # photos came or went while listing: read again from scratch
            continue
        total = totals.pop()
        if expected != total:
            collected = {}
        expected = total
        collected.update(this_pass)  # the newest answer for an id wins (its tags or checksum may change)
        if len(collected) > total:
            collected = dict(this_pass)  # one went and another came between passes: keep only this pass
        if len(collected) == total:
            return list(collected.values())
    raise LycheeError(f"Lychee: {what} kept changing while it was listed ({MAX_PASSES} passes); trying again later")
