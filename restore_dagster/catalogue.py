"""A table of every photo: its state, sizes, settings and timings (pandas; no Dagster here).

Used by the ``catalogue`` asset and by ``restore-photos status``.
"""
from __future__ import annotations

import pandas as pd

from restore_dagster.config import STAGES, Layout
from restore_dagster.descriptions import DescriptionError, DescriptionStore
from restore_dagster.lineage import fingerprints, read_failure, read_record, scan_touchups, weights_signatures
from restore_dagster.optional_steps import pending_label, pending_steps
from restore_dagster.registry import Registry
from restore_dagster.settings import SettingsStore

CATALOGUE_FILE = "catalogue.csv"  # in the state folder
# What the family told about each photo (``restore-photos describe``), as it applies (album defaults included).
DESCRIPTION_COLUMNS = ["date", "caption", "place", "people"]
# state: restored, pending (not processed yet), failed, or "<step> pending" (e.g. "colour pending"):
# published without an optional step whose model is missing; pending_steps names those steps.
COLUMNS = ["key", "album", "name", "state", "reason", "pending_steps", "stage_done", "source_bytes", "width", "height",
           "published_bytes", "format", "repair", "tone", "colorized", "noise_level", "model", "render_factor", "seconds", "location",
           *DESCRIPTION_COLUMNS]


def photo_state(layout: Layout, key: str, desired: dict[str, str], records: dict) -> tuple[str, str, str]:
    """(state, reason, last stage whose output is current) for one photo, given its stage records.

    A reason's first line is its headline; the lines after it (where to put missing weights, say) are
    the detail, the same for every photo it concerns.
    """
    current = ""
    for stage in STAGES:
        record = records[stage]
        if record is None or record.fingerprint != desired[stage]:
            break
        current = stage
    if current == "published":
        steps = pending_steps(records.values())
        if steps:
            headline = "; ".join(step.headline for step in steps)
            return pending_label(steps), "\n".join([headline, *(step.detail for step in steps if step.detail)]), current
        return "restored", "", current
    failure = read_failure(layout, key)
    if failure and desired.get(failure.get("stage")) == failure.get("fingerprint"):
        return "failed", f"{failure['stage']}: {failure['reason']}", current
    return "pending", "", current


def build_catalogue(layout: Layout, registry: Registry, settings: SettingsStore) -> pd.DataFrame:
    overrides = settings.all_overrides()
    touchups = scan_touchups(layout)
    weights = weights_signatures(layout)
    descriptions = DescriptionStore(layout.state).snapshot()
    rows = []
    for key, entry in registry.photos.items():
        photo_settings = settings.get(key, overrides)
        desired = fingerprints(entry.signature, photo_settings, touchups.get(key, {}), weights,
                               descriptions.signature(entry.source, entry.album))
        records = {stage: read_record(layout, stage, key) for stage in STAGES}
        state, reason, stage_done = photo_state(layout, key, desired, records)
        meta = {stage: (r.metadata if r else {}) for stage, r in records.items()}
        steps = pending_steps(records.values()) if stage_done == "published" else []
        rows.append({
            "key": key,
            "album": entry.album,
            "name": entry.name,
            "state": state,
            "reason": reason,
            "pending_steps": ", ".join(step.step for step in steps),
            "stage_done": stage_done,
            "source_bytes": int(entry.signature.split(":")[0]),
            "width": meta["upscaled"].get("width"),
            "height": meta["upscaled"].get("height"),
            "published_bytes": meta["published"].get("bytes"),
            "format": meta["published"].get("format"),
            "repair": meta["repaired"].get("repair"),  # what the repair did: "repaired 3 region(s), ...", "off: ..."
            "tone": meta["toned"].get("tone"),  # what the tone step did: "colour print: ... (blacks lifted to 45)", "off: ..."
            "colorized": meta["colorized"].get("colorized"),
            "noise_level": photo_settings.noise_level,
            "model": photo_settings.model,
            "render_factor": photo_settings.render_factor,
            "seconds": round(sum(m.get("seconds", 0) or 0 for m in meta.values()), 2),
            "location": meta["published"].get("location"),
            **_description_columns(descriptions, entry),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _description_columns(descriptions, entry) -> dict:
    try:
        description = descriptions.effective(entry.source, entry.album)
    except DescriptionError:  # the reason is the photo's failure in `published`; the catalogue still lists it
        return dict.fromkeys(DESCRIPTION_COLUMNS, "")
    return {"date": description.date, "caption": description.caption, "place": description.place,
            "people": ", ".join(description.people)}


def album_summary(catalogue: pd.DataFrame) -> pd.DataFrame:
    """Per album: restored, then a column per "<step> pending" state present (published without that
    step), then pending (not processed yet) and failed."""
    if catalogue.empty:
        return pd.DataFrame(columns=["album", "restored", "pending", "failed"])
    counts = catalogue.pivot_table(index="album", columns="state", values="key", aggfunc="count", fill_value=0)
    for state in ("restored", "pending", "failed"):
        if state not in counts:
            counts[state] = 0
    partial = sorted(set(catalogue.loc[catalogue["pending_steps"] != "", "state"]))
    return counts[["restored", *partial, "pending", "failed"]].reset_index()
