"""The pages and files both the owner and a share-link visitor see; ``Scope`` says which one asks.

A share visitor reaches only these views, through a scope built from the token's album, so every
photo name it sends is looked up inside that one album: anything else is 404.
"""
from __future__ import annotations

import os
from bisect import bisect_left
from email.utils import formatdate
from typing import BinaryIO, Iterator
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from restore_dagster.date_hints import date_hint
from restore_dagster.descriptions import Description, DescriptionError
from restore_dagster.gallery import FolderGallery
from restore_dagster.imaging import ImageError
from restore_dagster.settings import COLORIZE_MODES, MODELS, NOISE_LEVELS, REPAIR_MODES, TONE_MODES
from restore_dagster.viewer.album_colouriser import album_colouriser
from restore_dagster.viewer.album_pages import (
    PAGE_SIZE, NoSuchPage, Paging, PastTheEnd, album_descriptions_by_name, album_order, counted_descriptions, page_query,
    requested_page,
)
from restore_dagster.viewer.colour_fix_edits import colour_fix_panel
from restore_dagster.viewer.describing import (
    description_json, file_name_hint, safe_effective, suggestions, timeline,
)
from restore_dagster.viewer.framing_edits import framed_scan, framing_panel
from restore_dagster.viewer.i18n import MESSAGES, translator
from restore_dagster.viewer.library import NotFound, Photo
from restore_dagster.viewer.pages import Scope, language, render
from restore_dagster.viewer.repair_edits import repair_panel
from restore_dagster.viewer.variations_panel import panel as variations_panel
from restore_dagster.viewer.services import Services
from restore_dagster.viewer.states import PhotoStatus

# Python's mimetypes lacks WebP before 3.13 and AVIF before 3.14; these are the only suffixes the gallery holds.
MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff",
               ".tiff": "image/tiff", ".webp": "image/webp", ".bmp": "image/bmp", ".avif": "image/avif"}
KINDS = ("thumb", "screen", "original", "restored", "restored-thumb", "scan")  # scan: a framed scan (framing_edits)
IMMUTABLE = "private, max-age=31536000, immutable"
BROKEN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 90"><rect width="120" height="90" fill="#eee"/>'
    '<path d="M20 70 50 35 70 55 85 42 100 70Z" fill="#ccc"/><path d="M15 15 105 75" stroke="#c33" stroke-width="4"/></svg>'
)


def services(request: Request) -> Services:
    return request.app.state.services


def find_photo(svc: Services, scope: Scope, filename: str) -> Photo:
    try:
        return svc.library.photo(scope.album.folder, filename)
    except NotFound:
        raise HTTPException(404, "no such photo in this album") from None


def restoration_version(svc: Services, photo: Photo, restorations: dict | None = None) -> str | None:
    path = svc.library.restoration_path(photo, restorations)
    try:
        st = path.stat() if path is not None else None
    except FileNotFoundError:  # replaced or trashed a moment ago
        st = None
    return f"{st.st_size:x}{st.st_mtime_ns:x}" if st else None


def state_label(status: PhotoStatus, t) -> str:
    """The badge: "Colour pending" for a photo waiting for one optional step, else the state's name."""
    if status.state == "partial" and len(status.pending) == 1 and f"pending_{status.pending[0].step}" in MESSAGES:
        return t(f"pending_{status.pending[0].step}")
    return t(f"state_{status.state}")


def public_reason(status: PhotoStatus, t) -> str:
    """One short, translated line about the state, with nothing from the server in it."""
    if status.state == "partial":
        keys = [f"reason_pending_{step.step}" for step in status.pending]
        return t(keys[0]) if len(keys) == 1 and keys[0] in MESSAGES else t("reason_pending_steps")
    return {"failed": t("reason_failed"), "waiting": t("reason_not_restored_yet"),
            "processing": t("reason_processing")}.get(status.state, "")


def status_json(status: PhotoStatus, scope: Scope, t) -> dict:
    """The state as this asker may see it. The owner gets the pipeline's reason and its full detail;
    a share-link visitor only the translated line: failure messages name server paths, the storage
    root and the owner's environment variables."""
    owner = scope.can_edit
    if owner and status.state != "partial":
        reason = status.reason
    else:  # a missing model's headline is for logs; people read the translated line
        reason = public_reason(status, t)
    return {
        "state": status.state,
        "label": state_label(status, t),
        "reason": reason,
        "detail": status.detail if owner else "",
        "pending": [step.step for step in status.pending],
        "key": status.key if owner else None,
    }


