"""A Lychee (v6/v7) photo server as the gallery: its albums are the inboxes, restorations go back into it.

``LycheeClient`` speaks the subset of Lychee's JSON API (``/api/v2``) the pipeline needs and owns
retries; ``LycheeGallery`` maps the ``Gallery`` interface onto it. Originals are only ever read: the
one change made to an original is the ``processed`` tag, added once its restoration is published.

A restoration is recognised by its tags (``restored`` and ``restored-from:<original id>``), by living
in a "<album> (restored)" album, or by its title, so ``list_uploads`` never offers one as a new scan.
Lychee's upload answer does not carry the new photo's id, so the upload is found again by its SHA-1.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import requests

from restore_dagster.files import atomic_write_bytes, atomic_write_json, read_json
from restore_dagster.gallery import Gallery, GalleryUnavailable, Upload

API_PREFIX = "/api/v2"
TOKEN_ENV = "RESTORE_LYCHEE_TOKEN"
DEFAULT_CHUNK_SIZE = 2 * 1024 * 1024
RESTORED_TAG = "restored"
PROCESSED_TAG = "processed"
RESTORED_FROM_TAG = "restored-from:"
# Put into the upload's file name (Lychee derives the first title from it) until the photo is renamed
# and tagged: an upload orphaned by a crash in between is still known to be this original's restoration.
_UPLOAD_MARK = "[restored-from {}]"
_UPLOAD_MARK_RE = re.compile(r"\[restored-from [^\]]+\]")
_RETRY_STATUSES = {502, 503, 504}
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


class LycheeError(RuntimeError):
    """Lychee answered something the client cannot use (an unexpected status or body)."""


class LycheeAuthError(LycheeError):
    """Lychee refused the token (401/403): retrying cannot help."""


class LycheeUnavailable(LycheeError, GalleryUnavailable):
    """Lychee could not be reached (or kept failing) after every retry: skip and try again later."""


@dataclass(frozen=True)
class LycheeUpload(Upload):
    """An upload in Lychee: its identity for change detection is the stored file's SHA-1."""

    checksum: str = ""

    @property
    def signature(self) -> str:
        # Lychee keeps the photo id when a photo is replaced, and its dates say little; the checksum
        # changes exactly when the bytes do, so a replaced scan is re-restored and nothing else is.
        return f"sha1:{self.checksum}"


