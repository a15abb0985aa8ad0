"""The web upload's "several prints on this scan": a checked upload is split by ``sheets.split_into_album``.

The upload has already passed ``stage_upload``'s checks (size, type by decoding, pixel limit). The
sheet is kept under a server-made name (``scan-<time>.<ext>``, like every web upload) in
``sheets/<album>/``, each print becomes a photo of the album titled after the client's file name and
its position, and the staged file is removed whatever happens.
"""
from __future__ import annotations

import datetime as dt

from fastapi.responses import JSONResponse

from restore_dagster.imaging import ImageError
from restore_dagster.sheets import split_into_album
from restore_dagster.viewer import models
from restore_dagster.viewer.library import EXTENSIONS, _title_from_client_name
from restore_dagster.viewer.pages import Scope
from restore_dagster.viewer.uploads import StagedUpload


def split_upload(svc, scope: Scope, staged: StagedUpload, client_name: str):
    folder = scope.album.folder
    title = _title_from_client_name(client_name)
    sheet_name = f"scan-{dt.datetime.now():%Y%m%d-%H%M%S-%f}{EXTENSIONS[staged.image_format]}"
    try:
        outcome = split_into_album(svc.layout, folder, staged.path, sheet_name)
    except (ImageError, ValueError) as exc:
        # The decoder names the hidden temp file; the person needs only the reason.
        reason = str(exc).replace(f"{staged.path}: ", "").replace(str(staged.path), "the file")
        return JSONResponse({"detail": f"{title}: not split into prints: {reason}"}, status_code=422)
    finally:
        staged.path.unlink(missing_ok=True)
    urls = []
    for item in outcome.prints:
        if item.status == "added":  # a re-split keeps the titles the owner may have changed since
            svc.library.rename_photo(folder, item.filename, f"{title} · {item.position}")
        urls.append(scope.photo_url(svc.library.photo(folder, item.filename)))
    return models.UploadOut(status="split", title=title, url=scope.base, detail=outcome.summary(), prints=urls)
