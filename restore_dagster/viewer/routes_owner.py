"""The owner's pages and changes: albums, photos, uploads, settings, share links and the trash.

Every change is a POST that needs the owner's session and the CSRF token (``owner_change``); forms
answer with a redirect (303) so the browser's back button and reload never repeat a change. Uploads
answer JSON, one file per request, so the page can show each file's progress.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse

from restore_dagster.descriptions import DescriptionError
from restore_dagster.lineage import clear_failure
from restore_dagster.viewer import models
from restore_dagster.viewer.describing import matches, safe_effective
from restore_dagster.viewer.library import Duplicate, NotFound
from restore_dagster.viewer.pages import Scope, owner_scope, render
from restore_dagster.viewer.security import owner_change, require_owner
from restore_dagster.viewer.uploads import UploadRefused, stage_upload
from restore_dagster.viewer.views import (
    album_page, album_page_json, find_photo, media, photo_page, photo_status_json, restoration_version, services,
)

# Every owner route may refuse: not logged in, no CSRF token, no such album or photo, a bad value.
PROBLEMS = {status: {"model": models.Problem} for status in (401, 403, 404, 409, 422)}
router = APIRouter(dependencies=[Depends(require_owner)], responses=PROBLEMS)
Title = Annotated[str, Form(max_length=2000)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def album_scope(request: Request, album: str) -> Scope:
    try:
        return owner_scope(services(request).library.album(album))
    except NotFound:
        raise HTTPException(404, "no such album") from None


def _titled(call):
    """Run a change that takes a title; a bad title is the user's mistake (422), not a server error."""
    try:
        return call()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


# --- albums -----------------------------------------------------------------------------------------

@router.get("/", response_class=models.HTML, summary="Albums page (search with q)")
def albums_page(request: Request, q: str = ""):
    svc = services(request)
    albums = svc.library.albums(q[:200])
    # Made again only for albums that changed (album_cards.py): 100,000 photos' states on every visit took seconds.
    made = svc.album_cards.cards(albums, lambda photo: restoration_version(svc, photo))
    cards = [{"album": album, "url": owner_scope(album).base, "cover": made[album.folder].cover,
              "restored": made[album.folder].restored} for album in albums]
    # Cards still being made in the background (album_cards.py): the page looks again shortly.
    pending = any(card["restored"] is None for card in cards)
    return render(request, "albums.html", cards=cards, pending=pending, q=q[:200], hits=_photo_hits(svc, q[:200]))


def _photo_hits(svc, q: str) -> list[dict]:
    """Photos of every album whose title, caption, place or names match ``q``, album by album."""
    if not q.strip():
        return []
    snapshot = svc.descriptions.snapshot()
    hits = []
    for album in svc.library.albums():
        scope = owner_scope(album)
        for photo in svc.library.photos(album.folder):
            description = safe_effective(snapshot, photo)
            if matches(q, photo.title, description):
                hits.append({"photo": photo, "album": album, "url": scope.photo_url(photo),
                             "thumb": scope.photo_url(photo, f"/thumb?v={photo.version}"), "caption": description.caption,
                             "people": ", ".join(description.people), "date": description.date})
    return hits


@router.get("/api/albums", response_model=list[models.AlbumOut], summary="All albums")
def albums_json(request: Request, q: str = ""):
    return [models.AlbumOut(folder=a.folder, title=a.title, photo_count=a.photo_count, url=owner_scope(a).base)
            for a in services(request).library.albums(q[:200])]


@router.post("/albums", dependencies=[Depends(owner_change)], status_code=303, summary="Create an album")
def create_album(request: Request, title: Title):
    album = _titled(lambda: services(request).library.create_album(title))
    return _see_other(owner_scope(album).base)


@router.get("/albums/{album}", response_class=models.HTML, responses={303: {"description": "page past the last: the last page"}},
            summary="A page of an album's photos (view=timeline: by date; q: search; page: 1, 2, …)")
def album_view(request: Request, album: str, view: str = "", q: str = "", page: str = ""):
    return album_page(request, album_scope(request, album), view, q, page)


@router.get("/api/albums/{album}/photos", response_model=list[models.PhotoOut],
            summary="An album's photos and their states (page: one page of the album page, with its view and q)")
def album_photos_json(request: Request, album: str, view: str = "", q: str = "", page: str = ""):
    return album_page_json(request, album_scope(request, album), view, q, page)