class LycheeClient:
    """JSON calls to ``<base_url>/api/v2`` with a bearer token, retried where retrying can help.

    Timeouts, connection errors and 502/503/504 are retried with exponential backoff
    (``backoff * 2**attempt`` seconds); 429 waits ``Retry-After`` seconds (at most ``max_retry_after``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 120,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not base_url:
            raise ValueError("Lychee: no server URL given (set RESTORE_LYCHEE_URL or the lychee_url config)")
        if not token:
            raise LycheeAuthError(f"Lychee: no API token given; create one in Lychee and set {TOKEN_ENV}")
        root = base_url.rstrip("/")
        if root.endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        self.site = root + "/"  # relative size-variant URLs are relative to the site, not the API
        self.api = root + API_PREFIX + "/"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "Authorization": f"Bearer {token}"})
        self._paged: bool | None = None  # does the server have v7.1's paged Album::photos?
        self._chunk_size: int | None = None

    # -- transport -------------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, resend_on_timeout: bool = True, **kwargs) -> requests.Response:
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A read timeout on a chunk upload may mean the chunk arrived: sending it again could
                # append it twice. Only a request that never connected is safe to resend then.
                safe = resend_on_timeout or isinstance(exc, requests.ConnectTimeout) or _never_connected(exc)
                if not safe or attempt >= self.retries:
                    raise LycheeUnavailable(f"Lychee at {self.site} is unreachable ({method} {url}): {exc}") from exc
                self.sleep(self.backoff * 2**attempt)
                attempt += 1
                continue
            status = response.status_code
            if status in (401, 403):
                raise LycheeAuthError(
                    f"Lychee refused the API token ({status} on {method} {url}): check that {TOKEN_ENV} holds a "
                    "valid token of a user who may read and upload to the inbox albums"
                )
            if status == 429 or status in _RETRY_STATUSES:
                if attempt >= self.retries:
                    raise LycheeUnavailable(f"Lychee at {self.site} kept answering {status} to {method} {url}")
                delay = _retry_after(response) if status == 429 else None
                self.sleep(min(delay, self.max_retry_after) if delay is not None else self.backoff * 2**attempt)
                attempt += 1
                continue
            return response

    def call(self, method: str, endpoint: str, *, allow: Iterable[int] = (), **kwargs) -> Any:
        """The decoded JSON answer of ``endpoint`` (None for an empty body); raises on other than 2xx/``allow``."""
        url = self.api + endpoint
        response = self._send(method, url, **kwargs)
        if response.status_code in set(allow):
            return response
        if not 200 <= response.status_code < 300:
            raise LycheeError(f"Lychee: {method} {url} answered {response.status_code}: {response.text[:300]}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LycheeError(f"Lychee: {method} {url} answered {response.status_code} with non-JSON: {response.text[:200]!r}") from exc

    def download(self, url: str) -> bytes:
        """The bytes at ``url``: absolute, or relative to the Lychee site."""
        absolute = url if urlsplit(url).scheme else urljoin(self.site, url.lstrip("/"))
        response = self._send("GET", absolute)
        if response.status_code != 200:
            raise LycheeError(f"Lychee: downloading {absolute} answered {response.status_code}")
        return response.content

    # -- albums and photos -----------------------------------------------------------------------

    def albums(self) -> list[dict]:
        """Every regular album the token sees, children included where the server nests them."""
        body = self.call("GET", "Albums")
        if not isinstance(body, dict) or not isinstance(body.get("albums"), list):
            raise LycheeError(f"Lychee: GET {self.api}Albums did not answer with an 'albums' list")
        found: list[dict] = []
        stack = list(reversed(body["albums"]))
        while stack:
            album = stack.pop()
            found.append(album)
            children = album.get("albums") or album.get("children") or []
            stack.extend(reversed([c for c in children if isinstance(c, dict)]))
        return found

    def album_photos(self, album_id: str) -> list[dict]:
        """All photos of one album: v7.1's paged ``Album::photos``, or v6's ``Album`` when that is missing."""
        if self._paged is not False:
            photos: list[dict] = []
            page = 1
            while True:
                body = self.call("GET", "Album::photos", params={"album_id": album_id, "page": page}, allow=(404, 405))
                if isinstance(body, requests.Response):
                    if self._paged:
                        raise LycheeError(f"Lychee: album {album_id} not found ({body.status_code})")
                    self._paged = False  # an older server: remember, and ask the v6 way from now on
                    break
                self._paged = True
                photos.extend(body.get("photos") or [])
                last = int(body.get("last_page") or 1)
                if int(body.get("current_page") or page) >= last:
                    return photos
                page += 1
        body = self.call("GET", "Album", params={"album_id": album_id})
        return list((body or {}).get("photos") or [])

    def create_album(self, title: str, parent_id: str | None) -> str:
        body = self.call("POST", "Album", json={"parent_id": parent_id, "title": title})
        album_id = body.get("id") if isinstance(body, dict) else body
        if not isinstance(album_id, str) or not album_id:
            raise LycheeError(f"Lychee: creating album {title!r} answered {body!r}, not an album id")
        return album_id

    def chunk_size(self) -> int:
        if self._chunk_size is None:
            response = self.call("GET", "Gallery::getUploadLimits", allow=(404, 405))
            size = response.get("upload_chunk_size") if isinstance(response, dict) else None
            self._chunk_size = int(size) if size and int(size) > 0 else DEFAULT_CHUNK_SIZE
        return self._chunk_size

    def upload(self, album_id: str, data: bytes, file_name: str) -> None:
        """Upload ``data`` as ``file_name`` into the album, in chunks of the server's size limit."""
        extension = os.path.splitext(file_name)[1]
        size = self.chunk_size()
        total = max(1, -(-len(data) // size))
        uuid_name = uuid.uuid4().hex + extension
        for number in range(1, total + 1):
            chunk = data[(number - 1) * size: number * size]
            fields = {
                "album_id": album_id,
                "file_name": file_name,
                "uuid_name": uuid_name,
                "extension": extension,
                "chunk_number": str(number),
                "total_chunks": str(total),
                "file_last_modified_time": str(int(time.time() * 1000)),
            }
            body = self.call(
                "POST", "Photo", data=fields, files={"file": (file_name, chunk, "application/octet-stream")},
                resend_on_timeout=False,
            )
            # The server may name the temporary file itself; later chunks must use its name.
            if isinstance(body, dict) and body.get("uuid_name"):
                uuid_name = body["uuid_name"]

    def add_tags(self, photo_ids: list[str], tags: list[str]) -> None:
        self.call("PATCH", "Photo::tags", json={"photo_ids": photo_ids, "tags": tags, "shall_override": False})

    def rename(self, photo_id: str, title: str) -> None:
        self.call("PATCH", "Photo::rename", json={"photo_id": photo_id, "title": title})

    def delete_photos(self, photo_ids: list[str]) -> None:
        self.call("DELETE", "Photo", json={"photo_ids": photo_ids})


class LycheeGallery(Gallery):
    """Scans uploaded to Lychee albums (``inboxes``: titles or ids, None for all) restored back into Lychee.

    ``destination="sibling"`` publishes into "<album><restored_suffix>" beside the original album,
    ``"same"`` into the original's album. ``cache_dir`` holds downloaded originals and album ids.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        cache_dir: Path,
        inboxes: list[str] | None = None,
        destination: str = "sibling",
        restored_suffix: str = " (restored)",
        timeout: float = 30,
        retries: int = 4,
        backoff: float = 0.5,
        client: LycheeClient | None = None,
    ):
        if destination not in ("sibling", "same"):
            raise ValueError(f"Lychee: destination must be 'sibling' or 'same', not {destination!r}")
        if not restored_suffix.strip():
            raise ValueError("Lychee: restored_suffix must not be blank (it tells restorations from uploads)")
        self.client = client or LycheeClient(base_url, token, timeout=timeout, retries=retries, backoff=backoff)
        self.cache_dir = Path(cache_dir)
        self.inboxes = None if inboxes is None else [str(i) for i in inboxes]
        self.destination = destination
        self.suffix = restored_suffix
        self._albums: list[dict] | None = None
        self._photos: dict[str, tuple[dict, dict]] = {}  # photo id -> (photo, album), from the last listing

    # -- reading -----------------------------------------------------------------------------------

    def list_uploads(self) -> list[Upload]:
        try:
            uploads = []
            for album in self._inbox_albums(refresh=True):
                for photo in self.client.album_photos(album["id"]):
                    if self._is_restoration(photo):
                        continue
                    self._photos[photo["id"]] = (photo, album)
                    uploads.append(self._upload(photo, album))
            return uploads
        except (LycheeUnavailable, LycheeAuthError):
            raise
        except (LycheeError, KeyError, TypeError, ValueError) as exc:
            # A half-understood answer must not look like "every photo was deleted": skip the tick.
            raise GalleryUnavailable(f"Lychee at {self.client.site} answered unexpectedly: {exc}") from exc

    def original_path(self, source: str) -> Path:
        photo, _ = self._find(source)
        original = ((photo.get("size_variants") or {}).get("original") or {})
        url = original.get("url")
        if not url:
            raise LycheeError(f"Lychee: photo {source} has no original size variant URL")
        checksum = photo.get("checksum") or ""
        sidecar = self.cache_dir / f"{_safe(source)}.json"
        cached = read_json(sidecar, default=None) or {}
        path = self.cache_dir / cached.get("file", "")
        if cached.get("checksum") == checksum and checksum and cached.get("file") and path.is_file():
            return path
        data = self.client.download(url)
        digest = hashlib.sha1(data).hexdigest()
        if checksum and digest not in (checksum, photo.get("original_checksum")):
            raise LycheeError(f"Lychee: the original of photo {source} downloaded from {url} has SHA-1 {digest}, "
                              f"not the {checksum} Lychee lists (truncated download?)")
        path = self.cache_dir / f"{_safe(source)}{_extension(photo)}"
        atomic_write_bytes(path, data)
        atomic_write_json(sidecar, {"checksum": checksum or digest, "file": path.name})
        return path

    # -- publishing --------------------------------------------------------------------------------

    def publish(self, source: str, data: bytes, extension: str) -> str:
        photo, album = self._find(source)
        target = self._destination_album(album)
        digest = hashlib.sha1(data).hexdigest()
        title = _title(photo) + self.suffix
        ext = "." + extension.lstrip(".").lower()

        in_target = self.client.album_photos(target)
        previous = self._restorations_of(source, in_target)
        # Identical bytes already there (a re-publish, or a crash before the tags went on): reuse them.
        keep = next((p for p in previous if p.get("checksum") == digest), None) or next(
            (p for p in in_target if p.get("checksum") == digest and not self._restores_other(p, source)), None)
        if keep is None:
            # File name carries a mark: should we crash before tagging, the upload is still known as ours.
            self.client.upload(target, data, f"{title} {_UPLOAD_MARK.format(source)}{ext}")
            matches = [p for p in self.client.album_photos(target) if p.get("checksum") == digest]
            if not matches:
                raise LycheeError(f"Lychee: uploaded the restoration of {source} into album {target} "
                                  f"but found no photo with its SHA-1 {digest} there")
            keep = matches[0]
        tags = [RESTORED_TAG, RESTORED_FROM_TAG + source]
        if not set(tags) <= set(keep.get("tags") or []):
            self.client.add_tags([keep["id"]], tags)
        if keep.get("title") != title:
            self.client.rename(keep["id"], title)
        # Only now that the new one is complete: an old restoration (or duplicate) goes.
        stale = [p["id"] for p in previous if p["id"] != keep["id"]]
        if stale:
            self.client.delete_photos(stale)
        if PROCESSED_TAG not in (photo.get("tags") or []):
            self.client.add_tags([source], [PROCESSED_TAG])
        return f"lychee:{keep['id']}"

    def published_location(self, source: str) -> str | None:
        _, album = self._find(source)
        target = self._destination_album(album, create=False)
        if target is None:
            return None
        tag = RESTORED_FROM_TAG + source
        found = [p for p in self.client.album_photos(target) if tag in (p.get("tags") or [])]
        return f"lychee:{found[0]['id']}" if found else None

    # -- helpers -----------------------------------------------------------------------------------

    def _all_albums(self, refresh: bool = False) -> list[dict]:
        if self._albums is None or refresh:
            self._albums = self.client.albums()
        return self._albums

    def _inbox_albums(self, refresh: bool = False) -> list[dict]:
        albums = [a for a in self._all_albums(refresh) if not str(a.get("title", "")).endswith(self.suffix)]
        if self.inboxes is None:
            return albums
        wanted = set(self.inboxes)
        return [a for a in albums if a.get("id") in wanted or a.get("title") in wanted]

    def _find(self, source: str) -> tuple[dict, dict]:
        """The photo ``source`` and its album, fresh from Lychee (its checksum and tags may have changed)."""
        cached = self._photos.get(source)
        albums = [cached[1]] if cached else []
        albums += [a for a in self._inbox_albums() if not cached or a["id"] != cached[1]["id"]]
        for album in albums:
            for photo in self.client.album_photos(album["id"]):
                if photo.get("id") == source:
                    self._photos[source] = (photo, album)
                    return photo, album
        raise FileNotFoundError(f"Lychee: photo {source} is not in any inbox album of {self.client.site} (deleted?)")

    def _destination_album(self, album: dict, create: bool = True) -> str | None:
        if self.destination == "same":
            return album["id"]
        title = f"{album.get('title', '')}{self.suffix}"
        parent = album.get("parent_id")
        known_path = self.cache_dir / "restored_albums.json"
        known = read_json(known_path, default=None) or {}
        match = next((a["id"] for a in self._all_albums() if a.get("title") == title and a.get("parent_id") == parent), None)
        if match is None and parent is not None and known.get(album["id"]):
            # /Albums may list only top-level albums: trust the id created earlier for a nested one.
            match = known[album["id"]]
        if match is None and not create:
            return None
        if match is None:
            match = self.client.create_album(title, parent)
            self._albums = None
        atomic_write_json(known_path, {**known, album["id"]: match})
        return match

    @staticmethod
    def _restorations_of(source: str, photos: list[dict]) -> list[dict]:
        mark = _UPLOAD_MARK.format(source)
        return [p for p in photos if RESTORED_FROM_TAG + source in (p.get("tags") or []) or mark in str(p.get("title") or "")]

    @staticmethod
    def _restores_other(photo: dict, source: str) -> bool:
        return any(str(t).startswith(RESTORED_FROM_TAG) and t != RESTORED_FROM_TAG + source for t in photo.get("tags") or [])

    def _is_restoration(self, photo: dict) -> bool:
        tags = photo.get("tags") or []
        title = str(photo.get("title") or "")
        return (
            RESTORED_TAG in tags
            or any(str(t).startswith(RESTORED_FROM_TAG) for t in tags)
            or title.endswith(self.suffix)
            or bool(_UPLOAD_MARK_RE.search(title))
        )

    def _upload(self, photo: dict, album: dict) -> LycheeUpload:
        checksum = photo.get("checksum") or ""
        if not checksum:
            raise LycheeError(f"Lychee: photo {photo.get('id')} has no checksum; cannot tell when it is replaced")
        title = _title(photo)
        ext = _extension(photo)
        name = title if title.lower().endswith(ext) else title + ext
        size = ((photo.get("size_variants") or {}).get("original") or {}).get("filesize") or 0
        return LycheeUpload(photo["id"], str(album.get("title") or album["id"]), name, int(size), 0, checksum)


def _title(photo: dict) -> str:
    return str(photo.get("title") or photo["id"])


def _extension(photo: dict) -> str:
    """The original's extension, from its URL (Lychee keeps it), else its title, else .jpg."""
    url = ((photo.get("size_variants") or {}).get("original") or {}).get("url") or ""
    for candidate in (urlsplit(url).path, str(photo.get("title") or "")):
        ext = os.path.splitext(candidate)[1].lower()
        if re.fullmatch(r"\.[a-z0-9]{2,5}", ext):
            return ext
    return ".jpg"


def _safe(photo_id: str) -> str:
    return _SAFE_ID.sub("_", photo_id) or "photo"


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None  # an HTTP date or garbage: fall back to the backoff


def _never_connected(exc: Exception) -> bool:
    # requests wraps "connection refused" / DNS failures as ConnectionError around a NewConnectionError.
    text = repr(exc)
    return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text


