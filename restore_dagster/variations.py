"""Colour variations: one photo coloured by every colouriser at hand, at a few knobs, for its owner to choose.

Made on request only (the web viewer's "Colour variations" panel, ``restore-photos variations KEY``),
never for every photo: a contact sheet costs several model runs. What is made, under
``stages/colour_variations/<album>/<photo>/``:

- one JPEG per candidate (a model and its knob: DeOldify's render factor, DDColor's input size);
- ``sheet-<token>.jpg``: the contact sheet, every candidate labelled, for the CLI and the Dagster UI;
- ``variations.json``: the listing (candidates, the models left out and why, the costs), written
  last and atomically, so a reader sees the old set or the new one, never half of one. Files of an
  older set are removed only after the new listing is in place; a killed run leaves at most a few
  files that the next set removes.

The input is ``toned`` (the stage before upscaling and colour) brought down to ``WORKING_SIDE``:
the colourisers look at a small square of the photo's lightness anyway (DeOldify render_factor × 16
pixels, DDColor input_size), so the colours they choose are the same as on the 4K picture the
``colorized`` stage gets, while the luminance merge, the JPEG and the phone's download stay small.

A choice becomes the photo's own ``model`` and knob in the settings store (``choose``); those are in
``colorized``'s fingerprint, so the pipeline redoes the photo from ``colorized`` with it.

Colour photos pass through the colouriser (unless their colorize setting is "on"): their variations
say so and offer nothing to choose.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from PIL import Image, ImageDraw

from restore_dagster.colourisers import model_label, run_colorizer, should_colorize
from restore_dagster.config import Layout
from restore_dagster.files import atomic_write_bytes, atomic_write_json, read_json
from restore_dagster.lineage import clear_failure, output_base, read_record
from restore_dagster.settings import MODELS, PhotoSettings, SettingsStore

STAGE = "colour_variations"
LISTING = "variations.json"
# The working picture's long side: a phone shows a candidate full-screen at about 1,100 device pixels;
# the models themselves see 320-720 (DeOldify) or 256-768 (DDColor) whatever this is.
WORKING_SIDE = 1024
MAX_CANDIDATES = 9
# Each family's knobs in the order they are offered: its default first, then lower (bolder, blotchier
# colour on DeOldify; coarser on DDColor), then higher (more detail, sometimes washed out).
KNOBS = {"deoldify": (35, 20, 45, 28), "ddcolor": (512, 256, 768, 384)}
JPEG_QUALITY = 88
SHEET_COLUMNS = 3
SHEET_CELL = 360  # a contact-sheet cell's long side, pixels
# What the listing may name: our own short file names, never a path (the web serves them by this rule).
SAFE_FILE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}\.jpg$")

# Listing states.
MADE, COLOUR_PHOTO, FAILED = "made", "colour photo", "failed"


def knob_of(model: str) -> str:
    """The knob a model has: "render_factor" (DeOldify) or "input_size" (DDColor)."""
    return "render_factor" if model.startswith("deoldify-") else "input_size"


@dataclass(frozen=True)
class Candidate:
    model: str  # a settings.MODELS name
    value: int  # its knob's value

    @property
    def knob(self) -> str:
        return knob_of(self.model)

    @property
    def id(self) -> str:
        """Stable and URL-safe: "deoldify-artistic-35", "ddcolor-tiny-256"."""
        return f"{self.model}-{self.value}"

    def changes(self) -> dict[str, Any]:
        """The settings this candidate stands for."""
        return {"model": self.model, self.knob: self.value}


def plan_candidates(available: Sequence[str], current: Candidate | None = None,
                    knobs: dict[str, Sequence[int]] = KNOBS, limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """Up to ``limit`` candidates over the ``available`` models: each model's first knob, then each
    one's second, and so on, so every model is seen before any gets a third look. The photo's current
    choice comes first when its model is available (the owner compares against what they have)."""
    chosen: list[Candidate] = [current] if current is not None and current.model in available else []
    lists = [[Candidate(model, value) for value in knobs[model.split("-", 1)[0]]] for model in MODELS if model in available]
    for round_number in range(max((len(values) for values in lists), default=0)):
        for values in lists:
            if round_number < len(values) and values[round_number] not in chosen:
                chosen.append(values[round_number])
    return chosen[:limit]


def folder(layout: Layout, key: str) -> Path:
    """``stages/colour_variations/<album>/<photo>/``: a folder per photo, short fixed names inside."""
    return output_base(layout, STAGE, key)


def read_listing(layout: Layout, key: str) -> dict | None:
    """The photo's last variations (see the module docstring), or None before the first."""
    try:
        data = read_json(folder(layout, key) / LISTING)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def candidate_file(layout: Layout, key: str, name: str) -> Path | None:
    """A file the listing names (a candidate or the sheet), or None for any name that is not ours."""
    if not isinstance(name, str) or not SAFE_FILE.match(name):
        return None
    path = folder(layout, key) / name
    return path if path.is_file() and not path.is_symlink() else None


