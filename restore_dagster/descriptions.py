"""What the family knows about a photo: when (exactly or roughly), a caption, where, and who is in it.

Stored in ``state/descriptions.json``, never inside the original, keyed by the photo's *source* (the
gallery's id of the upload: ``<album folder>/<file name>`` for the folder gallery), so a photo can be
described as soon as it is in the gallery, before any sensor tick has given it a partition key.
Albums carry defaults: an album's date applies to its photos that have no date of their own, its
place to those without a place. Only ``published`` depends on a description (see ``lineage``): a
change re-publishes the photo with the new metadata and runs no model.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.photo_dates import FIRST_YEAR, DescriptionError, PhotoDate, parse_date

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["FIRST_YEAR", "Description", "DescriptionError", "DescriptionSnapshot", "DescriptionStore", "PhotoDate",
           "parse_date", "parse_people", "parse_coordinates"]

MAX_CAPTION = 2000
MAX_PLACE = 200
MAX_NAME = 100
MAX_PEOPLE = 50
# Names are separated by commas: ASCII, full-width (，) or the Chinese enumeration comma (、).
_NAME_SEPARATORS = re.compile(r"[,，、]")


def _clean_text(value: str, what: str, limit: int, multiline: bool = False) -> str:
    text = unicodedata.normalize("NFC", str(value)).strip()
    allowed = "\n" if multiline else ""
    text = text.replace("\r\n", "\n")
    # Control characters and lone surrogates only: joiners and direction marks belong in names and emoji.
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in allowed]
    if bad:
        raise DescriptionError(f"the {what} holds control characters ({', '.join(repr(c) for c in bad[:3])})")
    if len(text) > limit:
        raise DescriptionError(f"the {what} is {len(text)} characters long; at most {limit}")
    return text


def parse_people(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Names separated by commas (``Anna, Ben``); blanks dropped, repeats kept once, order kept."""
    items = _NAME_SEPARATORS.split(value) if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        name = " ".join(_clean_text(item, "name", MAX_NAME).split())
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if len(names) > MAX_PEOPLE:
        raise DescriptionError(f"{len(names)} names; at most {MAX_PEOPLE} per photo")
    return tuple(names)


def parse_coordinates(value: str) -> tuple[float, float] | None:
    """``52.5163, 13.3777`` (latitude, longitude in decimal degrees); "" clears them."""
    text = str(value).strip()
    if not text:
        return None
    match = re.fullmatch(r"(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)", text)
    if not match:
        raise DescriptionError(f"{value!r}: give coordinates as 'latitude, longitude' in decimal degrees, e.g. 52.5163, 13.3777")
    latitude, longitude = float(match.group(1)), float(match.group(2))
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise DescriptionError(f"{value!r}: latitude must be within ±90 and longitude within ±180")
    return round(latitude, 6), round(longitude, 6)


