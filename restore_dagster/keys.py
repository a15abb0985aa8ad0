"""Partition keys for photos: ``<album>/<photo>``, each part a short lower-case ASCII slug.

Keys must survive the Dagster UI's partition picker (no commas, spaces, brackets or ``...``) and
let a whole album be selected by typing its prefix ``<album>/`` and "Select all" (the 1.13 picker's
``<album>/*`` wildcard finds nothing). They are assigned once, when a photo is first seen, and kept
in the registry for the life of the photo, so the rule here only has to be deterministic and
collision-free at assignment time.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_PART = 48
_ALLOWED = re.compile(r"[^a-z0-9._-]+")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}/[a-z0-9][a-z0-9._-]{0,63}$")


def _short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def slugify(name: str) -> str:
    """A lower-case ASCII slug of ``name``; names with nothing ASCII in them get a stable hash.

    Accents are folded (``Café`` → ``cafe``); runs of anything else become one ``-``; dots are kept
    inside a name but never doubled, so ``...`` (the UI's range syntax) cannot appear.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _ALLOWED.sub("-", folded)
    slug = re.sub(r"\.{2,}", ".", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip("-._")
    if not slug:
        return "p-" + _short_hash(name)
    if len(slug) > MAX_PART:
        slug = slug[: MAX_PART - 9].rstrip("-._") + "-" + _short_hash(name)
    return slug


def photo_slug(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
    return slugify(stem)


def unique_slug(base: str, original: str, taken: set[str]) -> str:
    """``base`` unless taken; otherwise ``base`` plus a hash of the original name (then a counter)."""
    if base not in taken:
        return base
    candidate = f"{base[: MAX_PART - 9]}-{_short_hash(original, 8)}"
    counter = 2
    while candidate in taken:
        candidate = f"{base[: MAX_PART - 12]}-{_short_hash(original, 8)}-{counter}"
        counter += 1
    return candidate


def make_key(album_slug: str, photo: str) -> str:
    return f"{album_slug}/{photo}"


def split_key(key: str) -> tuple[str, str]:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a photo key: {key!r} (expected '<album>/<photo>' slugs)")
    album, photo = key.split("/", 1)
    return album, photo
