"""What each stage's output should be derived from, and what it was derived from.

Every stage output carries a fingerprint: a hash of its upstream's fingerprint, the settings that
stage uses and the signature of a touch-up file if one replaces it. The sensor computes the
fingerprints the current sources, settings and touch-ups call for and compares them with the ones
recorded beside each output (a small JSON "record"); the first stage that differs is where a photo's
re-processing starts. A replaced original, a changed setting, an added or removed touch-up are all
the same event seen this way, and unchanged photos cost a ``stat`` each, never a re-hash.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restore_dagster.config import COLOUR_FIX_DIRNAME, REPAIR_MASK_DIRNAME, STAGES, TIFF_STAGES, TOUCHUP_STAGES, Layout
from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.gallery import IMAGE_SUFFIXES
from restore_dagster.keys import split_key
from restore_dagster.settings import PhotoSettings

# Bump a stage's salt when its algorithm changes in a way that should redo existing outputs.
STAGE_SALT = {"scanned": "1", "repaired": "1", "toned": "1", "upscaled": "2", "colorized": "1", "compressed": "2",
              "published": "2"}
# upscaled 2: the pass plan finishes with a Lanczos resize instead of a mostly discarded pass, and caps the
# magnification (settings.max_magnification), so most upscaled pictures change; the result also keeps its
# source's levels (imaging/keep_levels.py: the networks darken a little on every pass).
# compressed 2: the floor holds at 1:1 too (grain was smeared into blotches); every photo is re-encoded once.
# published 2: restorations are named after the whole upload name (``a.jpg.restored.webp``), so
# ``a.jpg`` and ``a.png`` no longer share one; every photo is re-published once under its new name.
# upscaled 2: the result keeps its source's levels (imaging/keep_levels.py): waifu2x had darkened every photo.
STAGE_SETTINGS = {
    "scanned": (),
    "repaired": ("repair", "repair_threshold"),
    "toned": ("tone",),
    "upscaled": ("noise_level", "long_side", "max_magnification"),
    "colorized": ("colorize", "model", "render_factor"),
    "compressed": ("ssim_floor", "detail_floor_1to1", "max_bytes", "web_formats"),
    "published": (),
}


def _stage_settings(stage: str, settings: PhotoSettings) -> dict[str, Any]:
    """The settings a stage's output depends on. For ``colorized``, only the chosen model's own knob
    counts, and the DeOldify models keep the names (and so the fingerprints) they had before DDColor,
    so an upgrade re-colourises nothing."""
    if stage != "colorized":
        return {name: getattr(settings, name) for name in STAGE_SETTINGS[stage]}
    knob, value = settings.colour_knob
    return {"colorize": settings.colorize, "model": settings.weights_kind, knob: value}


def _digest(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def fingerprints(
    source_signature: str, settings: PhotoSettings, touchups: dict[str, str], weights: dict[str, str] | None = None,
    description: str | None = None,
) -> dict[str, str]:
    """The fingerprint each stage's output should carry, in stage order.

    ``weights`` maps a model to the identity of its checkpoint (see ``weights_signatures``):
    new or changed weights re-colourise (DeOldify) or re-repair (the scratch detector, LaMa), so
    photos that went without a step for want of weights are redone once the weights are in place.
    ``touchups`` may also hold the owner's repair-mask corrections under ``REPAIR_MASK_DIRNAME``:
    they change only ``repaired`` (and what follows it). The owner's colour fixes, under
    ``COLOUR_FIX_DIRNAME``, change only ``colorized`` (and what follows it).
    ``description`` (``DescriptionSnapshot.signature``: the family's date, caption, place and names)
    enters ``published`` only, so describing a photo re-publishes it and runs no model; None (not
    described) leaves every fingerprint as it was before descriptions. The owner's framing (corners,
    turn) enters ``scanned``, so reframing redoes the photo from its scan.
    """
    result, upstream = {}, source_signature
    for stage in STAGES:
        parts = {
            "up": upstream,
            "salt": STAGE_SALT[stage],
            "settings": _stage_settings(stage, settings),
            "touchup": touchups.get(stage),
        }
        if stage == "colorized" and settings.colorize != "off":
            parts["weights"] = (weights or {}).get(settings.weights_kind)
        if stage == "repaired" and settings.repair != "off" and "repaired" not in touchups:
            # A hand-repaired image replaces the output whatever the models or the mask say.
            parts["weights"] = {kind: (weights or {}).get(kind) for kind in REPAIR_WEIGHTS}
            parts["mask"] = touchups.get(REPAIR_MASK_DIRNAME)
        if stage == "colorized" and COLOUR_FIX_DIRNAME in touchups and "colorized" not in touchups:
            # Only when there are fixes, so photos nobody fixed keep their fingerprints; a hand-coloured
            # image replaces the output, and the fixes wait for it to be removed.
            parts["colour_fix"] = touchups[COLOUR_FIX_DIRNAME]
        if stage == "published" and description:
            parts["description"] = description
        if stage == "scanned" and (settings.frame_corners is not None or settings.rotation):
            # Only when set, so photos nobody framed keep the fingerprints they had before framing existed.
            parts["framing"] = {"corners": settings.frame_corners, "rotation": settings.rotation}
        upstream = result[stage] = _digest(parts)
    return result


REPAIR_WEIGHTS = ("scratch", "lama")  # the checkpoints `repaired` uses (models/weights.py kinds)


def weights_signatures(layout: Layout) -> dict[str, str]:
    """Per model ("artistic", "stable", "scratch", "lama", "ddcolor", ...), the stat identity of the checkpoint a run
    would use, or "missing"."""
    from restore_dagster.config import weights_path_from_env
    from restore_dagster.models.archive_weights import ARCHIVE_WEIGHTS
    from restore_dagster.models.pinned_weights import PINNED_WEIGHTS
    from restore_dagster.models.weights import DEOLDIFY_WEIGHTS

    result = {}
    for kind, spec in [*DEOLDIFY_WEIGHTS.items(), *ARCHIVE_WEIGHTS.items(), *PINNED_WEIGHTS.items()]:
        explicit = weights_path_from_env(kind)
        path = explicit or layout.weights / spec.name
        signature = file_signature(path)
        result[kind] = f"{'explicit:' + str(explicit) if explicit else 'cache'}:{signature or 'missing'}"
    return result


def file_signature(path: Path) -> str | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


# --- touch-ups ------------------------------------------------------------------------------------

def touchup_path(layout: Layout, stage: str, key: str) -> Path | None:
    """The user's edited output for ``stage`` of ``key``: ``touchups/<stage>/<album>/<photo>.<ext>``."""
    album, photo = split_key(key)
    folder = layout.touchup_dir(stage) / album
    if not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(photo + ".*")):
        if candidate.suffix.lower() in IMAGE_SUFFIXES and candidate.stem == photo:
            return candidate
    return None


