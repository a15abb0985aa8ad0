"""Which photos in Lychee are our restorations, and proof that a photo found after an upload is ours.

A restoration carries the tags ``restored`` and ``restored-from:<original id>``. Until those are on,
the mark its uploaded file name put first in its title says whose it is (Lychee titles a new photo
with the file name). Lychee stores identical bytes once (found by ``checksum`` or ``original_checksum``)
and links the existing photo into the album instead, so a photo with our bytes is only ours with
proof: our tag or mark, the id Lychee promised (``expected_id``, v7.6+), or, without those (an
IPTC/XMP title in the file replaces the mark), a photo that was not there before and was created after
our upload began.
"""
from __future__ import annotations

import re
from datetime import datetime

from restore_dagster.lychee.errors import LycheeDuplicate
from restore_dagster.lychee.naming import tag_names
from restore_dagster.lychee.upload import UploadResult

RESTORED_TAG = "restored"
PROCESSED_TAG = "processed"
RESTORED_FROM_TAG = "restored-from:"
_UPLOAD_MARK_RE = re.compile(r"\[restored-from [^\]]+\]")
# Server clock slack when telling a fresh upload from an older photo Lychee linked instead.
_CLOCK_SLACK_S = 2.0


def upload_mark(source: str) -> str:
    return f"[restored-from {source}]"


def checksums(photo: dict) -> set[str]:
    return {c for c in (photo.get("checksum"), photo.get("original_checksum")) if c}


def is_restoration(photo: dict, suffix: str) -> bool:
    tags = tag_names(photo)
    title = str(photo.get("title") or "")
    return (
        RESTORED_TAG in tags
        or any(t.startswith(RESTORED_FROM_TAG) for t in tags)
        or title.endswith(suffix)
        or bool(_UPLOAD_MARK_RE.search(title))
    )


def restorations_of(source: str, photos: list[dict]) -> list[dict]:
    mark = upload_mark(source)
    return [p for p in photos if RESTORED_FROM_TAG + source in tag_names(p) or mark in str(p.get("title") or "")]


def restores_other(photo: dict, source: str) -> bool:
    return any(t.startswith(RESTORED_FROM_TAG) and t != RESTORED_FROM_TAG + source for t in tag_names(photo))


def identify_upload(source: str, digest: str, photos: list[dict], before: set[str] | None,
                    result: UploadResult | None) -> dict | None:
    """Our upload of ``digest`` among ``photos``, proven; None if it is not there (yet).

    Raises LycheeDuplicate when the only photo with these bytes is someone else's that Lychee linked.
    """
    candidates = [p for p in photos if digest in checksums(p) and not restores_other(p, source)]
    mark = upload_mark(source)
    expected = result.expected_id if result else None
    started = result.server_started if result else None
    for photo in candidates:
        if RESTORED_FROM_TAG + source in tag_names(photo) or photo["id"] == expected or mark in str(photo.get("title") or ""):
            return photo
    if expected is None and started is not None and before is not None:
        for photo in candidates:
            created = _timestamp(photo.get("created_at"))
            if photo["id"] not in before and created is not None and created >= started - _CLOCK_SLACK_S:
                return photo
    if candidates:
        other = candidates[0]
        raise LycheeDuplicate(
            f"Lychee: the restoration of {source} is byte-identical to photo {other['id']} ({other.get('title')!r}), "
            "which Lychee already held and linked into the album instead of storing a copy; it is not ours to "
            "retag, so nothing was published")
    return None


def _timestamp(value) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except (TypeError, ValueError):
        return None
