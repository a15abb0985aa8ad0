"""Dates as precise as a family knows them: ``1962-06-14``, ``1962-06``, ``1962``, ``about 1960``, ``1960s``.

Parsed, validated and turned into what photo apps read (EXIF's one exact time, XMP's reduced
precision), with the convention for approximate dates explained in ``PhotoDate.exif_datetime``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime


# The first surviving photograph is from 1826; a later year than this one is a typing mistake.
FIRST_YEAR = 1826
# "about 1960", "circa 1960", "ca. 1960", "c. 1960", "~1960", and the Chinese "约1960" / "1960年左右" read alike.
_ABOUT = re.compile(r"^(?:about|around|circa|ca\.?|c\.|~|约|大约)\s*(.+?)$", re.IGNORECASE)
_ABOUT_SUFFIX = re.compile(r"^(.+?)\s*(?:左右|前后)$")
_DECADE = re.compile(r"^(\d{3}0)\s*(?:s|'s|年代)$", re.IGNORECASE)
_EXACT = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class DescriptionError(ValueError):
    """A description's value that cannot be stored (a date here, or any field in ``descriptions``),
    with what is wrong and what would be accepted."""


@dataclass(frozen=True)
class PhotoDate:
    """A date as precise as the family knows it.

    ``precision`` is ``decade``, ``year``, ``month``, ``day`` or ``time``; ``approximate`` marks
    "about …". ``offset`` ("+02:00") is set only when the user gave one.
    """

    year: int
    precision: str
    approximate: bool = False
    month: int = 1
    day: int = 1
    hour: int = 12
    minute: int = 0
    second: int = 0
    offset: str | None = None

    @property
    def text(self) -> str:
        """The canonical form, what is stored and shown: ``1962-06-14``, ``about 1960``, ``1960s``."""
        if self.precision == "decade":
            core = f"{self.year}s"
        elif self.precision == "year":
            core = f"{self.year:04d}"
        elif self.precision == "month":
            core = f"{self.year:04d}-{self.month:02d}"
        elif self.precision == "day":
            core = f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        else:
            core = f"{self.year:04d}-{self.month:02d}-{self.day:02d} {self.hour:02d}:{self.minute:02d}:{self.second:02d}"
            core += self.offset or ""
        return f"about {core}" if self.approximate else core

    @property
    def exif_datetime(self) -> str:
        """EXIF ``DateTimeOriginal``: the first day of the period, at noon when no time is known.

        EXIF has no precision, and Immich, Apple Photos and Google Photos read this tag as one
        exact local time. The first day of the period is what an XMP reader makes of the
        reduced-precision ``photoshop:DateCreated`` ("1962" is 1962-01-01), so both tags agree and the
        photo sorts at the start of its year or month, where "1962" sorts by hand too. Noon rather than
        midnight: an app that takes the time as UTC and shows it in a zone up to 12 hours away still
        shows the same day, never 31 December of the year before.
        """
        return f"{self.year:04d}:{self.month:02d}:{self.day:02d} {self.hour:02d}:{self.minute:02d}:{self.second:02d}"

    @property
    def iso_datetime(self) -> str:
        """The same instant as ``exif_datetime`` in ISO 8601 (with the offset when known), for APIs such as Lychee's."""
        return (f"{self.year:04d}-{self.month:02d}-{self.day:02d}T{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
                + (self.offset or ""))

    @property
    def xmp_date(self) -> str:
        """``photoshop:DateCreated`` (XMP date, ISO 8601 with reduced precision): a decade is its first year."""
        if self.precision in ("decade", "year"):
            return f"{self.year:04d}"
        if self.precision == "month":
            return f"{self.year:04d}-{self.month:02d}"
        if self.precision == "day":
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}T{self.hour:02d}:{self.minute:02d}:{self.second:02d}" + (
            self.offset or "")

    @property
    def sort_key(self) -> tuple:
        """Chronological order; a vaguer date sorts before the precise ones inside its period."""
        order = ("decade", "year", "month", "day", "time").index(self.precision)
        return (self.year, self.month, self.day, order, self.hour, self.minute, self.second)


def parse_date(text: str, today: date | None = None) -> PhotoDate:
    """``1962-06-14``, ``1962-06``, ``1962``, ``about 1960``, ``1960s``, ``1962-06-14 15:30[+02:00]``."""
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    if not raw:
        raise DescriptionError("the date is empty (leave it out, or give 1962-06-14, 1962-06, 1962, about 1960 or 1960s)")
    approximate = False
    for pattern in (_ABOUT, _ABOUT_SUFFIX):
        match = pattern.match(raw)
        if match:
            approximate, raw = True, match.group(1).strip()
    decade = _DECADE.match(raw)
    if decade:
        result = PhotoDate(int(decade.group(1)), "decade", approximate)
    else:
        match = _EXACT.match(raw)
        if not match:
            raise DescriptionError(
                f"{text!r} is not a date this understands: give 1962-06-14, 1962-06, 1962, about 1960 or 1960s "
                "(a time as 1962-06-14 15:30, with +02:00 when the time zone is known)")
        year, month, day, hour, minute, second, offset = match.groups()
        precision = "time" if hour else "day" if day else "month" if month else "year"
        if offset == "Z":
            offset = "+00:00"
        result = PhotoDate(int(year), precision, approximate, int(month or 1), int(day or 1),
                           int(hour) if hour else 12, int(minute or 0), int(second or 0), offset)
        try:
            datetime(result.year, result.month, result.day, result.hour, result.minute, result.second)
        except ValueError as exc:
            raise DescriptionError(f"{text!r} is not a real date ({exc})") from None
        if offset and not re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", offset):
            raise DescriptionError(f"{text!r}: the time zone {offset} is not a UTC offset between -14:00 and +14:00")
    this_year = (today or date.today()).year
    if not FIRST_YEAR <= result.year <= this_year:
        raise DescriptionError(f"{text!r}: the year must be between {FIRST_YEAR} (the first photographs) and {this_year}")
    return result