def photo_json(svc: Services, scope: Scope, photo: Photo, status: PhotoStatus, restorations: dict | None = None,
               lang: str = "en", description: Description | None = None) -> dict:
    restored = restoration_version(svc, photo, restorations)
    if description is None:
        description = safe_effective(svc.descriptions.snapshot(), photo)
    return {
        "filename": photo.filename,
        "title": photo.title,
        "url": scope.photo_url(photo),
        "thumb": scope.photo_url(photo, f"/thumb?v={photo.version}"),
        "restored_thumb": scope.photo_url(photo, f"/restored-thumb?v={restored}") if restored else None,
        "restored": scope.photo_url(photo, f"/restored?v={restored}") if restored else None,
        "restored_version": restored,
        **status_json(status, scope, translator(lang)),
        "description": description_json(description, translator(lang)),
    }


def album_photos(svc: Services, scope: Scope, lang: str = "en", query: str = "", view: str = "") -> list[dict]:
    """The whole album's photos as JSON; with ``query``, only those whose title, caption, place or names
    match; ``view="timeline"``: by date, as the timeline shows them. The album page's order and search
    (album_pages.album_order) over every page at once."""
    snapshot = svc.descriptions.snapshot()
    names, descriptions = album_order(svc.library, snapshot, scope.album.folder, query, view)
    if descriptions is None:
        descriptions = album_descriptions_by_name(snapshot, scope.album.folder, names)
    return page_photos(svc, scope, list(names), lang, descriptions)


def own_description(svc: Services, photo: Photo) -> Description:
    """The photo's own description for the form; a broken hand-edited entry shows as empty (saving replaces it)."""
    try:
        return svc.descriptions.photo(photo.source)
    except DescriptionError:
        return Description()


def album_page(request: Request, scope: Scope, view: str = "", q: str = "", page: str = ""):
    """One page of the album (album_pages.py): its photos only, with the whole album's counts."""
    svc = services(request)
    lang = language(request)
    view = "timeline" if view == "timeline" else "grid"
    q = q[:200]
    try:
        names, descriptions, paging = _album_slice(svc, scope, svc.descriptions.snapshot(), view, q, page)
    except PastTheEnd as exc:  # the last page, at its own address
        return RedirectResponse(scope.base + page_query(view, q, exc.last), status_code=303)
    photos = page_photos(svc, scope, names, lang, descriptions)
    groups = timeline(photos, descriptions, translator(lang)) if view == "timeline" else None
    share = svc.shares.token_for(scope.album.folder) if scope.can_edit else None
    try:
        album_description = svc.descriptions.album(scope.album.folder) if scope.can_edit else None
    except DescriptionError:
        album_description = Description()
    album_hint = (date_hint(scope.album.title) or date_hint(scope.album.folder)) if scope.can_edit else None
    links = {"page": lambda n: scope.base + page_query(view, q, n),
             "status": scope.api + "/photos" + page_query(view, q, paging.page, always=True)}
    return render(request, "album.html", scope=scope, photos=photos, share_token=share,
                  max_upload_bytes=svc.max_upload_bytes, view=view, q=q, groups=groups,
                  album_description=album_description, album_hint=album_hint,
                  colouriser=album_colouriser(svc, scope.album.folder) if scope.can_edit else None,
                  paging=paging, links=links, counts=_album_counts(svc, scope, photos, paging, q))


def album_page_json(request: Request, scope: Scope, view: str = "", q: str = "", page: str = "") -> list[dict]:
    """The album's photos as JSON: all of them (no ``page``), or one page as the album page shows it."""
    svc = services(request)
    view = "timeline" if view == "timeline" else "grid"
    if page == "":
        return album_photos(svc, scope, language(request), q[:200], view)
    try:
        names, descriptions, paging = _album_slice(svc, scope, svc.descriptions.snapshot(), view, q[:200], page)
    except PastTheEnd as exc:
        raise HTTPException(404, f"no such page: there are {exc.last} page(s) of photos") from None
    return page_photos(svc, scope, names, language(request), descriptions)


