"""The owner's colour fixes of a photo: ``touchups/colour-fix/<album>/<photo>.json``, made, undone and replayed.

A fix is stored as what the owner did, not as pixels: the tapped point (fractions of the picture), the
tolerance and the colour, plus the region that gave (a small 1-bit PNG at the segmentation's working
size, base64 in the file, for audit and to tell whether it still applies). ``colorized`` replays the
list in order after its colouriser: each fix segments the luminance again from its tap and replaces the
chroma there (imaging/colour_fix.py). Since colourisation keeps the luminance, a re-colourisation with
another model finds the same region; when the luminance itself changed (a new scan, a new repair) and
the region found no longer matches the stored one, that fix is skipped and the stage's record says why.

The file is part of ``colorized``'s fingerprint (lineage.py), so adding or undoing a fix re-runs the
photo from ``colorized`` only. Undo removes one fix (the last, or any by its id); the last undo removes
the file, and the photo gets back the fingerprint it had before any fix.

File format (``FORMAT`` 1)::

    {"format": 1, "fixes": [{"id": "3fa2c1d0", "x": 0.41, "y": 0.63, "tolerance": 18, "colour": "#2255aa",
      "area": 0.0812, "box": [0.3, 0.45, 0.55, 0.98], "work_size": [1024, 768], "mask": "<base64 PNG>",
      "at": 1764580000.0}, ...]}
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from restore_dagster.config import Layout
from restore_dagster.files import atomic_write_json
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.lineage import colour_fix_path, colour_fix_signature_of, read_record

FORMAT = 1
MAX_FIXES = 40  # each replay segments the picture again; forty regions is a lot of hand colouring
_ID_CHARS = set("0123456789abcdef")


class ColourFixFileError(cf.ColourFixError):
    """The fixes file cannot be used; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class ColourFix:
    id: str
    x: float
    y: float
    tolerance: int
    colour: str  # "#rrggbb"
    area: float  # share of the picture the region covered when the fix was made
    box: tuple[float, float, float, float]  # the region's (left, top, right, bottom), fractions
    work_size: tuple[int, int]  # the segmentation's size when the fix was made (width, height)
    mask: str  # the region then: base64 of a 1-bit PNG of work_size
    at: float

    @property
    def rgb(self) -> tuple[int, int, int]:
        return cf.parse_colour(self.colour)

    def region(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The stored region at ``size`` (default: its own working size)."""
        return cf.mask_from_text(self.mask, tuple(size or self.work_size))

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["box"], data["work_size"] = list(self.box), list(self.work_size)
        return data

    @classmethod
    def from_json(cls, data: Any) -> "ColourFix":
        """A fix as read from a file; ColourFixError says which field is wrong."""
        if not isinstance(data, dict):
            raise cf.ColourFixError("a fix must be an object")
        missing = [name for name in cls.__dataclass_fields__ if name not in data]
        if missing:
            raise cf.ColourFixError(f"missing {', '.join(missing)}")
        fix_id = data["id"]
        if not (isinstance(fix_id, str) and 1 <= len(fix_id) <= 32 and set(fix_id) <= _ID_CHARS):
            raise cf.ColourFixError(f"id must be up to 32 lower-case hex digits, not {str(fix_id)[:40]!r}")
        x, y = cf.check_point(data["x"], data["y"])
        tolerance = cf.check_tolerance(data["tolerance"])
        rgb = cf.parse_colour(data["colour"])
        area, at = data["area"], data["at"]
        if not (_number(area) and 0.0 <= area <= 1.0) or not (_number(at) and at >= 0):
            raise cf.ColourFixError("area must be a fraction from 0 to 1 and at a time in seconds")
        box, size = data["box"], data["work_size"]
        if not (isinstance(box, list) and len(box) == 4 and all(_number(v) and 0.0 <= v <= 1.0 for v in box)):
            raise cf.ColourFixError("box must be four fractions (left, top, right, bottom)")
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and 0 < v <= 4 * cf.WORK_SIDE for v in size)):
            raise cf.ColourFixError("work_size must be two whole numbers of pixels")
        if not isinstance(data["mask"], str):
            raise cf.ColourFixError("mask must be a base64 PNG")
        fix = cls(fix_id, x, y, tolerance, "#%02x%02x%02x" % rgb, float(area), tuple(box), tuple(size), data["mask"], float(at))
        try:
            fix.region()
        except Exception as exc:  # binascii, PIL, zlib: any of them means the same to the owner
            raise cf.ColourFixError(f"mask is not a readable PNG ({exc.__class__.__name__}: {exc})") from None
        return fix


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def make_fix(luminance: np.ndarray, x: float, y: float, tolerance: int, colour: str) -> tuple[ColourFix, cf.Region]:
    """A new fix from a tap on a ``working_luminance``; ColourFixError when nothing can be segmented there."""
    rgb = cf.parse_colour(colour)
    region = cf.segment(luminance, x, y, tolerance)
    height, width = luminance.shape
    fix = ColourFix(secrets.token_hex(4), round(x, 5), round(y, 5), tolerance, "#%02x%02x%02x" % rgb,
                    round(region.area, 6), region.box, (width, height), cf.mask_to_text(region.mask), round(time.time(), 3))
    return fix, region


# --- the file ---------------------------------------------------------------------------------------

def read_fixes(path: Path) -> list[ColourFix]:
    """The fixes in ``path`` in the order they were made; [] when there is no file.

    A file that is not what this module writes raises ColourFixFileError naming it and the fix: a fix
    the owner made is never silently dropped.
    """
    return read_fixes_signed(path)[0]


def read_fixes_signed(path: Path) -> tuple[list[ColourFix], str | None]:
    """``read_fixes`` and the signature (lineage.colour_fix_signature) of the very bytes it read."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        raise ColourFixFileError(f"{path}: cannot read the colour fixes ({exc})") from None
    return _parse(path, data), colour_fix_signature_of(data)


def _parse(path: Path, raw: bytes) -> list[ColourFix]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ColourFixFileError(f"{path}: the colour fixes are not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("fixes"), list):
        raise ColourFixFileError(f"{path}: not a colour-fix file (expected {{\"format\": {FORMAT}, \"fixes\": [...]}})")
    fixes = []
    for number, item in enumerate(data["fixes"], start=1):
        try:
            fixes.append(ColourFix.from_json(item))
        except cf.ColourFixError as exc:
            raise ColourFixFileError(f"{path}: fix {number}: {exc}") from None
    if len({fix.id for fix in fixes}) != len(fixes):
        raise ColourFixFileError(f"{path}: two fixes share an id")
    return fixes


def _write(path: Path, fixes: list[ColourFix]) -> None:
    if fixes:
        atomic_write_json(path, {"format": FORMAT, "fixes": [fix.to_json() for fix in fixes]})
    else:  # no fix left: no file, so the photo's fingerprint is the one it had before any fix
        path.unlink(missing_ok=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One change of a photo's fixes at a time, across threads and processes (the web and the CLI)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # One lock file per album folder, hidden (listings skip dot files), never removed: removing a
    # lock file another process holds would let a third one lock a new file beside it.
    fd = os.open(path.parent / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def fixes_of(layout: Layout, key: str) -> list[ColourFix]:
    return read_fixes(colour_fix_path(layout, key))


def add_fix(layout: Layout, key: str, fix: ColourFix) -> list[ColourFix]:
    """Append ``fix`` to ``key``'s fixes (atomically); ColourFixError when the photo has too many."""
    path = colour_fix_path(layout, key)
    with _locked(path):
        fixes = read_fixes(path)
        if len(fixes) >= MAX_FIXES:
            raise cf.ColourFixError(f"this photo already has {MAX_FIXES} colour fixes; undo some first")
        fixes.append(fix)
        _write(path, fixes)
    return fixes


def undo_fix(layout: Layout, key: str, fix_id: str | None = None) -> ColourFix | None:
    """Remove one fix: ``fix_id``'s, or the last one made. Returns it, or None when there was none to remove."""
    path = colour_fix_path(layout, key)
    if not path.parent.is_dir():
        return None
    with _locked(path):
        fixes = read_fixes(path)
        found = next((f for f in fixes if f.id == fix_id), None) if fix_id else (fixes[-1] if fixes else None)
        if found is not None:
            _write(path, [f for f in fixes if f is not found])
    return found


def forget_fixes(layout: Layout, key: str) -> int:
    """Remove every fix of ``key`` (also a file that cannot be read); returns how many were readable."""
    path = colour_fix_path(layout, key)
    if not path.parent.is_dir():
        return 0
    with _locked(path):
        try:
            count = len(read_fixes(path))
        except ColourFixFileError:
            count = 0
        path.unlink(missing_ok=True)
    return count


# --- what the owner is shown ------------------------------------------------------------------

def _fix_json(fix: ColourFix, outcome: dict) -> dict:
    return {"id": fix.id, "colour": fix.colour, "x": fix.x, "y": fix.y, "tolerance": fix.tolerance,
            "percent": round(100 * fix.area, 1), **outcome}


def fixes_json(layout: Layout, key: str) -> tuple[list[dict], str]:
    """The photo's fixes, each with what the last ``colorized`` run did with it ("applied",
    "skipped" with the reason, or "waiting" for the next run); and an error line when the file on
    disk cannot be read (then the list is empty and the owner may remove it)."""
    try:
        fixes = read_fixes(colour_fix_path(layout, key))
    except ColourFixFileError as exc:
        return [], str(exc)
    record = read_record(layout, "colorized", key)
    done = record.metadata.get("colour_fixes") if record else None
    applied = set(done.get("applied", [])) if isinstance(done, dict) else set()
    skipped = {s.get("id"): s.get("reason", "") for s in done.get("skipped", []) if isinstance(s, dict)} if isinstance(done, dict) else {}
    result = []
    for fix in fixes:
        if fix.id in applied:
            outcome = {"state": "applied", "reason": ""}
        elif fix.id in skipped:
            outcome = {"state": "skipped", "reason": skipped[fix.id]}
        else:
            outcome = {"state": "waiting", "reason": ""}
        result.append(_fix_json(fix, outcome))
    return result, ""


# --- replay ----------------------------------------------------------------------------------------

@dataclass
class Replayed:
    image: Image.Image
    applied: list[str] = field(default_factory=list)  # ids, in order
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    labels: np.ndarray | None = None  # working size: 1-based number of the fix that coloured each pixel, 0 none

    def summary(self) -> dict[str, Any]:
        return {"applied": list(self.applied), "skipped": list(self.skipped)}


def replay(image: Image.Image, luminance: np.ndarray, fixes: list[ColourFix]) -> Replayed:
    """``image`` with ``fixes`` applied in order, each segmented again on ``luminance`` (the
    colouriser's input at working size). A fix whose region no longer matches the one it was made
    with (overlap below ``MIN_OVERLAP``), or whose tap now lands on an outline, is skipped with a reason."""
    result = Replayed(image.convert("RGB"), labels=np.zeros(luminance.shape, dtype=np.uint8))
    size = (luminance.shape[1], luminance.shape[0])
    for number, fix in enumerate(fixes, start=1):
        try:
            region = cf.segment(luminance, fix.x, fix.y, fix.tolerance)
        except cf.ColourFixError:
            result.skipped.append({"id": fix.id, "reason": "the tapped point now lies on an outline: nothing to colour"})
            continue
        match = cf.overlap(region.mask, fix.region(size))
        if match < cf.MIN_OVERLAP:
            result.skipped.append({"id": fix.id, "reason": (
                f"the region at the tapped point now covers {region.area:.1%} of the picture (it was {fix.area:.1%}) and "
                f"matches the one chosen by only {match:.0%}: the photo changed under it; tap it again")})
            continue
        result.image = cf.recolour(result.image, cf.soft_mask(region.mask, result.image.size), fix.rgb)
        result.labels[region.mask] = min(number, 255)
        result.applied.append(fix.id)
    return result
