"""Lychee's chunked upload (``POST /Photo``, multipart), as its ``UploadPhotoRequest`` expects it.

Chunk 1 sends ``uuid_name`` and ``extension`` present but empty; the server names the temporary file
(16 base64url characters + extension) and returns it, and later chunks send that name and the
extension (with its dot) back. Chunks count from 1. Every chunk answers 201; the last answers stage
"done", or "ready" when Lychee processes uploads in a queue (the photo appears later), and from v7.6
the id the new photo will get (``expected_id``). 409 means the server skips duplicates and already
holds these bytes.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from restore_dagster.lychee.errors import LycheeError
from restore_dagster.lychee.http import LycheeHttp, check, decode_json


@dataclass(frozen=True)
class UploadResult:
    stage: str  # "done", "ready" (queued) or "skipped" (409: the server skips duplicates)
    expected_id: str | None  # the new photo's id (v7.6+), unless the bytes are a duplicate
    server_started: float | None  # the server's clock (epoch seconds) when the first chunk arrived


def upload_chunks(http: LycheeHttp, album_id: str, data: bytes, file_name: str, chunk_size: int) -> UploadResult:
    total = max(1, -(-len(data) // chunk_size))
    uuid_name, extension = "", ""  # chunk 1: present and empty, the server picks them
    started: float | None = None
    for number in range(1, total + 1):
        chunk = data[(number - 1) * chunk_size: number * chunk_size]
        fields = {
            "album_id": album_id,
            "file_name": file_name,
            "uuid_name": uuid_name,
            "extension": extension,
            "chunk_number": str(number),
            "total_chunks": str(total),
            "file_last_modified_time": str(int(time.time() * 1000)),
        }
        response = http.request("POST", "Photo", data=fields, files={"file": (file_name, chunk, "application/octet-stream")},
                                resend_on_timeout=False)
        if started is None:
            started = _server_time(response)
        if response.status_code == 409 and number == total:
            return UploadResult("skipped", None, started)
        check(response, "POST", f"Photo (chunk {number} of {total} of {file_name!r})")
        body = decode_json(response, "POST", http.api + "Photo")
        if not isinstance(body, dict):
            raise LycheeError(f"Lychee: uploading {file_name!r} chunk {number} answered {body!r}, not the upload state")
        if number < total:
            uuid_name = str(body.get("uuid_name") or "")
            extension = str(body.get("extension") or os.path.splitext(uuid_name)[1])
            if not uuid_name:
                raise LycheeError(f"Lychee: chunk {number} of {file_name!r} answered no uuid_name to continue with")
            continue
        stage = str(body.get("stage") or "done")
        return UploadResult(stage, body.get("expected_id") or None, started)
    raise AssertionError("unreachable: the last chunk returns")


def _server_time(response) -> float | None:
    try:
        return parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None
