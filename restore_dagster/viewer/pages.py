"""Rendering: the Jinja environment (autoescaped everywhere), the language, and what every page gets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from restore_dagster.viewer.i18n import HTML_LANG, pick_language, translator
from restore_dagster.viewer.library import Album, Photo
from restore_dagster.viewer.security import csrf_token, is_owner

TEMPLATES = Path(__file__).parent / "templates"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every title and name is escaped, .html or not
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["q"] = lambda value: quote(str(value), safe="")
_ENV.filters["n"] = lambda value: f"{value:,}"  # 20,000: counts of a big album are read at a glance


def language(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"), request.cookies.get("lang"))


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    lang = language(request)
    html = _ENV.get_template(template).render(
        t=translator(lang),
        lang=lang,
        html_lang=HTML_LANG[lang],
        csrf=csrf_token(request),
        owner=is_owner(request),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Scope:
    """An album as one visitor may see it: the owner (``/albums/...``, may change it) or a share link."""

    album: Album
    base: str  # pages and files
    api: str  # JSON states, polled by the pages
    can_edit: bool

    def photo_url(self, photo: Photo, suffix: str = "") -> str:
        return f"{self.base}/photos/{quote(photo.filename, safe='')}{suffix}"

    def status_url(self, photo: Photo) -> str:
        return f"{self.api}/photos/{quote(photo.filename, safe='')}"


def owner_scope(album: Album) -> Scope:
    folder = quote(album.folder, safe="")
    return Scope(album, f"/albums/{folder}", f"/api/albums/{folder}", True)


def share_scope(album: Album, token: str) -> Scope:
    return Scope(album, f"/s/{token}", f"/s/{token}/api", False)
