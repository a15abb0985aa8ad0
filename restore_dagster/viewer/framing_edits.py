"""What the owner's Frame panel starts from (see routes_framing.py for the saving)."""
from __future__ import annotations

from pathlib import Path

from restore_dagster.config import Layout
from restore_dagster.lineage import read_record, stage_file
from restore_dagster.settings import PhotoSettings

WHOLE_PICTURE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def framing_panel(layout: Layout, key: str | None, settings: PhotoSettings | None) -> dict | None:
    """What the Frame panel starts from: the owner's corners, else the ones the last scan found
    (automatic detection records them), else the whole picture; the turn; what the last scan did."""
    if key is None or settings is None:
        return None
    record = read_record(layout, "scanned", key)
    meta = record.metadata if record else {}
    found = meta.get("frame_corners") if meta.get("framing") == "automatic" else None
    manual = settings.frame_corners is not None
    return {
        "corners": [list(p) for p in (settings.frame_corners if manual else found or WHOLE_PICTURE)],
        "manual": manual,
        "rotation": settings.rotation,
        "last": str(meta.get("framing") or ""),  # "manual", "automatic", "none"; "" before the first scan
        "size": (meta.get("width"), meta.get("height")) if record else None,
    }


def framed_scan(layout: Layout, key: str | None) -> tuple[Path, str] | None:
    """``(the scanned PNG, its version)`` when the last scan was framed or turned, else None.

    The viewer's "before" is then this scan, not the original: a restoration of the print alone,
    turned, does not line up with a picture of the table it lay on.
    """
    record = read_record(layout, "scanned", key) if key else None
    meta = record.metadata if record else {}
    if meta.get("framing") not in ("manual", "automatic") and not meta.get("rotation"):
        return None
    path = stage_file(layout, "scanned", key, "png")
    return (path, f"{record.at:.6f}".replace(".", "")) if path.is_file() else None
