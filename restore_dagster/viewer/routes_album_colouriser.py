"""The owner's choice of an album's colouriser on the album page (see album_colouriser.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from restore_dagster.viewer.album_colouriser import set_album_colouriser
from restore_dagster.viewer.routes_owner import PROBLEMS, album_scope
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.views import services

router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)


@router.post("/albums/{album}/colouriser", dependencies=[Depends(owner_change)], status_code=303,
             summary="Choose the colouriser of the album's photos without their own ('model', empty: the project "
                     "default); they are coloured again, from 'colorized'")
def album_colouriser(request: Request, album: str, model: Annotated[str, Form(max_length=40)] = ""):
    scope = album_scope(request, album)
    try:
        slug = set_album_colouriser(services(request), scope.album.folder, model.strip())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if slug is None:
        raise HTTPException(409, "the pipeline has not picked this album's photos up yet; try again in a minute")
    # No failure is cleared: a photo that failed in `colorized` or later gets a new fingerprint there
    # and is retried by the sensor; one that failed before colouring would fail the same way again.
    return RedirectResponse(scope.base + "#album-colouriser", status_code=303)
