"""What the owner's "Colour variations" panel shows (routes_variations.py serves and changes it)."""
from __future__ import annotations

from restore_dagster import variation_requests, variations
from restore_dagster.config import Layout
from restore_dagster.lineage import read_record
from restore_dagster.progress import read_progress
from restore_dagster.settings import PhotoSettings


def panel(layout: Layout, key: str | None, settings: PhotoSettings | None, photo_url: str) -> dict:
    """What the panel shows now (the JSON the script polls, and the page's first render)."""
    empty = {"state": "none", "message": "", "done": 0, "total": 0, "can_make": False, "stale": False,
             "candidates": [], "omitted": [], "sheet": None, "seconds": 0.0, "device": ""}
    if key is None or settings is None:
        return empty
    toned = read_record(layout, "toned", key)
    listing = variations.read_listing(layout, key)
    asked = variation_requests.read_request(layout.state, key)
    progress = read_progress(layout.state, key)
    result = {**empty, "can_make": toned is not None}
    if listing:
        current = variations.Candidate(settings.model, settings.colour_knob[1]).id
        made_at = int(float(listing.get("at") or 0))
        result.update(
            state=listing.get("state") if listing.get("state") in (variations.MADE, variations.COLOUR_PHOTO) else "failed",
            message=str(listing.get("message") or ""),
            stale=toned is not None and listing.get("source_fingerprint") not in (None, toned.fingerprint),
            candidates=[{"id": c["id"], "label": c["label"], "knob_label": c["knob_label"], "current": c["id"] == current,
                         "url": f"{photo_url}/variations/image/{c['id']}?v={made_at}"}
                        for c in listing.get("candidates", []) if isinstance(c, dict) and "id" in c],
            omitted=[{"model": o.get("model", ""), "reason": o.get("reason", "")} for o in listing.get("omitted", [])],
            sheet=f"{photo_url}/variations/image/sheet?v={made_at}" if listing.get("sheet") else None,
            seconds=float(listing.get("seconds") or 0.0),  # what the sheet cost: the owner learns what asking costs
            device=str(listing.get("device") or ""),
        )
    if progress and progress.get("stage") == variations.STAGE:
        result.update(state="making", done=int(progress.get("done") or 0), total=int(progress.get("total") or 0))
    elif asked and (not listing or float(listing.get("at") or 0) < float(asked.get("requested") or 0)):
        result.update(state="requested")
    return result
