"""The errors of the Lychee backend: what went wrong decides whether retrying later can help."""
from __future__ import annotations

from restore_dagster.gallery import GalleryUnavailable

TOKEN_ENV = "RESTORE_LYCHEE_TOKEN"


class LycheeError(RuntimeError):
    """Lychee answered something the client cannot use (an unexpected status or body)."""


class LycheeAuthError(LycheeError):
    """Lychee refused the token: retrying cannot help, the token must be fixed."""


class LycheeUnavailable(LycheeError, GalleryUnavailable):
    """Lychee could not be reached (or kept failing) after every retry: skip and try again later."""


class LycheeNotFound(LycheeError):
    """An album or photo the client asked for is not (or no longer) on the server."""


class LycheePending(LycheeUnavailable):
    """An upload was accepted into Lychee's processing queue and the photo is not there yet."""


class LycheeDuplicate(LycheeError):
    """Lychee already holds these exact bytes as another photo, which is not ours to adopt."""