def repair_mask_path(layout: Layout, key: str) -> Path:
    """The owner's corrections of ``key``'s repair mask: ``touchups/repair-mask/<album>/<photo>.png``.

    White (>= 192, not transparent) adds to the detected mask, black (<= 63) removes from it, the
    rest (mid-grey, transparent) leaves it to the detectors; see assets/repaired.py.
    """
    album, photo = split_key(key)
    return layout.repair_masks / album / f"{photo}.png"


def colour_fix_path(layout: Layout, key: str) -> Path:
    """The owner's colour fixes of ``key``: ``touchups/colour-fix/<album>/<photo>.json`` (colour_fixes.py)."""
    album, photo = split_key(key)
    return layout.colour_fixes / album / f"{photo}.json"


def colour_fix_signature(path: Path) -> str | None:
    """A digest of the fixes file's bytes, None when there is none.

    The content, not the stat: an undo and a new fix can write a file of the same size within one
    timestamp tick, and an undo back to an earlier list should give back the earlier fingerprint.
    The file is small and only photos with fixes have one.
    """
    try:
        return colour_fix_signature_of(Path(path).read_bytes())
    except FileNotFoundError:
        return None


def colour_fix_signature_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def scan_touchups(layout: Layout) -> dict[str, dict[str, str]]:
    """``{key: {stage: signature}}`` for every touch-up file, in one walk of the touch-up folders.

    Repair-mask corrections are listed under ``REPAIR_MASK_DIRNAME`` beside the stages, colour
    fixes under ``COLOUR_FIX_DIRNAME``.
    """
    found: dict[str, dict[str, str]] = {}
    if layout.colour_fixes.is_dir():
        for album in os.scandir(layout.colour_fixes):
            if not album.is_dir():
                continue
            for entry in os.scandir(album.path):
                stem, suffix = os.path.splitext(entry.name)
                if suffix == ".json" and not entry.name.startswith(".") and entry.is_file():
                    signature = colour_fix_signature(Path(entry.path))
                    if signature is not None:  # undone between the listing and the read
                        found.setdefault(f"{album.name}/{stem}", {})[COLOUR_FIX_DIRNAME] = signature
    if layout.repair_masks.is_dir():
        for album in os.scandir(layout.repair_masks):
            if not album.is_dir():
                continue
            for entry in os.scandir(album.path):
                stem, suffix = os.path.splitext(entry.name)
                if suffix == ".png" and not entry.name.startswith(".") and entry.is_file():
                    st = entry.stat()
                    found.setdefault(f"{album.name}/{stem}", {})[REPAIR_MASK_DIRNAME] = f"{st.st_size}:{st.st_mtime_ns}"
    for stage in TOUCHUP_STAGES:
        root = layout.touchup_dir(stage)
        if not root.is_dir():
            continue
        for album in os.scandir(root):
            if not album.is_dir():
                continue
            for entry in os.scandir(album.path):
                stem, suffix = os.path.splitext(entry.name)
                if suffix.lower() in IMAGE_SUFFIXES and not entry.name.startswith(".") and entry.is_file():
                    st = entry.stat()
                    found.setdefault(f"{album.name}/{stem}", {})[stage] = f"{st.st_size}:{st.st_mtime_ns}"
    return found