@router.post("/albums/{album}/rename", dependencies=[Depends(owner_change)], status_code=303, summary="Rename an album")
def rename_album(request: Request, album: str, title: Title):
    scope = album_scope(request, album)
    _titled(lambda: services(request).library.rename_album(scope.album.folder, title))
    return _see_other(scope.base)


@router.post("/albums/{album}/delete", dependencies=[Depends(owner_change)], status_code=303, summary="Move an album to the trash")
def delete_album(request: Request, album: str):
    scope = album_scope(request, album)
    services(request).library.trash_album(scope.album.folder)
    return _see_other("/")


@router.post("/albums/{album}/share", dependencies=[Depends(owner_change)], status_code=303, summary="Make (or replace) the album's share link")
def share_album(request: Request, album: str):
    scope = album_scope(request, album)
    services(request).shares.create(scope.album.folder)
    return _see_other(scope.base + "#share")


@router.post("/albums/{album}/share/revoke", dependencies=[Depends(owner_change)], status_code=303, summary="Revoke the album's share link")
def revoke_share(request: Request, album: str):
    scope = album_scope(request, album)
    services(request).shares.revoke(scope.album.folder)
    return _see_other(scope.base + "#share")


# --- uploads ----------------------------------------------------------------------------------------

@router.post(
    "/albums/{album}/photos",
    dependencies=[Depends(owner_change)],
    status_code=201,
    response_model=models.UploadOut,
    responses={409: {"model": models.UploadOut}, 413: {"model": models.Problem}, 415: {"model": models.Problem}, 422: {"model": models.Problem}},
    summary="Upload one scan (multipart field 'file'; 'split': true for a flatbed scan of several prints)",
)
def upload_photo(request: Request, album: str, file: Annotated[UploadFile, File()], split: Annotated[bool, Form()] = False):
    svc = services(request)
    scope = album_scope(request, album)
    album_dir = svc.library.root / scope.album.folder
    try:
        staged = stage_upload(file.file, album_dir, file.filename or "", svc.max_upload_bytes)
    except UploadRefused as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    if split:  # "several prints on this scan": each print its own photo, the sheet kept beside the gallery
        from restore_dagster.viewer.sheet_uploads import split_upload

        return split_upload(svc, scope, staged, file.filename or "")
    try:
        photo = svc.library.add_upload(scope.album.folder, staged.path, staged.sha256, staged.image_format, file.filename or "")
    except Duplicate as dup:
        staged.path.unlink(missing_ok=True)
        body = models.UploadOut(status="duplicate", title=dup.existing.title, url=scope.photo_url(dup.existing), detail=str(dup))
        return JSONResponse(body.model_dump(), status_code=409)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return models.UploadOut(status="added", title=photo.title, url=scope.photo_url(photo), detail=f"{staged.width}×{staged.height} {staged.image_format}")


# --- one photo --------------------------------------------------------------------------------------

@router.get("/albums/{album}/photos/{photo}", response_class=models.HTML, summary="The photo viewer")
def photo_view(request: Request, album: str, photo: str):
    return photo_page(request, album_scope(request, album), photo)


@router.get("/api/albums/{album}/photos/{photo}", response_model=models.PhotoOut, summary="One photo's state")
def photo_json(request: Request, album: str, photo: str):
    return photo_status_json(request, album_scope(request, album), photo)


@router.get("/albums/{album}/photos/{photo}/{kind}", response_class=models.Image, summary="A photo's file: thumb, screen, original, restored or restored-thumb")
def photo_media(request: Request, album: str, photo: str, kind: str, download: bool = False, v: str = ""):
    return media(request, album_scope(request, album), photo, kind, download)


@router.post("/albums/{album}/photos/{photo}/rename", dependencies=[Depends(owner_change)], status_code=303, summary="Rename a photo")
def rename_photo(request: Request, album: str, photo: str, title: Title):
    scope = album_scope(request, album)
    found = find_photo(services(request), scope, photo)
    _titled(lambda: services(request).library.rename_photo(scope.album.folder, found.filename, title))
    return _see_other(scope.photo_url(found))


@router.post("/albums/{album}/photos/{photo}/delete", dependencies=[Depends(owner_change)], status_code=303, summary="Move a photo to the trash")
def delete_photo(request: Request, album: str, photo: str):
    scope = album_scope(request, album)
    found = find_photo(services(request), scope, photo)
    services(request).library.trash_photo(scope.album.folder, found.filename)
    return _see_other(scope.base)


