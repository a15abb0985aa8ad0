"""The owner's colour fix by hand: tap a region, see it outlined, pick a colour, apply; undo.

Owner only (not in the share router). A fix is stored in ``touchups/colour-fix/<album>/<photo>.json``
(colour_fixes.py); that file is part of ``colorized``'s fingerprint, so the pipeline redoes the photo
from ``colorized`` on its own, as it does after a repair-mask correction.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from restore_dagster import colour_fixes
from restore_dagster.imaging import ImageError
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.lineage import clear_failure
from restore_dagster.viewer import models
from restore_dagster.colour_fixes import fixes_json
from restore_dagster.viewer.colour_fix_edits import luminance, region_png, shown_picture
from restore_dagster.viewer.routes_owner import PROBLEMS, album_scope, photo_key
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.views import photo_status_json, services

router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)
PHOTO = "/albums/{album}/photos/{photo}"
NO_CACHE = {"Cache-Control": "private, no-cache"}
NOT_YET = "this photo has not been coloured yet; its colours can be fixed once it has been restored"
Fraction = Annotated[float, Query(ge=0.0, le=1.0)]
Tolerance = Annotated[int, Query(ge=cf.TOLERANCE_RANGE[0], le=cf.TOLERANCE_RANGE[1])]


def _luminance(request: Request, key: str):
    try:
        return luminance(services(request).layout, key)
    except FileNotFoundError:
        raise HTTPException(409, NOT_YET) from None
    except (ImageError, OSError) as exc:
        raise HTTPException(422, f"the upscaled picture cannot be read ({exc.__class__.__name__})") from None


@router.get(PHOTO + "/colour-fix/picture", response_class=models.Image,
            summary="The coloured picture a colour fix is tapped on (screen size, JPEG)")
def colour_fix_picture(request: Request, album: str, photo: str, v: str = ""):
    key, _ = photo_key(request, album_scope(request, album), photo)
    svc = services(request)
    try:
        path = svc.renditions.get(shown_picture(svc.layout, key), "screen")
    except FileNotFoundError:
        raise HTTPException(404, NOT_YET) from None
    except (ImageError, OSError) as exc:
        raise HTTPException(422, f"the coloured picture cannot be shown ({exc.__class__.__name__})") from None
    return FileResponse(path, media_type="image/jpeg", headers=NO_CACHE)


@router.get(PHOTO + "/colour-fix/region", response_class=models.Image,
            responses={200: {"content": {"image/png": {}}}},
            summary="The region a tap at (x, y) (fractions of the picture) gives at this tolerance: a PNG, white "
                    "and opaque inside, at the segmentation's working size; X-Region-Percent says how much of the picture")
def colour_fix_region(request: Request, album: str, photo: str, x: Fraction, y: Fraction,
                      tolerance: Tolerance = cf.DEFAULT_TOLERANCE):
    key, _ = photo_key(request, album_scope(request, album), photo)
    try:
        region = cf.segment(_luminance(request, key), x, y, tolerance)
    except cf.ColourFixError as exc:
        raise HTTPException(422, str(exc)) from None
    return Response(region_png(region.mask), media_type="image/png",
                    headers={**NO_CACHE, "X-Region-Percent": f"{100 * region.area:.1f}"})


def _answer(request: Request, scope, photo: str, key: str, detail: str) -> dict:
    fixes, error = fixes_json(services(request).layout, key)
    return {"detail": detail, "fixes": fixes, "error": error, "photo": photo_status_json(request, scope, photo)}


@router.post(PHOTO + "/colour-fix", dependencies=[Depends(owner_change)], response_model=models.ColourFixOut,
             summary="Colour the region a tap at (x, y) gives (fractions of the picture) with 'colour' (#RRGGBB), "
                     "keeping the photo's light and shade; the photo is coloured again from 'colorized'")
def add_colour_fix(request: Request, album: str, photo: str,
                   x: Annotated[float, Form(ge=0.0, le=1.0)], y: Annotated[float, Form(ge=0.0, le=1.0)],
                   colour: Annotated[str, Form(max_length=20)],
                   tolerance: Annotated[int, Form(ge=cf.TOLERANCE_RANGE[0], le=cf.TOLERANCE_RANGE[1])] = cf.DEFAULT_TOLERANCE):
    scope = album_scope(request, album)
    key, _ = photo_key(request, scope, photo)
    svc = services(request)
    try:
        fix, _ = colour_fixes.make_fix(_luminance(request, key), x, y, tolerance, colour)
        colour_fixes.add_fix(svc.layout, key, fix)
    except cf.ColourFixError as exc:  # the file-error subclass too: a broken file is not overwritten
        return JSONResponse({"detail": str(exc)}, status_code=422)
    # As a settings change does: a failure on the old inputs no longer applies, and the changed fixes
    # file changes `colorized`'s fingerprint, so the photo is redone from there.
    clear_failure(svc.layout, key)
    return _answer(request, scope, photo, key, f"{fix.colour} on {100 * fix.area:.1f}% of the picture")


@router.post(PHOTO + "/colour-fix/undo", dependencies=[Depends(owner_change)], response_model=models.ColourFixOut,
             summary="Undo a colour fix: the one with 'id', or the last one made; the photo is coloured again")
def undo_colour_fix(request: Request, album: str, photo: str, id: Annotated[str, Form(max_length=32)] = ""):
    scope = album_scope(request, album)
    key, _ = photo_key(request, scope, photo)
    svc = services(request)
    try:
        removed = colour_fixes.undo_fix(svc.layout, key, id or None)
    except colour_fixes.ColourFixFileError as exc:
        return JSONResponse({"detail": f"{exc}; “Forget every colour fix” removes the file"}, status_code=422)
    if removed is None:
        return JSONResponse({"detail": "no such colour fix" if id else "there is no colour fix to undo"}, status_code=404)
    clear_failure(svc.layout, key)
    return _answer(request, scope, photo, key, f"undone: {removed.colour}")


@router.get(PHOTO + "/colour-fix/list", response_model=models.ColourFixOut,
            summary="The photo's colour fixes and what the last colouring did with each (applied, skipped and why, waiting)")
def list_colour_fixes(request: Request, album: str, photo: str):
    scope = album_scope(request, album)
    key, _ = photo_key(request, scope, photo)
    return _answer(request, scope, photo, key, "")


@router.post(PHOTO + "/colour-fix/forget", dependencies=[Depends(owner_change)], status_code=303,
             summary="Forget every colour fix of the photo (also a fixes file that cannot be read) and colour it again")
def forget_colour_fixes(request: Request, album: str, photo: str):
    key, url = photo_key(request, album_scope(request, album), photo)
    svc = services(request)
    colour_fixes.forget_fixes(svc.layout, key)
    clear_failure(svc.layout, key)
    return RedirectResponse(url + "#colour-fix-panel", status_code=303)
