"""A Lychee (v6.x/v7.x) server as the gallery: its albums are the inboxes, restorations go back into it.

Inboxes: by default every root album the token's user owns. ``inboxes`` can name root albums by title
(own or shared with the user) and any album, nested ones included, by its id: Lychee's ``GET /Albums``
lists only root albums, so a nested album can only be named by id.

Originals are only ever read; the one change made to an original is the ``processed`` tag, added once
its restoration is published. A restoration is recognised by its tags (``restored`` and
``restored-from:<original id>``), by living in a "<album> (restored)" album, by its title suffix, or
(an upload orphaned by a crash before tagging) by the mark its file name gave its first title; a
photo found by checksum after an upload is only taken as ours with proof (see ``ownership``).
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from restore_dagster.files import atomic_write_bytes, atomic_write_json, read_json
from restore_dagster.gallery import Gallery, GalleryUnavailable, Upload
from restore_dagster.lychee.client import ALBUM_ID, LycheeClient
from restore_dagster.lychee.errors import (LycheeAuthError, LycheeDuplicate, LycheeError, LycheeNotFound,
                                           LycheePending, LycheeUnavailable)
from restore_dagster.lychee.naming import fit_title, size_in_bytes, tag_names, upload_file_name
from restore_dagster.lychee.upload import UploadResult
from restore_dagster.lychee.ownership import (PROCESSED_TAG, RESTORED_FROM_TAG, RESTORED_TAG, checksums,
                                              identify_upload, is_restoration, restorations_of, upload_mark)
from restore_dagster.lychee.pending import PendingUploads

_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class LycheeUpload(Upload):
    """An upload in Lychee: its identity for change detection is the stored file's SHA-1."""

    checksum: str = ""

    @property
    def signature(self) -> str:
        # Lychee keeps the photo id when a photo is replaced, and its dates say little; the checksum
        # changes exactly when the bytes do, so a replaced scan is re-restored and nothing else is.
        return f"sha1:{self.checksum}"


