"""Checking an uploaded scan before the gallery keeps it.

The request body is capped before it is parsed (``BodyLimit``); each file is then copied to a hidden
temp file in its album (the same file system, so keeping it is one rename), hashed on the way, and
decoded in full: the type is what the decoder recognises, never the file name or the declared
content type, and the pixel limit is checked from the header before any pixel is decoded, which stops
decompression bombs. Whatever is refused is deleted; nothing half-checked is ever visible.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from restore_dagster.imaging import DEFAULT_MAX_PIXELS, ImageError, ImageTooLarge, NotAnImage, probe_image

CHUNK = 1 << 20
MIB = 1 << 20  # RESTORE_WEB_MAX_UPLOAD_MB counts MiB, and every message says "MiB"


def size_limit_text(limit_bytes: int) -> str:
    """A byte limit in the unit it is configured in: ``64 MiB``, ``1.9 MiB``."""
    value = limit_bytes / MIB
    return f"{value:.0f} MiB" if value.is_integer() else f"{value:.2f}".rstrip("0").rstrip(".") + " MiB"


class UploadRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StagedUpload:
    path: Path
    sha256: str
    size: int
    image_format: str
    width: int
    height: int


def stage_upload(stream: BinaryIO, album_dir: Path, client_name: str, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> StagedUpload:
    """Copy, hash and decode one upload; raises UploadRefused (413, 415 or 422) saying why."""
    fd, tmp = tempfile.mkstemp(dir=album_dir, prefix=".upload-", suffix=".tmp")
    path = Path(tmp)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(413, f"{_shown(client_name)}: larger than the limit of {size_limit_text(max_bytes)} per file")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRefused(422, f"{_shown(client_name)}: the file is empty")
        try:
            image_format, (width, height) = probe_image(path, max_pixels)
        except ImageTooLarge as exc:
            raise UploadRefused(413, f"{_shown(client_name)}: too many pixels ({_reason(exc, path)})") from None
        except NotAnImage:
            raise UploadRefused(415, f"{_shown(client_name)}: not a picture the gallery can read (JPEG, PNG, TIFF, WebP, BMP or HEIC)") from None
        except ImageError as exc:
            raise UploadRefused(422, f"{_shown(client_name)}: {_reason(exc, path)}") from None
        return StagedUpload(path, digest.hexdigest(), size, image_format, width, height)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _shown(client_name: str) -> str:
    """The client's name for messages only; it is escaped wherever it is displayed."""
    name = str(client_name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:100] or "upload"


def _reason(exc: Exception, path: Path) -> str:
    # The decoder names the temp file; the person needs only the reason.
    return str(exc).replace(f"{path}: ", "").replace(str(path), "the file")


class BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with 413 before anything parses it.

    A declared Content-Length is refused at once. A chunked body (no length) is counted as it
    arrives; once over, the read fails and whatever the app would answer (the form parser turns the
    failed read into a 400) is replaced by the 413. ``file_limit`` is the per-file limit the message
    names (the body may be a little larger: the form's own fields).
    """

    def __init__(self, app, max_bytes: int, file_limit: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.file_limit = file_limit or max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _too_large(send, self.file_limit)
        seen = 0
        over = started = False

        async def limited_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if over:  # the app's answer to a failed read: ours instead, sent once
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(send, self.file_limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.file_limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"the upload is larger than the limit of {size_limit_text(limit)} per file"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
