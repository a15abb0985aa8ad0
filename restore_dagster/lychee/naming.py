"""Titles, file names, tags and sizes as Lychee stores and answers them.

Lychee limits titles to 100 bytes (``TitleRule``), derives a new photo's title from the whole uploaded
file name cut to 98 bytes (up to v7.5) or 100 characters (v7.6+), and refuses file names with ``/``,
``\\`` or ``..`` (v7.7.3+). Sizes come back human-readable ("1.46 KB"), tags as strings (up to v7.6)
or ``{id, name}`` objects (v7.7+).
"""
from __future__ import annotations

import re
import unicodedata

TITLE_MAX_BYTES = 100
# The smaller of Lychee's two title cuts (98 bytes; 100 characters is never fewer bytes).
FILE_TITLE_MAX_BYTES = 98
_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?B)\s*$", re.IGNORECASE)
_UNSAFE_IN_NAME = re.compile(r"[/\\\x00-\x1f]+|\.{2,}")


def fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    data = unicodedata.normalize("NFC", text).encode("utf-8")
    if len(data) <= limit:
        return data.decode("utf-8")
    return data[:limit].decode("utf-8", errors="ignore").rstrip()


def fit_title(title: str, suffix: str = "", limit: int = TITLE_MAX_BYTES) -> str:
    """``title + suffix`` within Lychee's title limit: the title is shortened, the suffix kept whole.

    The suffix must survive because it tells restorations (and their albums) from uploads.
    """
    room = limit - len(suffix.encode("utf-8"))
    if room <= 0:
        raise ValueError(f"the suffix {suffix!r} alone is longer than Lychee's {limit}-byte title limit")
    base = title if len(title.encode("utf-8")) <= room else fit_bytes(title, room - len("…".encode())) + "…"
    return (base.strip() or "photo") + suffix


def upload_file_name(mark: str, title: str, extension: str) -> str:
    """The file name to upload under: the crash mark first, then the title, within Lychee's title cut.

    Lychee titles a new photo with the whole file name (extension included) cut to 98 bytes, so the
    mark goes first and the title is shortened; characters Lychee refuses in a file name are replaced.
    """
    safe_title = _UNSAFE_IN_NAME.sub("_", title).strip(" .") or "photo"
    room = FILE_TITLE_MAX_BYTES - len(f"{mark} ".encode()) - len(extension.encode())
    return f"{mark} {fit_bytes(safe_title, max(room, 0)).rstrip(' .')}{extension}"


def tag_names(photo: dict) -> list[str]:
    """The photo's tags as names: strings up to v7.6, ``{"id", "name"}`` objects from v7.7."""
    names = []
    for tag in photo.get("tags") or []:
        name = tag.get("name") if isinstance(tag, dict) else tag
        if isinstance(name, str):
            names.append(name)
    return names


def size_in_bytes(value) -> int:
    """A size variant's ``filesize``: bytes (older answers) or Lychee's "1.46 KB" (1024-based, rounded)."""
    if isinstance(value, (int, float)):
        return int(value)
    match = _SIZE.match(str(value or ""))
    if not match:
        return 0
    return int(round(float(match.group(1)) * 1024 ** _UNITS[match.group(2).upper()]))
