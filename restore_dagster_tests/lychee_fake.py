"""A fake Lychee server for the tests: the slice of the v6/v7 ``/api/v2`` API that ``LycheeGallery`` uses.

It keeps albums and photos in memory, reassembles chunked uploads, checks the bearer token and can be
told to fail requests (``fail``) to exercise retries. ``version="v7"`` serves the paged
``Album::photos`` (v7.1+); ``version="v6"`` answers it 404 and lists all photos in ``GET /Album``.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/api/v2/"


@dataclass
class FakePhoto:
    id: str
    album_id: str
    title: str
    data: bytes
    extension: str
    tags: list[str] = field(default_factory=list)

    @property
    def checksum(self) -> str:
        return hashlib.sha1(self.data).hexdigest()

    def to_json(self, absolute_base: str | None) -> dict:
        url = f"uploads/original/{self.id}{self.extension}"
        return {
            "id": self.id,
            "album_id": self.album_id,
            "title": self.title,
            "description": None,
            "tags": list(self.tags),
            "checksum": self.checksum,
            "original_checksum": self.checksum,
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
            "taken_at": None,
            "size_variants": {
                "original": {"url": f"{absolute_base}/{url}" if absolute_base else url, "filesize": len(self.data)},
                "thumb": {"url": f"uploads/thumb/{self.id}.jpeg"},
            },
        }


@dataclass
class Failure:
    method: str
    endpoint: str
    status: int
    times: int
    headers: dict[str, str]


class FakeLychee:
    def __init__(self, version: str = "v7", token: str = "secret-token", per_page: int = 2,
                 chunk_size: int | None = 1024, absolute_urls: bool = False, album_id_as_object: bool = False):
        assert version in ("v6", "v7")
        self.version = version
        self.token = token
        self.per_page = per_page
        self.chunk_size = chunk_size
        self.absolute_urls = absolute_urls
        self.album_id_as_object = album_id_as_object
        self.albums: dict[str, dict] = {}
        self.photos: dict[str, FakePhoto] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, endpoint, fields) in arrival order
        self.failures: list[Failure] = []
        self._chunks: dict[str, list[tuple[int, int, bytes]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "FakeLychee":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- test set-up -------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def add_album(self, title: str, parent_id: str | None = None) -> str:
        album_id = self.new_id("al")
        self.albums[album_id] = {"id": album_id, "title": title, "parent_id": parent_id}
        return album_id

    def add_photo(self, album_id: str, title: str, data: bytes, extension: str = ".jpg", tags=()) -> str:
        photo_id = self.new_id("ph")
        self.photos[photo_id] = FakePhoto(photo_id, album_id, title, data, extension, list(tags))
        return photo_id

    def fail(self, method: str, endpoint: str, status: int, times: int = 1, headers: dict | None = None) -> None:
        """Answer the next ``times`` ``method endpoint`` requests with ``status``."""
        self.failures.append(Failure(method, endpoint, status, times, headers or {}))

    def in_album(self, album_id: str) -> list[FakePhoto]:
        return [p for p in self.photos.values() if p.album_id == album_id]

    def album_named(self, title: str) -> str | None:
        return next((a["id"] for a in self.albums.values() if a["title"] == title), None)

    def calls(self, method: str, endpoint: str) -> list[dict]:
        return [f for m, e, f in self.requests if m == method and e == endpoint]

    # -- request handling --------------------------------------------------------------------------

    def handle(self, method: str, endpoint: str, query: dict, headers, body: bytes) -> tuple[int, dict, bytes]:
        fields = self._fields(headers, body, query)
        with self._lock:
            self.requests.append((method, endpoint, {k: v for k, v in fields.items() if k != "file"}))
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and failure.endpoint == endpoint:
                    failure.times -= 1
                    return failure.status, failure.headers, b'{"message": "injected failure"}'
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {}, b'{"message": "Unauthenticated."}'
            if endpoint.startswith("uploads/original/"):
                photo = self.photos.get(endpoint.rsplit("/", 1)[1].rsplit(".", 1)[0])
                return (200, {"Content-Type": "image/jpeg"}, photo.data) if photo else (404, {}, b"")
            route = getattr(self, "_" + method.lower() + "_" + endpoint.replace("::", "_").replace("/", "_"), None)
            if route is None:
                return 404 if method == "GET" else 405, {}, b'{"message": "no such route"}'
            status, answer = route(fields)
            return status, {"Content-Type": "application/json"}, json.dumps(answer).encode()

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
                payload = part.get_payload(decode=True)
                fields[name] = payload if name == "file" else payload.decode()
        return fields

    def _photo_list(self, album_id: str) -> list[dict]:
        base = self.url if self.absolute_urls else None
        return [p.to_json(base) for p in self.in_album(album_id)]

    def _get_Albums(self, fields):
        top = [dict(a) for a in self.albums.values() if a["parent_id"] is None]
        return 200, {"albums": top, "smart_albums": {}, "tag_albums": [], "shared_albums": []}

    def _get_Album(self, fields):
        album = self.albums.get(fields.get("album_id"))
        if album is None:
            return 404, {"message": "album not found"}
        children = [dict(a) for a in self.albums.values() if a["parent_id"] == album["id"]]
        photos = self._photo_list(album["id"]) if self.version == "v6" else []
        return 200, {**album, "albums": children, "photos": photos}

    def _get_Album_photos(self, fields):
        if self.version == "v6":
            return 404, {"message": "no such route"}
        if fields.get("album_id") not in self.albums:
            return 404, {"message": "album not found"}
        photos = self._photo_list(fields["album_id"])
        page = int(fields.get("page", 1))
        last = max(1, -(-len(photos) // self.per_page))
        chunk = photos[(page - 1) * self.per_page: page * self.per_page]
        return 200, {"photos": chunk, "current_page": page, "last_page": last, "per_page": self.per_page, "total": len(photos)}

    def _post_Album(self, fields):
        album_id = self.add_album(fields["title"], fields.get("parent_id"))
        return 201, {"id": album_id} if self.album_id_as_object else album_id

    def _get_Gallery_getUploadLimits(self, fields):
        return 200, ({"upload_chunk_size": self.chunk_size} if self.chunk_size else {})

    def _post_Photo(self, fields):
        key = fields["uuid_name"]
        number, total = int(fields["chunk_number"]), int(fields["total_chunks"])
        if fields["album_id"] not in self.albums:
            return 422, {"message": "album not found"}
        if self.chunk_size and len(fields["file"]) > self.chunk_size:
            return 413, {"message": "chunk too large"}
        parts = self._chunks.setdefault(key, [])
        parts.append((number, total, fields["file"]))
        if number < total:
            return 200, {"file_name": fields["file_name"], "uuid_name": key, "stage": "uploading", "chunk_number": number, "total_chunks": total}
        numbers = [n for n, _, _ in parts]
        if numbers != list(range(1, total + 1)):
            return 422, {"message": f"chunks arrived as {numbers}"}
        data = b"".join(chunk for _, _, chunk in parts)
        del self._chunks[key]
        stem, _, ext = fields["file_name"].rpartition(".")
        self.add_photo(fields["album_id"], stem, data, "." + ext)
        return 201, {"file_name": fields["file_name"], "uuid_name": key, "stage": "processing", "chunk_number": number, "total_chunks": total}

    def _patch_Photo_tags(self, fields):
        for photo_id in fields["photo_ids"]:
            photo = self.photos[photo_id]
            photo.tags = list(fields["tags"]) if fields["shall_override"] else photo.tags + [t for t in fields["tags"] if t not in photo.tags]
        return 204, None

    def _patch_Photo_rename(self, fields):
        self.photos[fields["photo_id"]].title = fields["title"]
        return 204, None

    def _delete_Photo(self, fields):
        for photo_id in fields["photo_ids"]:
            self.photos.pop(photo_id, None)
        return 204, None


def _handler(fake: FakeLychee):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            endpoint = parts.path[len(API):] if parts.path.startswith(API) else parts.path.lstrip("/")
            status, headers, payload = fake.handle(self.command, endpoint, parse_qs(parts.query), self.headers, body)
            if status == 204:
                payload = b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler
