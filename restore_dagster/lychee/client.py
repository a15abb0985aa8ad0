"""The Lychee API calls the gallery needs, across v6.x and v7.x.

Differences by version, handled here (paths in LycheeOrg/Lychee):
- photos of an album: ``GET /Album::photos`` (paged) from v7.1.0; before, ``GET /Album`` with the
  photos under ``resource`` (``routes/api_v2.php``; ``GET /Album`` is gone from v7.4.0). An older
  server answers an unknown API path from its web catch-all with 406, not 404: only that decides the
  listing style, never a 404 for one deleted album.
- ``DELETE /Photo`` needs ``from_id`` from v6.6.6 (older versions ignore it);
- ``POST /Album`` answers the new id as a raw text body.
"""
from __future__ import annotations

import re

from restore_dagster.lychee.errors import LycheeError, LycheeNotFound
from restore_dagster.lychee.http import LycheeHttp, check, decode_json
from restore_dagster.lychee.listing import collect_pages
from restore_dagster.lychee.naming import fit_title
from restore_dagster.lychee.upload import UploadResult, upload_chunks

DESCRIPTION_MAX_BYTES = 1000  # Lychee's DescriptionRule: StringRule(nullable, 1000), measured with strlen

DEFAULT_CHUNK_SIZE = 2 * 1024 * 1024
ALBUM_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")  # Lychee's RandomIDRule


