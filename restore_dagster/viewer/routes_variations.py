"""The owner's "Colour variations" panel: ask for a photo's contact sheet, follow it, choose a colouring.

Owner only (not in the share router). Asking writes a request the ``colour_variations_sensor`` turns
into a run (variation_requests.py): the web server runs no model. The panel polls ``GET
.../variations/state`` for the progress ("3 of 8") and then the candidates. Choosing stores the candidate's
model and knob as the photo's own settings (variations.choose); they are in ``colorized``'s
fingerprint, so the pipeline redoes the photo from ``colorized`` on its own, as after a framing.

Files are served by the candidate's id looked up in the photo's listing, never by a name joined onto
a path from the request.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from restore_dagster import variation_requests, variations
from restore_dagster.lineage import read_record
from restore_dagster.viewer import models
from restore_dagster.viewer.routes_owner import PROBLEMS, album_scope, photo_key
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.variations_panel import panel
from restore_dagster.viewer.views import photo_status_json, services

router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)
PHOTO = "/albums/{album}/photos/{photo}"
NO_CACHE = {"Cache-Control": "private, no-cache"}
IMMUTABLE = {"Cache-Control": "private, max-age=31536000, immutable"}  # each set's files have new names


class CandidateOut(BaseModel):
    id: str  # "deoldify-artistic-35"
    label: str  # "DeOldify artistic"
    knob_label: str  # "render factor 35"
    url: str
    current: bool  # the photo's colouring now


class OmittedOut(BaseModel):
    model: str
    reason: str  # "DDColor (ModelScope): weights not here"


class VariationsOut(BaseModel):
    state: Literal["none", "requested", "making", "made", "colour photo", "failed"]
    message: str  # the colour photo's or the failure's sentence
    done: int  # candidates made so far, while making
    total: int
    can_make: bool  # False until the photo has been restored as far as its tone
    stale: bool  # made from an earlier version of the photo (replaced, reframed, retoned)
    candidates: list[CandidateOut]
    omitted: list[OmittedOut]
    sheet: str | None  # the contact sheet's URL
    seconds: float  # what making the last set took
    device: str  # where: "cpu", "cuda:0"


class ChoiceOut(BaseModel):
    detail: str
    photo: models.PhotoOut  # the photo's state right after: waiting to be coloured again
    variations: VariationsOut


def _photo(request: Request, album: str, photo: str):
    scope = album_scope(request, album)
    key, url = photo_key(request, scope, photo)
    return scope, key, url


def _panel_for(request: Request, key: str, url: str) -> dict:
    svc = services(request)
    return panel(svc.layout, key, svc.settings.get(key), url)


@router.get(PHOTO + "/variations/state", response_model=VariationsOut,
            summary="The photo's colour variations: asked for, being made (done of total), or made (the candidates)")
def variations_state(request: Request, album: str, photo: str):
    _, key, url = _photo(request, album, photo)
    return JSONResponse(_panel_for(request, key, url), headers=NO_CACHE)


@router.post(PHOTO + "/variations", dependencies=[Depends(owner_change)], response_model=VariationsOut,
             responses={409: {"model": models.Problem}},
             summary="Make the photo's colour variations (again): a run starts within seconds when the daemon runs")
def ask_for_variations(request: Request, album: str, photo: str):
    _, key, url = _photo(request, album, photo)
    svc = services(request)
    if read_record(svc.layout, "toned", key) is None:
        raise HTTPException(409, "this photo has not been restored as far as its tone yet; its colour variations "
                                 "can be made once it has")
    variation_requests.request(svc.layout.state, key)
    return _panel_for(request, key, url)


@router.get(PHOTO + "/variations/image/{candidate}", response_class=models.Image,
            summary="One candidate's picture (JPEG, 1024 pixels), or 'sheet' for the contact sheet")
def variation_image(request: Request, album: str, photo: str, candidate: str, v: str = ""):
    _, key, _ = _photo(request, album, photo)
    layout = services(request).layout
    listing = variations.read_listing(layout, key)
    if candidate == "sheet":
        name = (listing or {}).get("sheet") or ""
    else:
        found = variations.find_candidate(listing, candidate)
        name = found.get("file", "") if found else ""
    path = variations.candidate_file(layout, key, name)
    if path is None:
        raise HTTPException(404, "no such colour variation; make the variations again")
    return FileResponse(path, media_type="image/jpeg", headers=IMMUTABLE if v else NO_CACHE)


@router.post(PHOTO + "/variations/choose", dependencies=[Depends(owner_change)], response_model=ChoiceOut,
             summary="Choose a colour variation (form field 'candidate': its id): it becomes the photo's colouring "
                     "and the photo is restored again from its colour")
def choose_variation(request: Request, album: str, photo: str, candidate: Annotated[str, Form(max_length=100)]):
    scope, key, url = _photo(request, album, photo)
    svc = services(request)
    try:
        choice = variations.choose(svc.layout, svc.settings, key, candidate)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    detail = "chosen" if choice.changed else "unchanged"
    if choice.note:
        detail += f"; {choice.note}"
    return {"detail": detail, "photo": photo_status_json(request, scope, photo), "variations": _panel_for(request, key, url)}