def photo_key(request: Request, scope: Scope, photo: str) -> tuple[str, str]:
    svc = services(request)
    found = find_photo(svc, scope, photo)
    key = svc.states.statuses([found])[found.source].key
    if key is None:
        raise HTTPException(409, "the pipeline has not picked this photo up yet; try again in a minute")
    return key, scope.photo_url(found)


@router.post("/albums/{album}/photos/{photo}/settings", dependencies=[Depends(owner_change)], status_code=303, summary="Change a photo's settings and restore it again")
def photo_settings(
    request: Request, album: str, photo: str,
    render_factor: Annotated[int, Form()], model: Annotated[str, Form()],
    noise_level: Annotated[int, Form()], colorize: Annotated[str, Form()],
    repair: Annotated[str | None, Form(max_length=10)] = None, repair_threshold: Annotated[float | None, Form()] = None,
    input_size: Annotated[int | None, Form()] = None,
    max_magnification: Annotated[float | None, Form()] = None,
    tone: Annotated[str | None, Form(max_length=10)] = None,
):
    key, url = photo_key(request, album_scope(request, album), photo)
    svc = services(request)
    try:  # the repair and tone fields, input_size and max_magnification may be left out (an older page): the stored values stay
        svc.settings.set(key, render_factor=render_factor, model=model, noise_level=noise_level, colorize=colorize,
                         repair=repair, repair_threshold=repair_threshold, input_size=input_size,
                         max_magnification=max_magnification, tone=tone)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    # A failure on the old settings no longer applies; the sensor sees new fingerprints and re-runs.
    clear_failure(svc.layout, key)
    return _see_other(url)


# The form is the whole description: an empty (or absent) field is cleared. (FastAPI reads an empty
# form field as absent, so "leave it as it is" could not be told from "clear it".)
Text = Annotated[str, Form(max_length=4000)]


@router.post("/albums/{album}/photos/{photo}/describe", dependencies=[Depends(owner_change)], status_code=303,
             summary="Set a photo's date, caption, place and people (re-published, no model re-runs)")
def describe_photo(
    request: Request, album: str, photo: str, date: Text = "", caption: Text = "", place: Text = "",
    coordinates: Text = "", people: Text = "",
):
    scope = album_scope(request, album)
    found = find_photo(services(request), scope, photo)
    try:  # by source: a photo the pipeline has not picked up yet can be described already
        services(request).descriptions.describe(found.source, date=date, caption=caption, place=place,
                                                coordinates=coordinates, people=people)
    except DescriptionError as exc:
        raise HTTPException(422, str(exc)) from None
    return _see_other(scope.photo_url(found))


@router.post("/albums/{album}/describe", dependencies=[Depends(owner_change)], status_code=303,
             summary="Set an album's date and place, for its photos without their own")
def describe_album(request: Request, album: str, date: Text = "", place: Text = "", coordinates: Text = ""):
    scope = album_scope(request, album)
    try:
        services(request).descriptions.describe_album(scope.album.folder, date=date, place=place, coordinates=coordinates)
    except DescriptionError as exc:
        raise HTTPException(422, str(exc)) from None
    return _see_other(scope.base)


@router.post("/albums/{album}/photos/{photo}/retry", dependencies=[Depends(owner_change)], status_code=303, summary="Retry a failed photo")
def retry_photo(request: Request, album: str, photo: str):
    key, url = photo_key(request, album_scope(request, album), photo)
    clear_failure(services(request).layout, key)
    return _see_other(url)


# --- trash ------------------------------------------------------------------------------------------

@router.get("/trash", response_class=models.HTML, summary="The trash")
def trash_page(request: Request):
    svc = services(request)
    titles = {a.folder: a.title for a in svc.library.albums()}
    return render(request, "trash.html", items=svc.library.trash_items(), titles=titles)


@router.post("/trash/{item}/restore", dependencies=[Depends(owner_change)], status_code=303, summary="Restore an album or photo from the trash")
def restore_item(request: Request, item: str):
    try:
        folder, filename = services(request).library.restore(item)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except FileExistsError as exc:
        raise HTTPException(409, str(exc)) from None
    url = f"/albums/{quote(folder, safe='')}"
    return _see_other(url + (f"/photos/{quote(filename, safe='')}" if filename else ""))