@dataclass(frozen=True)
class Description:
    """A photo's description as stored (``date`` in its canonical text) or as it applies (album defaults filled in)."""

    date: str = ""
    caption: str = ""
    place: str = ""
    coordinates: tuple[float, float] | None = None
    people: tuple[str, ...] = ()
    # Which fields came from the album's defaults (only in an effective description).
    from_album: tuple[str, ...] = field(default=(), compare=False)

    @property
    def photo_date(self) -> PhotoDate | None:
        return parse_date(self.date) if self.date else None

    def is_empty(self) -> bool:
        return not (self.date or self.caption or self.place or self.coordinates or self.people)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.date:
            data["date"] = self.date
        if self.caption:
            data["caption"] = self.caption
        if self.place:
            data["place"] = self.place
        if self.coordinates:
            data["coordinates"] = list(self.coordinates)
        if self.people:
            data["people"] = list(self.people)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Description":
        """A stored entry; a hand-edited one of the wrong shape raises ``DescriptionError`` saying so."""
        data = data or {}
        try:
            coordinates = data.get("coordinates")
            people = data.get("people") or ()
            if isinstance(people, str) or (coordinates and len(coordinates) != 2):
                raise ValueError("people must be a list of names and coordinates a [latitude, longitude] pair")
            return cls(
                date=str(data.get("date") or ""),
                caption=str(data.get("caption") or ""),
                place=str(data.get("place") or ""),
                coordinates=tuple(float(c) for c in coordinates) if coordinates else None,
                people=tuple(str(p) for p in people),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise DescriptionError(f"not a description ({exc})") from None

    def signature(self) -> str | None:
        """What ``published``'s fingerprint takes from this description; None when there is nothing."""
        if self.is_empty():
            return None
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    def search_text(self) -> str:
        """Lower-cased caption, place and names, for the web gallery's search."""
        return unicodedata.normalize("NFKC", " \n".join([self.caption, self.place, *self.people])).casefold()


ALBUM_FIELDS = ("date", "place", "coordinates")
# Sentinel for "leave this field as it is" (None would be ambiguous with "clear").
KEEP = object()


def validated(current: Description, *, date: Any = KEEP, caption: Any = KEEP, place: Any = KEEP,
              coordinates: Any = KEEP, people: Any = KEEP) -> Description:
    """``current`` with the given fields replaced (an empty value clears a field), every value checked."""
    changes: dict[str, Any] = {}
    if date is not KEEP:
        changes["date"] = parse_date(date).text if str(date or "").strip() else ""
    if caption is not KEEP:
        changes["caption"] = _clean_text(caption or "", "caption", MAX_CAPTION, multiline=True)
    if place is not KEEP:
        changes["place"] = _clean_text(place or "", "place", MAX_PLACE)
    if coordinates is not KEEP:
        if coordinates and not isinstance(coordinates, str):
            coordinates = ", ".join(str(c) for c in coordinates)  # a pair: checked the same way as typed text
        changes["coordinates"] = parse_coordinates(coordinates or "")
    if people is not KEEP:
        changes["people"] = parse_people(people or "")
    return replace(current, **changes)


class DescriptionStore:
    """``state/descriptions.json``: ``{"photos": {source: {...}}, "albums": {album: {...}}}``.

    Only non-empty fields are kept. Writes are atomic (readers never see half a file) and serialised
    by a lock file, so the web gallery and the CLI never lose each other's change; the sensor only reads.
    """

    _lock = threading.Lock()

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "descriptions.json"

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        try:
            data = read_json(self.path, {}) or {}
            return {"photos": dict(data.get("photos") or {}), "albums": dict(data.get("albums") or {})}
        except (AttributeError, TypeError, ValueError) as exc:  # a hand edit gone wrong: say where, never overwrite it
            raise DescriptionError(f"{self.path} cannot be read ({exc}); fix or remove it") from None

    def snapshot(self) -> "DescriptionSnapshot":
        """Everything in one read, for code that looks up many photos (the sensor, an album page).

        An unreadable file gives a snapshot that raises its reason for every photo, so the sensor
        keeps working and each publish fails naming the file, instead of publishing without descriptions.
        """
        try:
            data = self._load()
        except DescriptionError as exc:
            return DescriptionSnapshot({}, {}, str(exc))
        return DescriptionSnapshot(data["photos"], data["albums"])

    def photo(self, source: str) -> Description:
        return Description.from_json(self._load()["photos"].get(source))

    def album(self, album: str) -> Description:
        return Description.from_json(self._load()["albums"].get(album))

    def effective(self, source: str, album: str) -> Description:
        return self.snapshot().effective(source, album)

    def describe(self, source: str, clear: bool = False, **changes: Any) -> Description:
        """Change some fields of a photo's description (``clear``: start from nothing); nothing is stored unless all are valid."""
        return self._update("photos", source, changes, clear)

    def describe_album(self, album: str, clear: bool = False, **changes: Any) -> Description:
        unknown = set(changes) - set(ALBUM_FIELDS)
        if unknown:
            raise DescriptionError(f"an album's description holds only {', '.join(ALBUM_FIELDS)} "
                                   f"(its photos' defaults), not {', '.join(sorted(unknown))}")
        return self._update("albums", album, changes, clear)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time: threads of the web gallery, and the CLI in another process (flock)."""
        with self._lock:
            if fcntl is None:  # Windows: no advisory locks; two writers in the same instant may lose one change
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(".descriptions.lock"), "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes, or the process dies
                yield

    def _update(self, section: str, name: str, changes: dict[str, Any], clear: bool = False) -> Description:
        with self._writing():
            data = self._load()
            result = validated(Description() if clear else Description.from_json(data[section].get(name)), **changes)
            if result.is_empty():
                data[section].pop(name, None)
            else:
                data[section][name] = result.to_json()
            atomic_write_json(self.path, data)
            return result

    def clear(self, source: str) -> None:
        self._update("photos", source, {}, clear=True)

    def clear_album(self, album: str) -> None:
        self._update("albums", album, {}, clear=True)


@dataclass(frozen=True)
class DescriptionSnapshot:
    photos: dict[str, dict[str, Any]]
    albums: dict[str, dict[str, Any]]
    problem: str = ""  # why the file could not be read, if it could not

    def own(self, source: str) -> Description:
        return Description.from_json(self.photos.get(source))

    def effective(self, source: str, album: str) -> Description:
        """The photo's own description with its album's date and place for the fields it leaves empty.

        An invalid hand-edited entry raises ``DescriptionError`` naming the photo; callers that must
        not fail (the sensor) treat it as that photo's failure.
        """
        if self.problem:
            raise DescriptionError(self.problem)
        try:
            own = self.own(source)
            defaults = Description.from_json(self.albums.get(album))
            if own.date:
                own.photo_date  # noqa: B018 - validates a hand-edited value
            if defaults.date:
                defaults.photo_date  # noqa: B018
        except DescriptionError as exc:
            raise DescriptionError(f"descriptions.json: the description of {source} or its album {album!r}: {exc}") from None
        taken = []
        if not own.date and defaults.date:
            own, taken = replace(own, date=defaults.date), taken + ["date"]
        if not own.place and not own.coordinates and (defaults.place or defaults.coordinates):
            own, taken = replace(own, place=defaults.place, coordinates=defaults.coordinates), taken + ["place"]
        return replace(own, from_album=tuple(taken))

    def signature(self, source: str, album: str) -> str | None:
        try:
            return self.effective(source, album).signature()
        except DescriptionError as exc:
            # Still a fingerprint, so the broken entry reaches `published`, which fails the photo with the reason.
            return "invalid:" + hashlib.sha256(str(exc).encode()).hexdigest()[:12]