def _album_slice(svc: Services, scope: Scope, snapshot, view: str, q: str, page: str):
    """``(page's names, descriptions of at least those, Paging)``; PastTheEnd after the last page."""
    try:
        number = requested_page(page)
    except NoSuchPage as exc:
        raise HTTPException(404, str(exc)) from None
    names, descriptions = album_order(svc.library, snapshot, scope.album.folder, q, view)
    paging = Paging(number, len(names))
    names = list(names[paging.start:paging.end])
    if descriptions is None:  # album order: only this page's photos' descriptions are read
        descriptions = album_descriptions_by_name(snapshot, scope.album.folder, names)
    return names, descriptions, paging


def page_photos(svc: Services, scope: Scope, names: list[str], lang: str,
                descriptions: dict[str, Description]) -> list[dict]:
    """The photos of ``names`` as JSON, in that order: a stat, a state and a description each."""
    photos = svc.library.photos_named(scope.album.folder, names)
    statuses = svc.states.statuses(photos)
    # The page's restorations looked up by name: nothing is done for the rest of the album's.
    restorations = svc.library.gallery.restorations(scope.album.folder, [FolderGallery.restoration_name(n) for n in names])
    return [photo_json(svc, scope, photo, statuses[photo.source], restorations, lang, descriptions[photo.filename])
            for photo in photos]


def _album_counts(svc: Services, scope: Scope, photos: list[dict], paging: Paging, q: str) -> dict:
    """The whole album's photo and restored counts. Restored comes from the album's card (album_cards.py),
    made in the background when missing (None until then: "counting…"), except for an album that fits
    on one page, whose states were all just read."""
    total = len(svc.library.photo_names(scope.album.folder))
    if paging.pages == 1 and not q.strip():
        restored = sum(1 for p in photos if p["state"] in ("restored", "partial"))
    else:
        card = svc.album_cards.cards([scope.album], lambda photo: restoration_version(svc, photo), budget_s=0)
        restored = card[scope.album.folder].restored
    return {"photos": total, "restored": restored}


def photo_page(request: Request, scope: Scope, filename: str):
    svc = services(request)
    photo = find_photo(svc, scope, filename)
    status = svc.states.statuses([photo], with_details=True)[photo.source]
    item = photo_json(svc, scope, photo, status, lang=language(request))
    describing = None
    if scope.can_edit:  # the form: the photo's own values, and what the album's other photos used
        names = [name for name in svc.library.photo_names(scope.album.folder) if name != photo.filename]
        others, counts = counted_descriptions(svc.descriptions.snapshot(), scope.album.folder, names)
        describing = {"own": own_description(svc, photo), "suggestions": suggestions(others, counts),
                      "hint": file_name_hint(photo)}
    return render(
        request, "photo.html", scope=scope, photo=photo, item=item, describing=describing,
        details=status.details, settings=status.settings if scope.can_edit else None,
        noise_levels=NOISE_LEVELS, models=MODELS, colorize_modes=COLORIZE_MODES, repair_modes=REPAIR_MODES,
        tone_modes=TONE_MODES,
        # The repair panel and mask editor are the owner's: a visitor's page has nothing of them.
        repair=repair_panel(svc.layout, status.key) if scope.can_edit else None,
        framing=framing_panel(svc.layout, status.key, status.settings) if scope.can_edit else None,
        variations=variations_panel(svc.layout, status.key, status.settings, scope.photo_url(photo)) if scope.can_edit else None,
        colour_fix=colour_fix_panel(svc.layout, status.key) if scope.can_edit else None,
        before=_before_url(svc, scope, photo, status.key),
        neighbours=_neighbours(svc, scope, photo),
    )


def _before_url(svc: Services, scope: Scope, photo: Photo, key: str | None) -> str:
    """The viewer's "before": the framed and turned scan when there is one (it lines up with the
    restoration), else the original."""
    framed = framed_scan(svc.layout, key)
    return scope.photo_url(photo, f"/scan?v={framed[1]}") if framed else scope.photo_url(photo, f"/screen?v={photo.version}")


