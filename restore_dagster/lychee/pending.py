"""Uploads Lychee has accepted but may not have turned into a photo yet, kept across runs.

With queue processing on, Lychee answers the last chunk "ready" and creates the photo later. Until it
appears, a second publish of the same bytes must not upload again (both would appear), and the facts
that prove the photo is ours (the album's photos before, the id promised, the server's clock at the
upload) must survive a crash or a new process.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from restore_dagster.files import atomic_write_json, read_json
from restore_dagster.lychee.upload import UploadResult


@dataclass(frozen=True)
class PendingUpload:
    digest: str
    album: str
    before: set[str]
    result: UploadResult | None
    started: float


class PendingUploads:
    def __init__(self, path: Path, timeout: float):
        self.path = Path(path)
        self.timeout = timeout

    def _load(self) -> dict:
        data = read_json(self.path, default=None)
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict) -> None:
        atomic_write_json(self.path, data)

    def start(self, source: str, digest: str, album: str, before: list[str]) -> None:
        self._save({**self._load(), source: {"digest": digest, "album": album, "before": sorted(before),
                                             "started": time.time(), "result": None}})

    def uploaded(self, source: str, result: UploadResult) -> None:
        data = self._load()
        if source in data:
            data[source]["result"] = {"stage": result.stage, "expected_id": result.expected_id,
                                      "server_started": result.server_started}
            self._save(data)

    def get(self, source: str, digest: str, album: str) -> PendingUpload | None:
        """The pending upload of exactly these bytes into ``album``, if one was started."""
        record = self._load().get(source)
        if not isinstance(record, dict) or record.get("digest") != digest or record.get("album") != album:
            return None
        raw = record.get("result")
        result = UploadResult(str(raw.get("stage")), raw.get("expected_id"), raw.get("server_started")) if isinstance(raw, dict) else None
        return PendingUpload(digest, album, set(record.get("before") or []), result, float(record.get("started") or 0))

    def digests(self) -> set[str]:
        """The SHA-1s of every upload not yet confirmed as published."""
        return {r["digest"] for r in self._load().values() if isinstance(r, dict) and r.get("digest")}

    def expired(self, record: PendingUpload) -> bool:
        return time.time() - record.started > self.timeout

    def forget(self, source: str) -> None:
        data = self._load()
        if source in data:
            del data[source]
            self._save(data)