class LycheeClient(LycheeHttp):
    """``LycheeHttp`` plus the albums, photos, uploads and edits the gallery uses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._paged: bool | None = None  # has the server v7.1's paged Album::photos? None: not known yet
        self._chunk_size: int | None = None

    # -- albums ------------------------------------------------------------------------------------

    def root_albums(self) -> dict[str, list[dict]]:
        """``GET /Albums``: the token user's own root albums (pinned ones included) and the shared ones.

        Lychee lists only root albums here (``app/Actions/Albums/Top.php``), without parents or children;
        with ``deduplicate_pinned_albums`` a pinned album is only under ``pinned_albums``.
        """
        body = self.call("GET", "Albums")
        if not isinstance(body, dict) or not isinstance(body.get("albums"), list):
            raise LycheeError(f"Lychee: GET {self.api}Albums did not answer with an 'albums' list")
        own: dict[str, dict] = {}
        for album in list(body.get("albums") or []) + list(body.get("pinned_albums") or []):
            if isinstance(album, dict) and album.get("id") and not album.get("is_tag_album"):
                own.setdefault(str(album["id"]), {**album, "parent_id": None})
        shared = [{**a, "parent_id": None} for a in body.get("shared_albums") or [] if isinstance(a, dict) and a.get("id")]
        return {"own": list(own.values()), "shared": shared}

    def album(self, album_id: str) -> dict:
        """One album's id, title and parent_id (raises LycheeNotFound when it is gone)."""
        if self._is_paged(album_id):
            body = self.call("GET", "Album::head", params={"album_id": album_id})
        else:
            body = self._legacy_album(album_id)
        resource = body.get("resource") if isinstance(body, dict) else None
        if not isinstance(resource, dict):
            raise LycheeError(f"Lychee: album {album_id} is not accessible to the token's user")
        return {"id": str(resource["id"]), "title": str(resource.get("title") or ""), "parent_id": resource.get("parent_id")}

    def child_albums(self, album_id: str) -> list[dict]:
        """The albums directly inside ``album_id``."""
        if self._is_paged(album_id):
            def fetch(page: int):
                body = self.call("GET", "Album::albums", params={"album_id": album_id, "page": page})
                return list(body.get("data") or []), int(body.get("last_page") or 1), int(body.get("total") or 0)
            children = collect_pages(fetch, f"the sub-albums of album {album_id}")
        else:
            children = list((self._legacy_album(album_id).get("resource") or {}).get("albums") or [])
        return [{**c, "parent_id": album_id} for c in children if isinstance(c, dict)]

    def create_album(self, title: str, parent_id: str | None) -> str:
        """A new album's id. Lychee answers 200 with the id as a raw text body, not JSON."""
        response = self.request("POST", "Album", json_body={"parent_id": parent_id, "title": fit_title(title)})
        check(response, "POST", "Album")
        text = response.text.strip()
        album_id = text.strip('"')
        if not ALBUM_ID.match(album_id):
            # Be lenient with a proxy or version that wraps it in JSON, but never guess an id.
            try:
                body = response.json()
            except ValueError:
                body = None
            album_id = body.get("id") if isinstance(body, dict) else body
        if not isinstance(album_id, str) or not ALBUM_ID.match(album_id):
            raise LycheeError(f"Lychee: creating album {title!r} answered {text[:120]!r}, not an album id")
        return album_id

    # -- photos ------------------------------------------------------------------------------------

    def album_photos(self, album_id: str) -> list[dict]:
        """Every photo of one album, each exactly once."""
        if self._is_paged(album_id):
            def fetch(page: int):
                body = self.call("GET", "Album::photos", params={"album_id": album_id, "page": page})
                if not isinstance(body, dict) or not isinstance(body.get("photos"), list):
                    raise LycheeError(f"Lychee: GET Album::photos of {album_id} answered no 'photos' list")
                return body["photos"], int(body.get("last_page") or 1), int(body.get("total") or len(body["photos"]))
            return collect_pages(fetch, f"album {album_id}")
        resource = self._legacy_album(album_id).get("resource")
        if not isinstance(resource, dict):
            raise LycheeError(f"Lychee: album {album_id} is not accessible to the token's user")
        return list(resource.get("photos") or [])

    def chunk_size(self) -> int:
        if self._chunk_size is None:
            body = self.call("GET", "Gallery::getUploadLimits", allow=(404, 405, 406))
            size = body.get("upload_chunk_size") if isinstance(body, dict) else None
            self._chunk_size = int(size) if size and int(size) > 0 else DEFAULT_CHUNK_SIZE
        return self._chunk_size

    def upload(self, album_id: str, data: bytes, file_name: str) -> UploadResult:
        return upload_chunks(self, album_id, data, file_name, self.chunk_size())

    def add_tags(self, photo_ids: list[str], tags: list[str]) -> None:
        self.call("PATCH", "Photo::tags", json_body={"photo_ids": photo_ids, "tags": tags, "shall_override": False})

    def rename(self, photo_id: str, title: str) -> None:
        self.call("PATCH", "Photo::rename", json_body={"photo_id": photo_id, "title": fit_title(title)})

    def update_photo(self, photo: dict, *, title: str, description: str, taken_at: str | None, tags: list[str],
                     album_id: str) -> dict:
        """``PATCH /Photo`` (EditPhotoRequest, the same from v6.10 to v7.7): title, description and taken_at.

        Lychee's rules make every field required or present, so the photo's own license, upload date
        and (all of its) tags are sent back as they are; ``taken_at`` None restores the date Lychee read
        from the file. The description is null or a non-empty string of at most 1000 bytes
        (DescriptionRule: PHP's strlen counts bytes), so a longer one is cut at a character boundary.
        """
        text = description.encode("utf-8")[:DESCRIPTION_MAX_BYTES].decode("utf-8", "ignore") or None
        return self.call("PATCH", "Photo", json_body={
            "photo_id": photo["id"],
            "title": fit_title(title),
            "description": text,
            "tags": tags,
            "license": photo.get("license") or "none",
            "upload_date": photo.get("created_at"),
            "taken_at": taken_at,
            "from_id": album_id,
        })

    def delete_photos(self, photo_ids: list[str], from_id: str) -> None:
        """Remove photos from album ``from_id``: one also linked into another album only loses this link."""
        self.call("DELETE", "Photo", json_body={"photo_ids": photo_ids, "from_id": from_id})

    # -- version detection -------------------------------------------------------------------------

    def _is_paged(self, album_id: str) -> bool:
        if self._paged is None:
            response = self.request("GET", "Album::photos", params={"album_id": album_id, "page": 1})
            if response.status_code == 200:
                self._paged = True
            elif response.status_code in (405, 406):
                self._paged = False  # the web catch-all of v6.x / v7.0 answering an unknown API path
            elif response.status_code == 404:
                # That album is gone, or a server (or proxy) answers unknown paths 404: the old route decides.
                legacy = self.request("GET", "Album", params={"album_id": album_id})
                if legacy.status_code == 200:
                    self._paged = False
                elif legacy.status_code in (405, 406):
                    self._paged = True  # GET /Album is gone (v7.4+): the album is what is missing
                if self._paged is None or self._paged:
                    check(response, "GET", f"Album::photos?album_id={album_id}")
            else:
                check(response, "GET", f"Album::photos?album_id={album_id}")
                raise LycheeError(f"Lychee: GET Album::photos answered {response.status_code}")
        return self._paged

    def _legacy_album(self, album_id: str) -> dict:
        response = self.request("GET", "Album", params={"album_id": album_id})
        if response.status_code in (405, 406):
            self._paged = None  # not an old server after all (GET /Album is gone from v7.4): ask again
            raise LycheeError(f"Lychee: GET Album answered {response.status_code}; detecting the API version again")
        check(response, "GET", f"Album?album_id={album_id}")
        body = decode_json(response, "GET", self.api + "Album")
        if not isinstance(body, dict):
            raise LycheeNotFound(f"Lychee: GET Album?album_id={album_id} answered {body!r}")
        return body