def _neighbours(svc: Services, scope: Scope, photo: Photo) -> dict:
    """The previous and next photo in album order, whichever page shows them, and the album page
    (in album order) that holds this photo, for the way back."""
    names = svc.library.photo_names(scope.album.folder)  # sorted: found by bisection
    i = bisect_left(names, photo.filename)
    if i == len(names) or names[i] != photo.filename:  # not listed (it went a moment ago)
        return {"previous": None, "next": None, "album": scope.base}
    link = lambda j: f"{scope.base}/photos/{quote(names[j], safe='')}" if 0 <= j < len(names) else None  # noqa: E731
    return {"previous": link(i - 1), "next": link(i + 1), "album": scope.base + page_query("", "", i // PAGE_SIZE + 1)}


def photo_status_json(request: Request, scope: Scope, filename: str) -> dict:
    svc = services(request)
    photo = find_photo(svc, scope, filename)
    return photo_json(svc, scope, photo, svc.states.statuses([photo])[photo.source], lang=language(request))


def media(request: Request, scope: Scope, filename: str, kind: str, download: bool) -> Response:
    """A photo's file or rendition. Versioned URLs (``?v=``) are cached for good; the rest revalidate."""
    svc = services(request)
    if kind not in KINDS:
        raise HTTPException(404, "no such file kind")
    photo = find_photo(svc, scope, filename)
    if kind == "scan":
        return _framed_scan_media(svc, photo, request)
    source = svc.library.original_path(photo)
    if kind.startswith("restored"):
        # A download gets the JPEG kept beside a WebP or AVIF: every program opens it.
        source = svc.library.restoration_path(photo, download=download and kind == "restored")
        if source is None:
            raise HTTPException(404, "this photo has no restoration yet")
    cache = IMMUTABLE if request.query_params.get("v") else "private, no-cache"
    # Opened here, without following any link on the way down from the gallery root: a link put in
    # after the listing (or a linked album) is 404, never its target.
    try:
        if kind.startswith("restored"):
            reader = svc.library.open_restoration(photo, source)
        else:
            reader = svc.library.open_original(photo)
    except NotFound:
        raise HTTPException(404, "no such photo in this album") from None
    if kind in ("original", "restored"):
        return _file(source, reader, photo, kind, download, cache)
    try:
        path = svc.renditions.get(source, "screen" if kind == "screen" else "thumb", reader)
    except (ImageError, OSError):  # unreadable, or over the pixel limit: a placeholder, never a 500
        return Response(BROKEN_SVG, status_code=422, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": cache})


def _framed_scan_media(svc: Services, photo: Photo, request: Request) -> Response:
    framed = framed_scan(svc.layout, svc.states.statuses([photo])[photo.source].key)
    if framed is None:
        raise HTTPException(404, "this photo's scan is neither framed nor turned: its original is the picture")
    try:
        path = svc.renditions.get(framed[0], "screen")
    except FileNotFoundError:
        raise HTTPException(404, "the scan is not there any more; it is made again by the next run") from None
    except (ImageError, OSError):
        return Response(BROKEN_SVG, status_code=422, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
    cache = IMMUTABLE if request.query_params.get("v") else "private, no-cache"
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": cache})


def _file(path: os.PathLike, reader: BinaryIO, photo: Photo, kind: str, download: bool, cache: str) -> Response:
    """The file, read from ``reader`` (opened without following links), never re-opened by path."""
    suffix = os.path.splitext(str(path))[1].lower()
    media_type = MEDIA_TYPES.get(suffix, "application/octet-stream")
    st = os.fstat(reader.fileno())
    headers = {
        "Cache-Control": cache, "Content-Length": str(st.st_size),
        "ETag": f'"{st.st_size:x}-{st.st_mtime_ns:x}"', "Last-Modified": formatdate(st.st_mtime, usegmt=True),
    }
    if download:
        label = photo.title if kind == "original" else f"{photo.title} (restored)"
        safe = "".join(ch for ch in label if ch.isprintable() and ch not in '\\/:*?"<>|').strip() or "photo"
        headers["Content-Disposition"] = _attachment(safe + suffix)
    return StreamingResponse(_chunks(reader), media_type=media_type, headers=headers)


def _chunks(reader: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    with reader:
        while chunk := reader.read(size):
            yield chunk


def _attachment(filename: str) -> str:
    """Content-Disposition as Starlette's FileResponse writes it (RFC 6266: ASCII fallback + UTF-8 name)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'