def knob_label(candidate: Candidate) -> str:
    return f"render factor {candidate.value}" if candidate.knob == "render_factor" else f"input size {candidate.value}"


def is_colour_photo(layout: Layout, key: str, settings: PhotoSettings) -> bool:
    """True when ``colorized`` passes this photo through: a colour print whose colorize is not "on"."""
    repaired = read_record(layout, "repaired", key)
    is_grey = bool(repaired.metadata.get("is_grey")) if repaired else False
    # "off" is the owner's word, not the photo's nature: a black-and-white photo set to off can still
    # be offered colours (choosing one turns colour back to automatic, see ``choose``).
    return not should_colorize("auto" if settings.colorize == "off" else settings.colorize, is_grey)


def working_picture(path: Path, side: int) -> Image.Image:
    from restore_dagster import imaging

    image = imaging.decode_stage_file(path)
    size = _fit(image.size, side)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    from restore_dagster.imaging.sampling import fit_within

    return fit_within(size, side)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


@dataclass
class Made:
    candidate: Candidate
    file: str
    seconds: float
    cpu_seconds: float  # the process's CPU time, all threads: the fair figure on a shared machine
    image: Image.Image


def make_variations(layout: Layout, key: str, settings: PhotoSettings, gpu, progress=None, log=None,
                    knobs: dict[str, Sequence[int]] = KNOBS, limit: int = MAX_CANDIDATES,
                    side: int = WORKING_SIDE, run_id: str = "") -> dict:
    """Make ``key``'s colour variations and return the listing written (see the module docstring).

    Models whose weights are not here (or not usable) are left out and named with the reason; only a
    photo that cannot be read at all, or has no ``toned`` output yet, raises.
    """
    from restore_dagster.models.weights import WeightsError

    started = time.perf_counter()
    toned = read_record(layout, "toned", key)
    if toned is None or not toned.file:
        raise FileNotFoundError(f"{key}: not restored as far as its tone yet (no 'toned' output); "
                                "colour variations are made once it has been")
    target = folder(layout, key)
    base = {"key": key, "run_id": run_id, "at": time.time(), "source": "toned", "source_fingerprint": toned.fingerprint,
            "current": Candidate(settings.model, settings.colour_knob[1]).id}
    if is_colour_photo(layout, key, settings):
        listing = {**base, "state": COLOUR_PHOTO, "candidates": [], "omitted": [], "sheet": None,
                   "message": "a colour photo: it passes through the colouriser unchanged, so there is no colouring to "
                              "choose (set its colorize to 'on' to colour it anyway)",
                   "seconds": round(time.perf_counter() - started, 3)}
        _publish(target, listing)
        return listing

    picture = working_picture(Path(toned.file), side)
    available, omitted = [], []
    for model in MODELS:
        try:
            gpu.weights_for(model.removeprefix("deoldify-"), download=False)
            available.append(model)
        except WeightsError as exc:
            omitted.append(_omission(model, exc))
    current = Candidate(settings.model, settings.colour_knob[1])
    plan = plan_candidates(available, current, knobs, limit)
    token = f"{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}"
    made: list[Made] = []
    model_seconds: dict[str, float] = {}
    if progress is not None:
        progress.tiles(0, len(plan), "candidates")
    done = 0
    for model in dict.fromkeys(c.model for c in plan):
        loading = time.perf_counter()
        try:
            colorizer = gpu.colorizer(model, download=False)
        except Exception as exc:  # a corrupt or wrong file: this model is left out, the sheet goes on
            omitted.append(_omission(model, exc))
            done += sum(1 for c in plan if c.model == model)
            if progress is not None:
                progress.tiles(done, len(plan), "candidates")
            continue
        model_seconds[model] = round(time.perf_counter() - loading, 3)
        for candidate in (c for c in plan if c.model == model):
            began, cpu_began = time.perf_counter(), time.process_time()
            image = run_colorizer(picture, colorizer, settings.updated(**candidate.changes()))
            name = f"{token}-{candidate.id}.jpg"
            atomic_write_bytes(target / name, _jpeg(image))
            made.append(Made(candidate, name, round(time.perf_counter() - began, 3),
                             round(time.process_time() - cpu_began, 3), image))
            done += 1
            if progress is not None:
                progress.tiles(done, len(plan), "candidates")
            if log is not None:
                log.info(f"{STAGE} {key}: {model_label(model)}, {knob_label(candidate)}: {made[-1].seconds:.2f}s")
    sheet = None
    if made:
        sheet = f"sheet-{token}.jpg"
        atomic_write_bytes(target / sheet, _jpeg(contact_sheet([(m.image, _caption(m.candidate)) for m in made])))
    listing = {
        **base,
        "state": MADE if made else FAILED,
        "message": "" if made else "no colouriser's weights are here: " + "; ".join(o["reason"] for o in omitted),
        "working_size": list(picture.size),
        "device": getattr(gpu, "torch_device", ""),
        "candidates": [{"id": m.candidate.id, "model": m.candidate.model, "label": model_label(m.candidate.model),
                        "knob": m.candidate.knob, "value": m.candidate.value, "knob_label": knob_label(m.candidate),
                        "file": m.file, "seconds": m.seconds, "cpu_seconds": m.cpu_seconds} for m in made],
        "model_load_seconds": model_seconds,
        "omitted": omitted,
        "sheet": sheet,
        "seconds": round(time.perf_counter() - started, 3),
    }
    _publish(target, listing)
    return listing


