"""The owner's repair-mask editor: the scan and the current mask to paint over, and the corrections.

Owner only (a share-link visitor never reaches these routes: they are not in the share router). The
corrections are written to ``touchups/repair-mask/<album>/<photo>.png``; that file is part of the
``repaired`` stage's fingerprint, so the pipeline re-runs the photo from ``repaired`` on its own.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from restore_dagster.imaging import ImageError
from restore_dagster.lineage import clear_failure, repair_mask_path, stage_file
from restore_dagster.viewer import models
from restore_dagster.viewer.pages import Scope
from restore_dagster.viewer.repair_edits import (
    MAX_CORRECTION_BYTES, CorrectionRefused, EditorGeometry, geometry, overlay_png, save_correction,
)
from restore_dagster.viewer.routes_owner import PROBLEMS, album_scope, photo_key
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.views import photo_status_json, services

router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)
PHOTO = "/albums/{album}/photos/{photo}"
NO_CACHE = {"Cache-Control": "private, no-cache"}


def _editing(request: Request, album: str, photo: str) -> tuple[Scope, str, str, EditorGeometry]:
    """(scope, key, the photo's page, geometry) of a photo whose mask can be edited, else 404/409."""
    scope = album_scope(request, album)
    key, url = photo_key(request, scope, photo)
    geo = geometry(services(request).layout, key)
    if geo is None:
        raise HTTPException(409, "this photo has not been scanned yet; its repair mask can be corrected once it has")
    return scope, key, url, geo


@router.get(PHOTO + "/repair/scan", response_class=models.Image, summary="The scan the repair mask is painted over (screen size, JPEG)")
def repair_scan(request: Request, album: str, photo: str, v: str = ""):
    _, key, _, _ = _editing(request, album, photo)
    svc = services(request)
    source = stage_file(svc.layout, "scanned", key, "png")
    try:
        path = svc.renditions.get(source, "screen")
    except FileNotFoundError:
        raise HTTPException(404, "the scan is not there any more; it is made again by the next run") from None
    except (ImageError, OSError) as exc:
        raise HTTPException(422, f"the scan cannot be shown ({exc.__class__.__name__})") from None
    return FileResponse(path, media_type="image/jpeg", headers=NO_CACHE)


@router.get(PHOTO + "/repair/mask", response_class=models.Image,
            summary="The current repair mask and corrections at the editor's size (PNG; 404 before the first repair)")
def repair_mask(request: Request, album: str, photo: str, v: str = ""):
    _, key, _, geo = _editing(request, album, photo)
    data = overlay_png(services(request).layout, key, geo)
    if data is None:
        raise HTTPException(404, "this photo has no repair mask yet")
    return Response(data, media_type="image/png", headers=NO_CACHE)


@router.post(
    PHOTO + "/repair-mask",
    dependencies=[Depends(owner_change)],
    response_model=models.RepairMaskOut,
    responses={413: {"model": models.Problem}, 415: {"model": models.Problem}},
    summary="Correct the repair mask (multipart field 'file': PNG, white = repair here, black = never) and repair again",
)
def correct_repair_mask(request: Request, album: str, photo: str, file: Annotated[UploadFile, File()]):
    scope, key, _, geo = _editing(request, album, photo)
    svc = services(request)
    data = file.file.read(MAX_CORRECTION_BYTES + 1)
    try:
        save_correction(svc.layout, key, data, geo)
    except CorrectionRefused as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    detail = "saved"
    if svc.settings.get(key).repair == "off":
        # Painting "repair here" is asking for a repair: with repair off the stage would ignore the
        # corrections (they are not even in its fingerprint), so the photo goes back to automatic.
        svc.settings.set(key, repair="auto")
        detail = "saved; repair was off for this photo and is now automatic"
    # As a settings change does: a failure on the old mask no longer applies, and the changed
    # correction file changes `repaired`'s fingerprint, so the photo is redone from there.
    clear_failure(svc.layout, key)
    return models.RepairMaskOut(detail=detail, photo=photo_status_json(request, scope, photo))


@router.post(PHOTO + "/repair-mask/forget", dependencies=[Depends(owner_change)], status_code=303,
             summary="Forget every correction of the repair mask and repair again from the detectors alone")
def forget_repair_mask(request: Request, album: str, photo: str):
    _, key, url, _ = _editing(request, album, photo)
    layout = services(request).layout
    repair_mask_path(layout, key).unlink(missing_ok=True)
    clear_failure(layout, key)
    return RedirectResponse(url, status_code=303)
