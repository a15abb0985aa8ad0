"""A Lychee (v6.x/v7.x) photo server as the gallery: see ``gallery.LycheeGallery``.

``http`` speaks HTTP to Lychee (headers, token, retries), ``client`` the API calls and their
differences between versions, ``listing`` reads paged answers, ``upload`` the chunked upload,
``pending`` remembers queued uploads, ``ownership`` tells our restorations from others' photos,
``naming`` fits titles and file names to Lychee's rules.
"""
from restore_dagster.lychee.client import LycheeClient
from restore_dagster.lychee.errors import (TOKEN_ENV, LycheeAuthError, LycheeDuplicate, LycheeError, LycheeNotFound,
                                           LycheePending, LycheeUnavailable)
from restore_dagster.lychee.gallery import LycheeGallery, LycheeUpload

__all__ = ["TOKEN_ENV", "LycheeAuthError", "LycheeClient", "LycheeDuplicate", "LycheeError", "LycheeGallery",
           "LycheeNotFound", "LycheePending", "LycheeUnavailable", "LycheeUpload"]