class LycheeGallery(Gallery):
    """Scans uploaded to Lychee albums restored back into Lychee.

    ``destination="sibling"`` publishes into "<album><restored_suffix>" beside the original album,
    ``"same"`` into the original's album. ``cache_dir`` holds downloaded originals, album ids and
    uploads still in Lychee's processing queue. ``ready_wait`` is how long a publish waits for a queued
    upload to appear before it fails with ``LycheePending`` (the next attempt finds it, no re-upload);
    ``pending_timeout`` is when a queued upload that never appeared is uploaded again.
    """

    def __init__(self, base_url: str, token: str, *, cache_dir: Path, inboxes: list[str] | None = None,
                 destination: str = "sibling", restored_suffix: str = " (restored)", timeout: float = 30,
                 retries: int = 4, backoff: float = 0.5, ready_wait: float = 60, ready_poll: float = 1,
                 pending_timeout: float = 3600, client: LycheeClient | None = None):
        if destination not in ("sibling", "same"):
            raise ValueError(f"Lychee: destination must be 'sibling' or 'same', not {destination!r}")
        if not restored_suffix.strip():
            raise ValueError("Lychee: restored_suffix must not be blank (it tells restorations from uploads)")
        self.client = client or LycheeClient(base_url, token, timeout=timeout, retries=retries, backoff=backoff)
        self.cache_dir = Path(cache_dir)
        self.inboxes = None if inboxes is None else [str(i) for i in inboxes]
        self.destination = destination
        self.suffix = restored_suffix
        self.ready_wait = ready_wait
        self.ready_poll = ready_poll
        self.pending = PendingUploads(self.cache_dir / "pending_uploads.json", pending_timeout)
        self._roots: dict[str, list[dict]] | None = None
        self._photos: dict[str, tuple[dict, dict]] = {}  # photo id -> (photo, album), from the last listing
        # source -> (restoration, album id, title, tags) of the last publish, for describe_published
        self._published: dict[str, tuple[dict, str, str, list[str]]] = {}

    # -- reading -----------------------------------------------------------------------------------

    def list_uploads(self) -> list[Upload]:
        try:
            uploads, seen = [], set()
            # Our uploads not yet tagged (queued, or orphaned by a crash) whose title a file's own
            # IPTC/XMP title replaced, so no mark tells them apart: their bytes do.
            pending = self.pending.digests()
            for album in self._inbox_albums(refresh=True):
                for photo in self.client.album_photos(album["id"]):
                    # A photo linked into two inboxes is one scan: the first album listed keeps it.
                    if is_restoration(photo, self.suffix) or photo["id"] in seen or checksums(photo) & pending:
                        continue
                    seen.add(photo["id"])
                    self._photos[photo["id"]] = (photo, album)
                    uploads.append(self._upload_entry(photo, album))
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
            raise LycheeError(f"Lychee: photo {source} has no original size variant URL (the token's user may not "
                              "have full-photo access to its album)")
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

    def publish(self, source: str, data: bytes, extension: str, download: bytes | None = None) -> str:
        if download is not None and extension.lower().lstrip(".") == "avif":
            # Lychee takes AVIF only from v7.0 (LycheeOrg/Lychee#3893, FileExtensionService) and its
            # thumbnails then need AVIF in the server's GD or Imagick; Lychee's own download button
            # serves the uploaded file. The JPEG works on every version and in every program.
            data, extension = download, "jpg"
        photo, album = self._find(source)
        target = self._destination_album(album)
        digest = hashlib.sha1(data).hexdigest()
        title = fit_title(_title(photo), self.suffix)
        ext = "." + re.sub(r"[^a-z0-9]", "", extension.lower()).strip(".")

        in_target = self.client.album_photos(target)
        previous = restorations_of(source, in_target)
        # Identical bytes already published (a re-publish, or a crash before the tags went on): reuse them.
        keep = next((p for p in previous if digest in checksums(p)), None)
        if keep is None:
            keep = self._queued_upload(source, digest, target, in_target)
        if keep is None:
            keep = self._upload(source, target, data, ext, title, in_target, digest)
        tags = [RESTORED_TAG, RESTORED_FROM_TAG + source]
        if not set(tags) <= set(tag_names(keep)):
            self.client.add_tags([keep["id"]], tags)
        if keep.get("title") != title:
            self.client.rename(keep["id"], title)
        self.pending.forget(source)
        self._published[source] = (keep, target, title, [*dict.fromkeys([*tag_names(keep), *tags])])
        # Only now that the new one is complete: an old restoration (or duplicate) goes, from this album only.
        stale = [p["id"] for p in previous if p["id"] != keep["id"]]
        if stale:
            self.client.delete_photos(stale, target)
        if PROCESSED_TAG not in tag_names(photo):
            self.client.add_tags([source], [PROCESSED_TAG])
        return f"lychee:{keep['id']}"

    def describe_published(self, source: str, location: str, description) -> None:
        """Lychee's own title, description and taken_at of the restoration (``PATCH /Photo``).

        The title stays "<photo> (restored)" (it tells restorations from uploads); the caption, the
        place, the names and a date Lychee's taken_at cannot hold ("about 1960", "1960s") go into the
        description, which Lychee shows and searches. Only called for a described photo: a changed
        description changes the file, so an undescribed restoration is always a fresh upload.
        """
        published = self._published.get(source)
        if published is None or description.is_empty() or f"lychee:{published[0]['id']}" != location:
            return
        photo, album_id, title, tags = published
        when = description.photo_date
        self.client.update_photo(photo, title=title, description=lychee_description(description, when),
                                 taken_at=when.iso_datetime if when else None, tags=tags, album_id=album_id)

    def published_location(self, source: str) -> str | None:
        _, album = self._find(source)
        target = self._destination_album(album, create=False)
        if target is None:
            return None
        tag = RESTORED_FROM_TAG + source
        found = [p for p in self.client.album_photos(target) if tag in tag_names(p)]
        return f"lychee:{found[0]['id']}" if found else None

    # -- uploading ---------------------------------------------------------------------------------

    def _upload(self, source: str, target: str, data: bytes, ext: str, title: str, before: list[dict],
                digest: str) -> dict:
        self.pending.start(source, digest, target, [p["id"] for p in before])
        name = upload_file_name(upload_mark(source), title[: -len(self.suffix)] if title.endswith(self.suffix) else title, ext)
        result = self.client.upload(target, data, name)
        if result.stage == "skipped":
            self.pending.forget(source)
            raise LycheeDuplicate(
                f"Lychee: the restoration of {source} is byte-identical to a photo Lychee already holds, and the "
                "server skips duplicates (409): there is no separate restoration to publish")
        self.pending.uploaded(source, result)
        try:
            return self._await_upload(source, digest, target, {p["id"] for p in before}, result)
        except LycheeDuplicate:
            self.pending.forget(source)  # nothing of ours will appear: these bytes are someone else's photo
            raise

    def _queued_upload(self, source: str, digest: str, target: str, in_target: list[dict]) -> dict | None:
        """The photo of an earlier upload of these bytes that Lychee had queued, if it has appeared.

        Raises ``LycheePending`` while a recent one has not appeared yet: uploading again would
        publish it twice once Lychee's queue gets to both.
        """
        record = self.pending.get(source, digest, target)
        if record is None:
            return None
        try:
            found = identify_upload(source, digest, in_target, record.before, record.result)
        except LycheeDuplicate:
            self.pending.forget(source)
            raise
        if found is not None:
            return found
        if record.result is None or record.result.stage != "ready" or self.pending.expired(record):
            # Never queued (the upload broke off, or was processed at once and is not there),
            # or queued and never appeared (a failed job): upload again.
            return None
        raise LycheePending(f"Lychee: the restoration of {source} is in Lychee's processing queue and has not "
                            f"appeared in album {target} yet; it will be picked up, not uploaded again")

    def _await_upload(self, source: str, digest: str, target: str, before: set[str], result: UploadResult) -> dict:
        deadline = time.monotonic() + (self.ready_wait if result.stage == "ready" else 0)
        while True:
            found = identify_upload(source, digest, self.client.album_photos(target), before, result)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                break
            self.client.sleep(self.ready_poll)
        if result.stage == "ready":
            raise LycheePending(f"Lychee: the restoration of {source} was queued for processing (stage 'ready') and "
                                f"did not appear in album {target} within {self.ready_wait:g}s; the next attempt "
                                "picks it up without uploading again")
        raise LycheeError(f"Lychee: uploaded the restoration of {source} into album {target} but found no photo "
                          f"with its SHA-1 {digest} there")

    # -- helpers -----------------------------------------------------------------------------------

    def _root_albums(self, refresh: bool = False) -> dict[str, list[dict]]:
        if self._roots is None or refresh:
            self._roots = self.client.root_albums()
        return self._roots

    def _inbox_albums(self, refresh: bool = False) -> list[dict]:
        roots = self._root_albums(refresh)
        own = [a for a in roots["own"] if not str(a.get("title", "")).endswith(self.suffix)]
        if self.inboxes is None:
            return own
        found: dict[str, dict] = {}
        for name in self.inboxes:
            matches = [a for a in own + roots["shared"] if a.get("title") == name or a.get("id") == name]
            if not matches and ALBUM_ID.match(name):
                try:
                    matches = [self.client.album(name)]  # an album id, a nested album's included
                except LycheeNotFound:
                    continue  # neither a root album's title nor an album id (yet): nothing to watch there
            for album in matches:
                found.setdefault(album["id"], album)
        return list(found.values())

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
        title = fit_title(str(album.get("title") or album["id"]), self.suffix)
        parent = album.get("parent_id")
        known_path = self.cache_dir / "restored_albums.json"
        known = read_json(known_path, default=None) or {}
        siblings = self._root_albums()["own"] if parent is None else self.client.child_albums(parent)
        match = next((a["id"] for a in siblings if a.get("title") == title), None)
        if match is None and known.get(album["id"]):
            # Created earlier but not listed (Lychee can cache album listings): trust our record if it still exists.
            try:
                match = self.client.album(known[album["id"]])["id"]
            except LycheeNotFound:
                match = None
        if match is None and not create:
            return None
        if match is None:
            match = self.client.create_album(title, parent)
            self._roots = None
        if known.get(album["id"]) != match:
            atomic_write_json(known_path, {**known, album["id"]: match})
        return match

    def _upload_entry(self, photo: dict, album: dict) -> LycheeUpload:
        checksum = photo.get("checksum") or ""
        if not checksum:
            raise LycheeError(f"Lychee: photo {photo.get('id')} has no checksum; cannot tell when it is replaced")
        title = _title(photo)
        ext = _extension(photo)
        name = title if title.lower().endswith(ext) else title + ext
        size = size_in_bytes(((photo.get("size_variants") or {}).get("original") or {}).get("filesize"))
        return LycheeUpload(photo["id"], str(album.get("title") or album["id"]), name, size, 0, checksum)


def lychee_description(description, when) -> str:
    """The text of Lychee's description field: the caption, then the place, names and a vague date."""
    lines = [description.caption] if description.caption else []
    if when is not None and (when.approximate or when.precision == "decade"):
        lines.append(f"📅 {when.text}")
    if description.place:
        lines.append(f"📍 {description.place}")
    if description.people:
        lines.append("👥 " + ", ".join(description.people))
    return "\n".join(lines)  # the client cuts it to Lychee's 1000 bytes


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