def _caption(candidate: Candidate) -> str:
    return f"{model_label(candidate.model)}, {knob_label(candidate)}"


def _omission(model: str, exc: BaseException) -> dict:
    missing = bool(getattr(exc, "missing", False))
    first_line = (str(exc) or type(exc).__name__).strip().splitlines()[0]
    return {"model": model, "label": model_label(model),
            "reason": f"{model_label(model)}: weights {'not here' if missing else 'not usable'}",
            "detail": first_line}


def _publish(target: Path, listing: dict) -> None:
    """Write the listing (atomically, last), then remove every file of older sets."""
    atomic_write_json(target / LISTING, listing)
    keep = {LISTING, listing.get("sheet")} | {c["file"] for c in listing.get("candidates", [])}
    for entry in os.scandir(target):
        if entry.name not in keep and entry.is_file(follow_symlinks=False) and (
                SAFE_FILE.match(entry.name) or entry.name.endswith(".tmp")):
            Path(entry.path).unlink(missing_ok=True)


def record_failure(layout: Layout, key: str, reason: str, run_id: str = "") -> dict:
    """A listing that says why this photo's variations could not be made (the web shows the reason)."""
    previous = read_listing(layout, key) or {}
    listing = {"key": key, "run_id": run_id, "at": time.time(), "state": FAILED, "message": reason,
               "candidates": [], "omitted": [], "sheet": None, "current": previous.get("current")}
    _publish(folder(layout, key), listing)
    return listing


def contact_sheet(cells: Iterable[tuple[Image.Image, str]], columns: int = SHEET_COLUMNS, cell: int = SHEET_CELL) -> Image.Image:
    """The candidates side by side, ``columns`` a row, each with its caption below it."""
    cells = list(cells)
    caption_height, gap = 22, 6
    rows = (len(cells) + columns - 1) // columns
    width = columns * (cell + gap) + gap
    height = rows * (cell + caption_height + gap) + gap
    sheet = Image.new("RGB", (width, height), (246, 241, 231))
    draw = ImageDraw.Draw(sheet)
    for index, (image, caption) in enumerate(cells):
        row, column = divmod(index, columns)
        x, y = gap + column * (cell + gap), gap + row * (cell + caption_height + gap)
        thumb = image.copy()
        thumb.thumbnail((cell, cell), Image.Resampling.LANCZOS)
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))
        draw.text((x + 4, y + cell + 5), f"{index + 1}. {caption}", fill=(40, 30, 20))
    return sheet


def find_candidate(listing: dict | None, candidate_id: str) -> dict | None:
    if not listing:
        return None
    return next((c for c in listing.get("candidates", []) if c.get("id") == candidate_id), None)


@dataclass(frozen=True)
class Choice:
    settings: PhotoSettings
    changed: bool  # False when the photo already had this colouring
    note: str


def choose(layout: Layout, store: SettingsStore, key: str, candidate_id: str) -> Choice:
    """Make a candidate the photo's own colouring: its model and knob become the photo's settings,
    honoured by every later run (``colorized`` is redone from them). ValueError names what is wrong."""
    listing = read_listing(layout, key)
    found = find_candidate(listing, candidate_id)
    if found is None:
        raise ValueError(f"{key}: no colour variation {candidate_id!r}; make the variations again")
    model, knob, value = found.get("model"), found.get("knob"), found.get("value")
    if model not in MODELS or knob != knob_of(model) or not isinstance(value, int):
        raise ValueError(f"{key}: the variations listing is damaged ({candidate_id!r}); make the variations again")
    before = store.get(key)
    changes: dict[str, Any] = {"model": model, knob: value}
    note = ""
    if before.colorize == "off":  # choosing a colouring is asking for colour
        changes["colorize"] = "auto"
        note = "colour was off for this photo and is now automatic"
    settings = store.set(key, **changes)
    changed = (settings.model, settings.colour_knob, settings.colorize) != (before.model, before.colour_knob, before.colorize)
    if changed:
        clear_failure(layout, key)  # a failure on the old colouring no longer applies
    return Choice(settings, changed, note)


def listing_summary(listing: dict) -> list[str]:
    """The listing as lines for a terminal."""
    lines = []
    if listing.get("state") != MADE:
        return [f"{listing.get('state')}: {listing.get('message')}"]
    for number, c in enumerate(listing["candidates"], start=1):
        mark = "  (current)" if c["id"] == listing.get("current") else ""
        lines.append(f"{number}. {c['id']}: {c['label']}, {c['knob_label']} ({c['seconds']:.2f}s){mark}")
    lines += [f"left out: {o['reason']}" for o in listing.get("omitted", [])]
    return lines
