"""What a share-link visitor may reach: one album, its viewer and its files, read-only.

Each route turns the token into that album's scope first; an unknown or revoked token, or a photo
outside the album, is 404, the same answer as for something that does not exist.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from restore_dagster.viewer import models
from restore_dagster.viewer.library import NotFound
from restore_dagster.viewer.pages import Scope, share_scope
from restore_dagster.viewer.views import album_page, album_page_json, media, photo_page, photo_status_json, services

router = APIRouter(prefix="/s/{token}", responses={404: {"model": models.Problem}, 422: {"model": models.Problem}})


def token_scope(request: Request, token: str) -> Scope:
    svc = services(request)
    folder = svc.shares.album_for(token)
    if folder is None:
        raise HTTPException(404, "this link does not exist or was revoked")
    try:
        return share_scope(svc.library.album(folder), token)
    except NotFound:
        raise HTTPException(404, "this link does not exist or was revoked") from None


@router.get("", response_class=models.HTML, responses={303: {"description": "page past the last: the last page"}},
            summary="A page of a shared album (read-only; view=timeline: by date; q: search; page: 1, 2, …)")
def shared_album(request: Request, token: str, view: str = "", q: str = "", page: str = ""):
    return album_page(request, token_scope(request, token), view, q, page)


@router.get("/photos/{photo}", response_class=models.HTML, summary="A shared photo's viewer (read-only)")
def shared_photo(request: Request, token: str, photo: str):
    return photo_page(request, token_scope(request, token), photo)


@router.get("/api/photos", response_model=list[models.PhotoOut],
            summary="A shared album's photos and states (page: one page of the album page, with its view and q)")
def shared_photos_json(request: Request, token: str, view: str = "", q: str = "", page: str = ""):
    return album_page_json(request, token_scope(request, token), view, q, page)


@router.get("/api/photos/{photo}", response_model=models.PhotoOut, summary="A shared photo's state")
def shared_photo_json(request: Request, token: str, photo: str):
    return photo_status_json(request, token_scope(request, token), photo)


@router.get("/photos/{photo}/{kind}", response_class=models.Image, summary="A shared photo's file")
def shared_media(request: Request, token: str, photo: str, kind: str, download: bool = False, v: str = ""):
    return media(request, token_scope(request, token), photo, kind, download)
