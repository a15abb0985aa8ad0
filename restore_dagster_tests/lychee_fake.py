"""A fake Lychee server for the tests, modelled on Lychee's own source, version by version.

It serves the slice of ``/api/v2`` that ``LycheeGallery`` uses with Lychee's middleware, validation
and answers (paths in LycheeOrg/Lychee):

- every JSON route needs ``Content-Type: application/json`` and ``Accept`` JSON, else 406
  (``app/Http/Middleware/ContentType.php``, ``AcceptContentType.php``); ``POST /Photo`` is multipart;
- a wrong token answers 400 "Invalid token", no token on a write 419 (``SessionOrTokenGuard.php``);
- an unknown API path falls to the web catch-all (``routes/web_v2.php``): 406 to ``Accept: application/json``;
- ``GET /Albums`` lists the user's root albums only, without parent or children (``Albums/Top.php``);
- ``GET /Album`` (photos under ``resource``) up to v7.3; ``Album::photos``/``::head``/``::albums`` (paged)
  from v7.1; pages sorted without a tiebreaker (``shuffle_ties`` reorders ties between requests);
- the chunked upload of ``UploadPhotoRequest``/``FileUuidRule``/``ExtensionRule``, 201 per chunk,
  "done" or "ready" (``queue=True``: photos appear when ``run_queue`` is called), ``expected_id`` from
  v7.6; file names with ``/``, ``\\`` or ``..`` refused from v7.7.3 (``FilenameRule``); the title is the
  file name cut to 98 bytes (to v7.5) or 100 characters (v7.6+), unless the file embeds one;
- identical bytes (``checksum`` or ``original_checksum``) are linked, not stored twice, or 409 with
  ``skip_duplicates`` (``FindDuplicate.php``, ``Photo/Create.php``);
- titles of at most 100 bytes (``TitleRule``); ``POST /Album`` answers the id as raw text;
- ``DELETE /Photo`` needs ``from_id`` from v6.6.6 and then only unlinks a photo kept in other albums;
- sizes as "1.46 KB"; tags as strings up to v7.6, ``{id, name}`` objects from v7.7.0;
- originals under ``uploads/`` (static), behind secure links (``image/...``, a web route) or on another
  host (``cdn=True``, which records the Authorization headers it is sent).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/api/v2/"
# One release of each API generation the backend supports.
VERSIONS = ("6.10.4", "7.0.1", "7.3.3", "7.6.4", "7.7.4")
OLD_DATE = "2026-01-01T00:00:00+00:00"
# App\Enum\LicenseType (the ones a test may meet; Lychee has every CC variant)
LICENSES = ("none", "reserved", "CC0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0")
_MISSING = object()


def parse_version(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in version.lstrip("v").split(".")]
    return tuple((parts + [0, 0, 0])[:3])  # type: ignore[return-value]


def human_size(size: int) -> str:
    """Lychee's ``Helpers::getSymbolByQuantity``."""
    if size <= 0:
        return "0 B"
    symbols = ["B", "KB", "MB", "GB", "TB"]
    exp = 0
    while exp + 1 < len(symbols) and size >= 1024 ** (exp + 1):
        exp += 1
    return f"{size / 1024 ** exp:.2f} {symbols[exp]}"


@dataclass
class FakePhoto:
    id: str
    albums: list[str]
    title: str
    data: bytes
    extension: str
    tags: list[str] = field(default_factory=list)
    created_at: str = OLD_DATE
    original_data: bytes | None = None  # the file as first imported, when edited since (rotated)
    description: str | None = None
    taken_at: str | None = None
    license: str = "none"

    @property
    def album_id(self) -> str | None:
        return self.albums[0] if self.albums else None

    @property
    def checksum(self) -> str:
        return hashlib.sha1(self.data).hexdigest()

    @property
    def original_checksum(self) -> str:
        return hashlib.sha1(self.original_data if self.original_data is not None else self.data).hexdigest()


@dataclass
class Failure:
    method: str
    endpoint: str
    status: int
    times: int
    headers: dict[str, str]