def touchup_signatures(layout: Layout, key: str) -> dict[str, str]:
    sigs = {}
    for stage in TOUCHUP_STAGES:
        path = touchup_path(layout, stage, key)
        if path is not None:
            sigs[stage] = file_signature(path)
    mask = file_signature(repair_mask_path(layout, key))
    if mask is not None:
        sigs[REPAIR_MASK_DIRNAME] = mask
    fixes = colour_fix_signature(colour_fix_path(layout, key))
    if fixes is not None:
        sigs[COLOUR_FIX_DIRNAME] = fixes
    return sigs


# --- stage outputs and their records --------------------------------------------------------------

def output_base(layout: Layout, stage: str, key: str) -> Path:
    album, photo = split_key(key)
    return layout.stage_dir(stage) / album / photo


def stage_file(layout: Layout, stage: str, key: str, extension: str) -> Path:
    """``stages/<stage>/<album>/<photo>.<extension>``: the extension is appended, never substituted.

    Photo slugs keep dots (``1962.05.03``), so ``Path.with_suffix`` would cut the name at its last
    dot and give ``1962.05.03`` and ``1962.05.04`` the same files.
    """
    base = output_base(layout, stage, key)
    return base.with_name(f"{base.name}.{extension.lstrip('.')}")


def stage_image_extensions(stage: str) -> tuple[str, str]:
    """The stage image's extension now, and the other one a file from before may still have."""
    return ("tif", "png") if stage in TIFF_STAGES else ("png", "tif")


def stage_image_file(layout: Layout, stage: str, key: str) -> Path:
    """The stage's image for readers outside the pipeline (the web, the CLI): ``.tif`` for the 4K
    stages, ``.png`` for the others, or a file in the other format written before that change."""
    current, other = stage_image_extensions(stage)
    path = stage_file(layout, stage, key, current)
    older = stage_file(layout, stage, key, other)
    return older if not path.exists() and older.exists() else path


def record_path(layout: Layout, stage: str, key: str) -> Path:
    return stage_file(layout, stage, key, "json")


@dataclass(frozen=True)
class StageRecord:
    stage: str
    key: str
    fingerprint: str
    file: str | None  # the stage's output file (absolute), or None for published (lives in the gallery)
    metadata: dict[str, Any]
    at: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_record(layout: Layout, stage: str, key: str, fingerprint: str, file: Path | None, metadata: dict) -> StageRecord:
    record = StageRecord(stage, key, fingerprint, str(file) if file else None, metadata, time.time())
    atomic_write_json(record_path(layout, stage, key), record.to_json())
    return record


def read_record(layout: Layout, stage: str, key: str) -> StageRecord | None:
    data = read_json(record_path(layout, stage, key))
    if not data:
        return None
    return StageRecord(**{name: data.get(name) for name in StageRecord.__dataclass_fields__})


# --- failures -------------------------------------------------------------------------------------

def failure_path(layout: Layout, key: str) -> Path:
    album, photo = split_key(key)
    return layout.state / "failures" / album / f"{photo}.json"


def record_failure(layout: Layout, key: str, stage: str, fingerprint: str, reason: str, run_id: str | None) -> None:
    atomic_write_json(
        failure_path(layout, key),
        {"key": key, "stage": stage, "fingerprint": fingerprint, "reason": reason, "run_id": run_id, "at": time.time()},
    )


def read_failure(layout: Layout, key: str) -> dict | None:
    return read_json(failure_path(layout, key))


def clear_failure(layout: Layout, key: str, stage: str | None = None) -> None:
    path = failure_path(layout, key)
    failure = read_json(path)
    if failure and (stage is None or failure.get("stage") == stage):
        path.unlink(missing_ok=True)
