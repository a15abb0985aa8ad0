"""Response shapes for the JSON endpoints (they make the OpenAPI schema precise enough to fuzz)."""
from __future__ import annotations

from typing import Literal

from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel


class HTML(HTMLResponse):
    """A server-rendered page."""


class Image(Response):
    media_type = "image/jpeg"


class Problem(BaseModel):
    """An error: a sentence for a person, or FastAPI's list of invalid fields."""

    detail: str | list[dict]


class AlbumOut(BaseModel):
    folder: str
    title: str
    photo_count: int
    url: str


class DescriptionOut(BaseModel):
    """The family's description as it applies (the album's date and place fill what the photo leaves empty)."""

    date: str  # as stored: 1962-06-14, 1962-06, 1962, about 1960, 1960s ("" when undated)
    date_label: str  # translated for display
    caption: str
    place: str
    people: list[str]
    from_album: list[str]  # which fields are the album's defaults


class PhotoOut(BaseModel):
    filename: str
    title: str
    url: str
    thumb: str
    restored_thumb: str | None
    restored: str | None
    restored_version: str | None
    state: Literal["waiting", "processing", "restored", "partial", "failed"]
    label: str  # the badge, translated: "Colour pending" for a partial photo waiting for colour
    reason: str  # one line; a share-link visitor's is short, translated and free of server details
    detail: str  # the owner's full explanation (empty for visitors)
    pending: list[str]  # optional steps still to come, e.g. ["colour"]
    key: str | None
    description: DescriptionOut


class UploadOut(BaseModel):
    status: Literal["added", "duplicate", "split"]
    title: str
    url: str
    detail: str
    prints: list[str] = []  # with "split": the viewer URL of each print, in reading order


class RepairMaskOut(BaseModel):
    detail: str  # "saved"
    photo: PhotoOut  # the photo's state right after: queued to be repaired again


class FramingOut(BaseModel):
    detail: str  # "saved"
    photo: PhotoOut  # the photo's state right after: waiting to be restored again


class ColourFixItem(BaseModel):
    id: str
    colour: str  # "#rrggbb"
    x: float
    y: float
    tolerance: int
    percent: float  # share of the picture the region covered when the fix was made
    state: Literal["applied", "skipped", "waiting"]  # what the last `colorized` run did with it
    reason: str  # why it was skipped


class ColourFixOut(BaseModel):
    detail: str
    fixes: list[ColourFixItem]  # the photo's fixes after the change, oldest first
    error: str  # the fixes file cannot be read ("" normally)
    photo: PhotoOut  # the photo's state right after: waiting to be coloured again
