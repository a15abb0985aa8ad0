"""File names derived from a user's file names, kept within the file system's limit.

A path component may be at most 255 bytes (ext4, btrfs, XFS, tmpfs, APFS all agree), and an original
may already be that long, so every name made by adding to it (``<stem>.restored.webp``, ``<stem>-2.jpg``)
can be too long. ``fit_name`` keeps such names as they are when they fit and otherwise shortens the
stem deterministically: cut on a character boundary, plus a short hash of the whole stem, so the same
original always gets the same derived name and two long names that share a prefix never collide.
"""
from __future__ import annotations

import hashlib
import os

NAME_MAX = 255  # bytes in one path component
_HASH_LEN = 8


def name_bytes(name: str) -> int:
    """The length of ``name`` on disk: ``os.fsencode`` keeps undecodable bytes as they were listed."""
    return len(os.fsencode(name))


def fit_name(stem: str, tail: str, limit: int = NAME_MAX) -> str:
    """``stem + tail``, the stem shortened to ``<cut>~<hash>`` when the whole is over ``limit`` bytes."""
    if name_bytes(stem + tail) <= limit:
        return stem + tail
    digest = hashlib.sha1(os.fsencode(stem)).hexdigest()[:_HASH_LEN]
    room = limit - name_bytes(tail) - 1 - _HASH_LEN
    if room < 1:
        raise ValueError(f"a name ending in {tail!r} cannot fit in {limit} bytes")
    cut = stem
    while name_bytes(cut) > room:  # whole characters only: never half a UTF-8 sequence
        cut = cut[:-1]
    return f"{cut}~{digest}{tail}"