class _Answer(Exception):
    def __init__(self, status: int, body, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


class FakeLychee:
    def __init__(self, version: str = "7.7.4", token: str = "secret-token", per_page: int = 2,
                 chunk_size: int | None = 1024, cdn: bool = False, secure_links: bool = False,
                 queue: bool = False, skip_duplicates: bool = False, shuffle_ties: bool = False,
                 embedded_title: str | None = None, require_content_type: bool = True,
                 queue_delay: float | None = None):
        self.version = parse_version(version)
        self.token = token
        self.per_page = per_page
        self.chunk_size = chunk_size
        self.secure_links = secure_links
        self.queue = queue
        self.skip_duplicates = skip_duplicates
        self.queue_delay = queue_delay  # with queue=True: the worker processes each upload this much later
        self.shuffle_ties = shuffle_ties
        self.embedded_title = embedded_title  # an IPTC/XMP title every uploaded file carries
        # REQUIRE_CONTENT_TYPE_ENABLED exists from v6.3; before, the check is always on.
        self.require_content_type = require_content_type or self.version < (6, 3, 0)
        self.albums: dict[str, dict] = {}
        self.photos: dict[str, FakePhoto] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, endpoint, fields) in arrival order
        self.headers_seen: list[tuple[str, dict]] = []  # (endpoint, headers) in arrival order
        self.failures: list[Failure] = []
        self.jobs: list[dict] = []  # uploads waiting in the processing queue
        self._temp: dict[str, bytes] = {}  # uuid_name -> the chunks appended so far
        self._ids = itertools.count(1)
        self._listings = itertools.count()
        self._lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.cdn = _Cdn(self) if cdn else None

    def __enter__(self) -> "FakeLychee":
        self._thread.start()
        if self.cdn:
            self.cdn.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.cdn:
            self.cdn.stop()

    # -- features by version (see the module docstring) -----------------------------------------

    @property
    def paged(self) -> bool:
        return self.version >= (7, 1, 0)

    @property
    def legacy_album_get(self) -> bool:
        return self.version < (7, 4, 0)

    # -- test set-up -------------------------------------------------------------------------------

    def new_id(self, prefix: str = "") -> str:
        # Lychee's ids: 24 base64url characters (RandomIDRule); readable ones keep test failures legible.
        return f"{prefix}{next(self._ids):06d}".ljust(24, "x")[:24]

    def add_album(self, title: str, parent_id: str | None = None, owner: str = "me") -> str:
        album_id = self.new_id("al")
        self.albums[album_id] = {"id": album_id, "title": title, "parent_id": parent_id, "owner": owner}
        return album_id

    def add_photo(self, album_id: str, title: str, data: bytes, extension: str = ".jpg", tags=(),
                  photo_id: str | None = None, created_at: str = OLD_DATE) -> str:
        photo_id = photo_id or self.new_id("ph")
        self.photos[photo_id] = FakePhoto(photo_id, [album_id], title, data, extension, list(tags), created_at)
        return photo_id

    def fail(self, method: str, endpoint: str, status: int, times: int = 1, headers: dict | None = None) -> None:
        """Answer the next ``times`` ``method endpoint`` requests with ``status``."""
        self.failures.append(Failure(method, endpoint, status, times, headers or {}))

    def in_album(self, album_id: str) -> list[FakePhoto]:
        return [p for p in self.photos.values() if album_id in p.albums]

    def album_named(self, title: str) -> str | None:
        return next((a["id"] for a in self.albums.values() if a["title"] == title), None)

    def calls(self, method: str, endpoint: str) -> list[dict]:
        return [f for m, e, f in self.requests if m == method and e == endpoint]

    def run_queue(self) -> None:
        """Lychee's queue worker: process every queued upload (a failing job is dropped, as Lychee logs it)."""
        with self._lock:
            jobs, self.jobs = self.jobs, []
            for job in jobs:
                try:
                    self._process(**job)
                except _Answer:
                    pass

    # -- request handling --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            is_api = path.startswith(API)
            endpoint = path[len(API):] if is_api else path.lstrip("/")
            try:
                fields = self._fields(headers, body, query)
            except ValueError:
                fields = {}
            self.requests.append((method, endpoint, {k: v for k, v in fields.items() if k != "file"}))
            self.headers_seen.append((endpoint, dict(headers.items())))
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and failure.endpoint == endpoint:
                    failure.times -= 1
                    return failure.status, failure.headers, b'{"message": "injected failure"}'
            try:
                if not is_api:
                    return self._web(method, endpoint, headers)
                route = self._route(method, endpoint)
                if route is None:
                    return self._web(method, endpoint, headers)  # the web catch-all answers unknown paths
                self._api_middleware(method, endpoint, headers, body)
                user = self._user(method, headers)
                status, answer = route(fields, user)
            except _Answer as answer:
                return answer.status, {"Content-Type": "application/json", **answer.headers}, json.dumps(answer.body).encode()
            if isinstance(answer, str):  # a controller returning a string: Laravel sends it as is
                return status, {"Content-Type": "text/html; charset=UTF-8"}, answer.encode()
            return status, {"Content-Type": "application/json"}, b"" if answer is None else json.dumps(answer).encode()

    def _route(self, method: str, endpoint: str):
        routes = {
            ("GET", "Albums"): self._get_Albums,
            ("POST", "Album"): self._post_Album,
            ("GET", "Gallery::getUploadLimits"): self._get_upload_limits,
            ("POST", "Photo"): self._post_Photo,
            ("PATCH", "Photo::tags"): self._patch_Photo_tags,
            ("PATCH", "Photo::rename"): self._patch_Photo_rename,
            ("PATCH", "Photo"): self._patch_Photo,
            ("DELETE", "Photo"): self._delete_Photo,
            ("GET", "Version"): lambda fields, user: (200, {"version": None, "is_new_release_available": False,
                                                            "is_git_update_available": False}),
        }
        if self.legacy_album_get:
            routes[("GET", "Album")] = self._get_Album
        if self.paged:
            routes[("GET", "Album::photos")] = self._get_Album_photos
            routes[("GET", "Album::head")] = self._get_Album_head
            routes[("GET", "Album::albums")] = self._get_Album_albums
        return routes.get((method, endpoint))

    def _api_middleware(self, method: str, endpoint: str, headers, body: bytes) -> None:
        accept = headers.get("Accept", "")
        if "json" not in accept.split(",")[0]:  # Laravel's expectsJson(): the first acceptable type is JSON
            raise _Answer(406, {"message": 'Content type unacceptable. Content type "json" required'})
        if not self.require_content_type:
            return
        ctype = headers.get("Content-Type", "")
        wanted = "multipart/form-data" if (method, endpoint) == ("POST", "Photo") else "application/json"
        if not ctype.startswith(wanted):
            raise _Answer(406, {"message": f'Content type unacceptable. Content type "{wanted}" required'})

    def _user(self, method: str, headers) -> str | None:
        token = headers.get("Authorization")
        if token:
            if token.replace("Bearer", "", 1).strip() != self.token:
                raise _Answer(400, {"message": "Invalid token", "exception": "BadRequestHeaderException"})
            return "me"
        if method != "GET":
            raise _Answer(419, {"message": "CSRF token mismatch.", "exception": "SessionExpiredException"})
        return None

    def _web(self, method: str, endpoint: str, headers) -> tuple[int, dict, bytes]:
        if endpoint.startswith("uploads/original/"):  # static files, served by the web server itself
            photo = self._photo_by_file(endpoint)
            return (200, {"Content-Type": "image/jpeg"}, photo.data) if photo else (404, {}, b"")
        if method not in ("GET", "POST"):
            return 405, {"Content-Type": "application/json"}, b'{"message": "method not allowed"}'
        # The web group's accept_content_type:html: Accept must allow HTML (*/* does).
        accept = [a.split(";")[0].strip() for a in headers.get("Accept", "").split(",") if a.strip()]
        if accept and not any(a in ("*/*", "text/*", "text/html") for a in accept):
            return 406, {"Content-Type": "application/json"}, b'{"message": "Content type unacceptable. Content type \\"html\\" required"}'
        if endpoint.startswith("image/"):  # secure image links: a signed web route
            photo = self._photo_by_file(endpoint)
            return (200, {"Content-Type": "image/jpeg"}, photo.data) if photo else (404, {}, b"")
        return 404, {"Content-Type": "text/html"}, b"<html>honeypot</html>"

    def _photo_by_file(self, endpoint: str) -> FakePhoto | None:
        return self.photos.get(os.path.splitext(endpoint.rsplit("/", 1)[1])[0])

    @staticmethod
    def _fields(headers, body: bytes, query: dict) -> dict:
        fields = {k: v[0] for k, v in query.items()}
        ctype = headers.get("Content-Type", "")
        if ctype.startswith("application/json") and body:
            fields.update(json.loads(body))
        elif ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                fields[name] = payload if name == "file" else payload.decode()
        return fields

    # -- answers -----------------------------------------------------------------------------------

    def _photo_json(self, photo: FakePhoto) -> dict:
        if self.cdn:
            url = f"{self.cdn.url}/bucket/{photo.id}{photo.extension}"
        elif self.secure_links:
            url = f"{self.url}/image/{secrets.token_hex(4)}/{photo.id}{photo.extension}?expires=1&signature=x"
        else:
            url = f"uploads/original/{photo.id}{photo.extension}"
        tags = [{"id": i + 1, "name": t} for i, t in enumerate(photo.tags)] if self.version >= (7, 7, 0) else list(photo.tags)
        return {
            "id": photo.id,
            "album_id": photo.album_id,
            "title": photo.title,
            "description": photo.description or "",
            "license": photo.license,
            "tags": tags,
            "checksum": photo.checksum,
            "original_checksum": photo.original_checksum,
            "created_at": photo.created_at,
            "updated_at": photo.created_at,
            "taken_at": photo.taken_at,
            "type": "image/jpeg",
            "size_variants": {
                "original": {"type": 0, "url": url, "filesize": human_size(len(photo.data)), "width": 1, "height": 1},
                "thumb": {"type": 6, "url": f"uploads/thumb/{photo.id}.jpeg", "filesize": "1.00 KB"},
            },
        }

    @staticmethod
    def _thumb_album(album: dict) -> dict:
        # ThumbAlbumResource: no parent_id, no children.
        return {"id": album["id"], "title": album["title"], "thumb": None, "is_nsfw": False, "is_public": False,
                "is_tag_album": False, "has_subalbum": False}

    def _album_or_404(self, album_id) -> dict:
        if not isinstance(album_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{24}", album_id):
            raise _Answer(422, {"message": "The album id must be a string with 24 characters."})  # AlbumIDRule
        album = self.albums.get(album_id)
        if album is None:
            raise _Answer(404, {"message": f"No query results for model [App\\Models\\Album] {album_id}"})
        return album

    def _sorted_photos(self, album_id: str) -> list[dict]:
        photos = [self._photo_json(p) for p in self.in_album(album_id)]
        if self.shuffle_ties and photos:
            # Every photo has the same sort key (taken_at): the database may return ties in any order.
            shift = next(self._listings) % len(photos)
            photos = photos[shift:] + photos[:shift]
        return photos

    def _get_Albums(self, fields, user):
        mine = [a for a in self.albums.values() if a["parent_id"] is None and user and a["owner"] == user]
        shared = [a for a in self.albums.values() if a["parent_id"] is None and user and a["owner"] != user]
        return 200, {"smart_albums": [], "tag_albums": [], "pinned_albums": [],
                     "albums": [self._thumb_album(a) for a in mine],
                     "shared_albums": [self._thumb_album(a) for a in shared]}

    def _album_resource(self, album: dict) -> dict:
        return {"id": album["id"], "title": album["title"], "parent_id": album["parent_id"], "owner_name": album["owner"]}

    def _get_Album(self, fields, user):
        album = self._album_or_404(fields.get("album_id"))
        children = [self._thumb_album(a) for a in self.albums.values() if a["parent_id"] == album["id"]]
        resource = {**self._album_resource(album), "albums": children, "photos": self._sorted_photos(album["id"])}
        return 200, {"config": {"is_accessible": True}, "resource": resource}

    def _get_Album_head(self, fields, user):
        album = self._album_or_404(fields.get("album_id"))
        return 200, {"config": {"is_accessible": True}, "resource": self._album_resource(album)}

    def _page(self, items: list, fields, key: str) -> dict:
        page = int(fields.get("page", 1))
        last = max(1, -(-len(items) // self.per_page))
        chunk = items[(page - 1) * self.per_page: page * self.per_page]
        return {key: chunk, "current_page": page, "last_page": last, "per_page": self.per_page, "total": len(items)}

    def _get_Album_photos(self, fields, user):
        album = self._album_or_404(fields.get("album_id"))
        return 200, self._page(self._sorted_photos(album["id"]), fields, "photos")

    def _get_Album_albums(self, fields, user):
        album = self._album_or_404(fields.get("album_id"))
        children = [self._thumb_album(a) for a in self.albums.values() if a["parent_id"] == album["id"]]
        return 200, self._page(children, fields, "data")

    @staticmethod
    def _need_login(user):
        if user is None:
            raise _Answer(401, {"message": "User is not authenticated"})

    @staticmethod
    def _title_rule(value, what="title"):
        if not isinstance(value, str) or not value or len(value.encode("utf-8")) > 100:
            raise _Answer(422, {"message": f"{what} must be a non-empty string with at most 100 characters"})

    def _random_id_rule(self, value, nullable=False):
        if value is None and nullable:
            return
        if not isinstance(value, str) or len(value) != 24:
            raise _Answer(422, {"message": f"{value!r} must be a string with 24 characters"})

    def _post_Album(self, fields, user):
        self._need_login(user)
        self._title_rule(fields.get("title"))
        parent = fields.get("parent_id")
        self._random_id_rule(parent, nullable=True)
        if parent is not None:
            self._album_or_404(parent)
        return 200, self.add_album(fields["title"], parent, owner=user)  # AlbumController::createAlbum: a string

    def _get_upload_limits(self, fields, user):
        return 200, {"upload_processing_limit": 4, **({"upload_chunk_size": self.chunk_size} if self.chunk_size else {})}

    def _post_Photo(self, fields, user):
        self._need_login(user)
        for name in ("album_id", "uuid_name", "extension"):
            if name not in fields:
                raise _Answer(422, {"message": f"The {name} field must be present."})
        file_name, chunk = fields.get("file_name"), fields.get("file")
        if not file_name or chunk is None:
            raise _Answer(422, {"message": "file and file_name are required"})
        if self.version >= (7, 7, 3) and (os.path.dirname(file_name) or any(s in file_name for s in ("..", "/", "\\"))):
            raise _Answer(422, {"message": "file name contains invalid characters"})
        number, total = int(fields.get("chunk_number") or 0), int(fields.get("total_chunks") or 0)
        if number < 1 or total < number:
            raise _Answer(422, {"message": "chunk_number must be at least 1 and total_chunks at least chunk_number"})
        uuid_name, extension = fields["uuid_name"] or None, fields["extension"] or None
        file_ext = "." + file_name.rsplit(".", 1)[1] if "." in file_name else "."
        if number == 1:
            if uuid_name is not None or extension is not None:
                raise _Answer(422, {"message": f"Error: Expected NULL in uuid_name/extension, got {uuid_name}/{extension}."})
        else:
            if uuid_name is None or not re.search(r"[a-zA-Z0-9-_]{16}\." + re.escape(file_ext[1:]), uuid_name) or uuid_name not in self._temp:
                raise _Answer(422, {"message": "uuid_name is not a valid random string."})
            if extension is None or not re.match(r"^\.[a-zA-Z0-9]*$", extension) or extension != file_ext \
                    or extension != os.path.splitext(uuid_name)[1]:
                raise _Answer(422, {"message": f"Error: Expected {file_ext} in extension, got {extension}."})
        album_id = fields["album_id"] or None
        if album_id is not None:
            self._album_or_404(album_id)
        if self.chunk_size and len(chunk) > self.chunk_size:
            raise _Answer(413, {"message": "chunk too large"})
        extension = extension or file_ext
        uuid_name = uuid_name or base64.urlsafe_b64encode(secrets.token_bytes(12)).decode() + extension
        self._temp[uuid_name] = self._temp.get(uuid_name, b"") + chunk
        meta = {"file_name": file_name, "extension": extension, "uuid_name": uuid_name, "stage": "uploading",
                "chunk_number": number, "total_chunks": total}
        if number < total:
            return 201, meta
        data = self._temp.pop(uuid_name)
        expected_id = self.new_id("up") if self.version >= (7, 6, 0) else None
        if expected_id:
            meta["expected_id"] = expected_id
        job = {"album_id": album_id, "data": data, "file_name": file_name, "extension": extension, "expected_id": expected_id}
        if self.queue:
            self.jobs.append(job)
            if self.queue_delay is not None:
                worker = threading.Timer(self.queue_delay, self.run_queue)
                worker.daemon = True
                worker.start()
            return 201, {**meta, "stage": "ready"}
        self._process(**job)
        return 201, {**meta, "stage": "done"}

    def _process(self, album_id, data, file_name, extension, expected_id):
        digest = hashlib.sha1(data).hexdigest()
        duplicate = next((p for p in self.photos.values() if digest in (p.checksum, p.original_checksum)), None)
        if duplicate is not None:
            if self.skip_duplicates:
                raise _Answer(409, {"message": "The photo has been skipped", "exception": "PhotoSkippedException"})
            if album_id and album_id not in duplicate.albums:
                duplicate.albums.append(album_id)  # SetParent: the existing photo is linked into the album
            return
        if self.version >= (7, 6, 0):
            title = file_name[:100]  # mb_substr(…, 0, 100)
        else:
            title = file_name.encode()[:98].decode("utf-8", errors="replace")  # substr(…, 0, 98)
        photo_id = expected_id or self.new_id("ph")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.photos[photo_id] = FakePhoto(photo_id, [album_id] if album_id else [], self.embedded_title or title,
                                          data, extension.lower(), [], now)

    def _photos_of(self, fields) -> list[FakePhoto]:
        ids = fields.get("photo_ids")
        if not isinstance(ids, list) or not ids:
            raise _Answer(422, {"message": "photo_ids must be a non-empty array"})
        for photo_id in ids:
            self._random_id_rule(photo_id)
            if photo_id not in self.photos:
                raise _Answer(404, {"message": f"No query results for model [App\\Models\\Photo] {photo_id}"})
        return [self.photos[i] for i in ids]

    def _patch_Photo_tags(self, fields, user):
        self._need_login(user)
        if not isinstance(fields.get("shall_override"), bool) or not isinstance(fields.get("tags"), list):
            raise _Answer(422, {"message": "shall_override and tags are required"})
        for photo in self._photos_of(fields):
            tags = [str(t) for t in fields["tags"]]
            photo.tags = tags if fields["shall_override"] else photo.tags + [t for t in tags if t not in photo.tags]
        return 204, None

    def _patch_Photo_rename(self, fields, user):
        self._need_login(user)
        self._random_id_rule(fields.get("photo_id"))
        self._title_rule(fields.get("title"))
        self.photos[fields["photo_id"]].title = fields["title"]
        return 204, None

    def _patch_Photo(self, fields, user):
        """PhotoController::update with EditPhotoRequest's rules (unchanged from v6.10 to v7.7)."""
        self._need_login(user)
        self._random_id_rule(fields.get("photo_id"))
        self._title_rule(fields.get("title"))
        description = fields.get("description", _MISSING)
        if description is _MISSING or not (description is None or (  # 'present', DescriptionRule: strlen ≤ 1000
                isinstance(description, str) and 0 < len(description.encode("utf-8")) <= 1000)):
            raise _Answer(422, {"message": "description must be either null or a non-empty string with at most 1000 characters"})
        tags = fields.get("tags", _MISSING)
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise _Answer(422, {"message": "tags must be present and an array of non-empty strings"})
        if fields.get("license") not in LICENSES:
            raise _Answer(422, {"message": "The selected license is invalid."})
        for name, nullable in (("upload_date", False), ("taken_at", True)):
            value = fields.get(name)
            if value is None and nullable:
                continue
            try:
                datetime.fromisoformat(str(value))
            except ValueError:
                raise _Answer(422, {"message": f"The {name} field must be a valid date."}) from None
        if "from_id" not in fields:
            raise _Answer(422, {"message": "The from id field must be present."})
        self._random_id_rule(fields["from_id"], nullable=True)
        photo = self.photos.get(fields["photo_id"])
        if photo is None:
            raise _Answer(404, {"message": f"No query results for model [App\\Models\\Photo] {fields['photo_id']}"})
        photo.title, photo.description, photo.tags = fields["title"], description, list(tags)  # tags()->sync(): replaced
        photo.license, photo.created_at = fields["license"], fields["upload_date"]
        # "if the request takenAt is null, then we set the initial value back" (none in the fake: no EXIF reader)
        photo.taken_at = datetime.fromisoformat(fields["taken_at"]).isoformat() if fields.get("taken_at") else None
        return 200, self._photo_json(photo)

    def _delete_Photo(self, fields, user):
        self._need_login(user)
        photos = self._photos_of(fields)
        if self.version < (6, 6, 6):
            for photo in photos:
                self.photos.pop(photo.id, None)
            return 204, None
        from_id = fields.get("from_id")
        if not isinstance(from_id, str) or not from_id:
            raise _Answer(422, {"message": "The from id field is required."})
        for photo in photos:
            # Delete::do: a photo still in other albums only loses this link.
            photo.albums = [a for a in photo.albums if a != from_id]
            if not photo.albums:
                self.photos.pop(photo.id, None)
        return 204, None


class _Cdn:
    """Another host serving originals (S3, a CDN): it must never be sent the Lychee token."""

    def __init__(self, fake: FakeLychee):
        self.fake = fake
        self.authorizations: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.authorizations.append(self.headers.get("Authorization"))
                photo = fake._photo_by_file(urlsplit(self.path).path)
                payload = photo.data if photo else b""
                self.send_response(200 if photo else 404)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost", not 127.0.0.1: another host name, as a CDN's would be.
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _handler(fake: FakeLychee):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = fake.handle(self.command, parts.path, parse_qs(parts.query), self.headers, body)
            if status == 204:
                payload = b""
            self.send_response(status)  # also sends Date: the server's clock
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler
