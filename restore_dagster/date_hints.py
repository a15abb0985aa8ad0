"""Dates suggested by a scan's file name ("1962 wedding.jpg"), never applied without the family's yes.

A scan's own EXIF date is when it was scanned, so it is never suggested. A file name is a hint only
when a year stands as a word of its own: camera and scanner counters (``IMG_1962.jpg``,
``DSC01962``, ``scan-1962``) are numbers, not dates, and long digit runs (``20230501_101500``) are
the scanning phone's own timestamp.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from restore_dagster.photo_dates import FIRST_YEAR, DescriptionError, parse_date

# Names cameras, phones and scanners give files: the digits after them count pictures.
_COUNTER_PREFIX = re.compile(
    r"^(?:img|dsc[nfr]?|dcp|pict?|p|pxl|mvimg|sam|scan|scanned|image|photo|foto|bild|dji|gopr|cimg|hpim|imag)"
    r"[\s_-]*\d", re.IGNORECASE)
# A date as a word of its own: year, year-month or year-month-day with -, . or _ between; "1960s" too.
_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])(?P<year>1[89]\d\d|20\d\d)"
    r"(?:(?P<sep>[-._])(?P<month>0[1-9]|1[0-2])(?:(?P=sep)(?P<day>0[1-9]|[12]\d|3[01]))?)?"
    r"(?P<decade>s|'s|er)?(?![0-9A-Za-z])")


def date_hint(file_name: str, today: date | None = None) -> str | None:
    """The date a file name suggests, in the form ``describe --date`` takes, or None."""
    stem = unicodedata.normalize("NFKC", file_name).rsplit(".", 1)[0] if "." in file_name else file_name
    if _COUNTER_PREFIX.match(stem.strip()):
        return None
    for match in _CANDIDATE.finditer(stem):
        year = match.group("year")
        if match.group("decade"):
            if not year.endswith("0"):
                continue
            text = f"{year}s"
        else:
            text = "-".join(part for part in (year, match.group("month"), match.group("day")) if part)
        try:
            parsed = parse_date(text, today)
        except DescriptionError:
            continue
        if parsed.year >= FIRST_YEAR:
            return parsed.text
    return None
