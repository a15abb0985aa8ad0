"""The owner's framing editor: the print's four corners over the upright original, a turn by 90°.

Owner only (not in the share router). Saving stores the photo's ``frame_corners`` and ``rotation``
settings; they are part of ``scanned``'s fingerprint, so the pipeline redoes the photo from
``scanned`` on its own, as it does after a repair-mask correction. The original is never changed.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from restore_dagster.imaging.framing import parse_corners
from restore_dagster.lineage import clear_failure
from restore_dagster.settings import PER_PHOTO_FIELDS
from restore_dagster.viewer import models
from restore_dagster.viewer.routes_owner import PROBLEMS, album_scope, photo_key
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.views import photo_status_json, services

router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)
PHOTO = "/albums/{album}/photos/{photo}"


@router.post(PHOTO + "/framing", dependencies=[Depends(owner_change)], response_model=models.FramingOut,
             summary="Frame the photo by hand and restore it again: 'corners' as four x,y pairs of fractions of the "
                     "upright original ('0.1,0.05 0.9,0.1 0.95,0.9 0.05,0.95'; empty: automatic), 'rotation' 0, 90, 180 or 270")
def save_framing(request: Request, album: str, photo: str,
                 corners: Annotated[str, Form(max_length=400)] = "", rotation: Annotated[int, Form()] = 0):
    # Form fields, as every other change of the gallery: a malformed body is a 400 before anything else.
    scope = album_scope(request, album)
    key, _ = photo_key(request, scope, photo)
    svc = services(request)
    try:
        framing = parse_corners(corners) if corners.strip() else None
        svc.settings.set(key, frame_corners=framing, rotation=rotation)
        if framing is None:  # only turned: the corners go back to automatic
            svc.settings.forget(key, "frame_corners")
    except ValueError as exc:
        return JSONResponse({"detail": _plain(exc)}, status_code=422)
    # As a settings change does: a failure on the old framing no longer applies, and the new
    # settings change `scanned`'s fingerprint, so the photo is redone from there.
    clear_failure(svc.layout, key)
    return models.FramingOut(detail="saved", photo=photo_status_json(request, scope, photo))


@router.post(PHOTO + "/framing/reset", dependencies=[Depends(owner_change)], status_code=303,
             summary="Back to automatic framing and no turn, and restore the photo again")
def reset_framing(request: Request, album: str, photo: str):
    key, url = photo_key(request, album_scope(request, album), photo)
    svc = services(request)
    if any(name in svc.settings.overrides(key) for name in PER_PHOTO_FIELDS):
        svc.settings.forget(key, *PER_PHOTO_FIELDS)
        clear_failure(svc.layout, key)
    return RedirectResponse(url + "#framing", status_code=303)


def _plain(exc: ValueError) -> str:
    """The settings' message without its "invalid settings: frame_corners:" prefix: the owner dragged corners."""
    return str(exc).removeprefix("invalid settings: ").removeprefix("frame_corners: ")
