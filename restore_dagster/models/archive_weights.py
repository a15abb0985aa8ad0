"""Checkpoints shipped only inside an official zip, with no published checksum: trust on first use.

The scratch detector (BOPBTL's ``global_checkpoints.zip``) and the LaMa inpainter (``big-lama.zip``)
are released as archives whose size and SHA-256 are published nowhere. So the managed cache
``<cache_dir>/<name>`` is filled by downloading the archive (mirrors in order, streamed with a
progress bar to a temp file in the cache), reading the ONE member needed into a second temp file
(never ``extractall``: the member's name is only matched, never used as a path, so a hostile archive
cannot write anywhere), fsyncing it and renaming it into place, and deleting the archive. The size and
SHA-256 of that first extracted file are pinned in ``<name>.pin.json``; every later use checks the file
against the pin, so a file changed afterwards (corruption, a swapped file) is refused, not used.

A file the user puts at ``<cache_dir>/<name>`` by hand is pinned on its first use the same way.
This module never imports Dagster; locking, hashing and atomic writes are weights_cache.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from restore_dagster.models import weight_pins
from restore_dagster.models import weights_cache as _w
from restore_dagster.models.weight_pins import PinError, pin_path, read_pin, write_pin

logger = logging.getLogger(__name__)

_GiB = 1 << 30


@dataclass(frozen=True)
class ArchiveWeights:
    """One checkpoint inside an official zip. ``member`` is the path in the zip; any member whose path
    ends with ``member_suffix`` is accepted too (the archive's top folder is not known for certain)."""

    name: str
    archive: str
    member: str
    member_suffix: str
    urls: tuple[str, ...]
    env_var: str
    max_archive_bytes: int  # a bigger download is refused (a wrong URL or a hostile server)
    max_member_bytes: int  # and so is a bigger member (a zip bomb)


ARCHIVE_WEIGHTS: dict[str, ArchiveWeights] = {
    # BOPBTL README: "unzip global_checkpoints.zip" inside Global/, and detection.py:91 loads
    # checkpoints/detection/FT_Epoch_latest.pt from there, so the member is checkpoints/detection/...
    "scratch": ArchiveWeights(
        name="FT_Epoch_latest.pt",
        archive="global_checkpoints.zip",
        member="checkpoints/detection/FT_Epoch_latest.pt",
        member_suffix="detection/FT_Epoch_latest.pt",
        urls=(
            "https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life/releases/download/v1.0/"
            "global_checkpoints.zip",
            "https://facevc.blob.core.windows.net/zhanbo/old_photo/pretrain/Global/checkpoints.zip",
        ),
        env_var="RESTORE_SCRATCH_WEIGHTS",
        max_archive_bytes=8 * _GiB,
        max_member_bytes=2 * _GiB,
    ),
    "lama": ArchiveWeights(
        name="best.ckpt",  # its own name, as the repair stage's messages show it
        archive="big-lama.zip",
        member="big-lama/models/best.ckpt",
        member_suffix="models/best.ckpt",
        urls=("https://huggingface.co/smartywu/big-lama/resolve/main/big-lama.zip",),
        env_var="RESTORE_LAMA_WEIGHTS",
        max_archive_bytes=4 * _GiB,
        max_member_bytes=2 * _GiB,
    ),
}


class ArchiveWeightsMissingError(_w.WeightsMissingError):
    """The checkpoint is not in the cache and could not be downloaded; the message says how to fix it."""

    def __init__(self, spec: ArchiveWeights, path: Path, attempts: Sequence[tuple[str, str]] = (),
                 *, urls: Sequence[str] = (), note: str | None = None) -> None:
        self.spec = spec
        placeholder = _w.WeightsFile(name=spec.name, size=0, sha256="", urls=tuple(urls))
        super().__init__(placeholder, path, attempts, urls=urls, note=note, env_var=spec.env_var)

    def _message(self) -> str:
        s = self.spec
        lines = [f"Model weights {s.name} are not available.", f"  expected at: {self.path}"]
        if self.note:
            lines.append(self.note)
        if self.attempts:
            lines.append(f"Tried downloading {s.archive}:")
            lines += [f"  - {url}: {reason}" for url, reason in self.attempts]
        else:
            lines.append(f"It is inside {s.archive}, downloadable from:")
            lines += [f"  - {url}" for url in self.urls]
        lines += [
            f"To fix: download {s.archive} yourself, take {s.member} out of it and put it at exactly",
            f"  {self.path}",
            "(its size and SHA-256 are recorded on first use and checked afterwards), or set "
            f"{s.env_var} to the path of that file or of a compatible checkpoint of your own.",
        ]
        return "\n".join(lines)


class ArchiveWeightsChecksumError(_w.WeightsChecksumError):
    """The cached checkpoint no longer matches the size/SHA-256 pinned at its first download."""

    def __init__(self, spec: ArchiveWeights, path: Path, problem: str, pin: Path) -> None:
        self.spec = spec
        self.pin = pin
        self.problem = problem
        self.set_aside = path  # nothing is moved: the user decides which file is right
        placeholder = _w.WeightsFile(name=spec.name, size=0, sha256="", urls=spec.urls)
        _w.WeightsMissingError.__init__(self, placeholder, path, urls=spec.urls, env_var=spec.env_var)

    def _message(self) -> str:
        s = self.spec
        return "\n".join([
            f"Model weights {s.name} at {self.path} changed since they were first downloaded and pinned: "
            f"{self.problem} (pin: {self.pin}).",
            "To fix: if the file was damaged, delete it and its pin file and it is downloaded again on next "
            f"use; if you replaced it on purpose, delete only {self.pin.name} to pin the new file; or set "
            f"{s.env_var} to a checkpoint of your own (used as is).",
        ])


class _ArchiveFailure(_w._MirrorFailure):
    """One URL did not yield a usable archive/member; the reason goes into the error message."""


def _read_pin(path: Path, spec: ArchiveWeights) -> dict | None:
    try:
        return read_pin(path)
    except PinError as e:
        raise ArchiveWeightsChecksumError(spec, path, str(e), pin_path(path)) from e


def pinned_problem(path: Path, spec: ArchiveWeights) -> str | None:
    """None when ``path`` matches its pin (pinning it now if it has none); else what differs."""
    try:
        return weight_pins.pinned_problem(path)
    except PinError as e:
        raise ArchiveWeightsChecksumError(spec, path, str(e), pin_path(path)) from e


def resolve_archive_weights(kind: str, cache_dir: str | os.PathLike[str], explicit_path=None,
                            download: bool = True, progress: bool = True, urls: Sequence[str] | None = None,
                            timeout: float = 30) -> Path:
    """The path of the ``kind`` checkpoint ("scratch", "lama"): explicit path / env var, else the cache."""
    spec = ARCHIVE_WEIGHTS[kind]
    if explicit_path is not None:
        return _w._checked_explicit_path(explicit_path, "explicit_path argument")
    if os.environ.get(spec.env_var):
        return _w._checked_explicit_path(os.environ[spec.env_var], f"environment variable {spec.env_var}")
    mirrors = tuple(spec.urls if urls is None else urls)
    cache = Path(cache_dir).expanduser()
    path = cache / spec.name
    if not path.exists() and not download:
        raise ArchiveWeightsMissingError(spec, path, urls=mirrors, note="Downloading is disabled (download=False).")
    cache.mkdir(parents=True, exist_ok=True)
    with _w._cache_lock(cache):  # one download at a time; a waiting process then finds the file
        if path.exists():
            problem = pinned_problem(path, spec)
            if problem is not None:
                raise ArchiveWeightsChecksumError(spec, path, problem, pin_path(path))
            return path
        if not download:
            raise ArchiveWeightsMissingError(spec, path, urls=mirrors, note="Downloading is disabled (download=False).")
        _w._remove_stale_partials(cache, spec.name)
        attempts: list[tuple[str, str]] = []
        for url in mirrors:
            try:
                _fetch_member(url, spec, path, progress=progress, timeout=timeout)
            except _w._MirrorFailure as e:  # the download's, or the archive's (_ArchiveFailure)
                logger.warning("download of %s from %s failed: %s", spec.archive, url, e)
                attempts.append((url, str(e)))
                continue
            return path
        raise ArchiveWeightsMissingError(spec, path, attempts, urls=mirrors)


def _fetch_member(url: str, spec: ArchiveWeights, path: Path, *, progress: bool, timeout: float) -> None:
    """Download the archive from ``url``, extract the member to ``path`` atomically and pin it."""
    prefix = _w._partial_prefix(spec.name)
    fd, zip_name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".zip.part")
    zip_tmp = Path(zip_name)
    member_tmp: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            _stream_archive(url, spec, out, progress=progress, timeout=timeout)
        fd2, member_name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".part")
        member_tmp = Path(member_name)
        with os.fdopen(fd2, "wb") as out:
            size, digest = _extract_member(zip_tmp, spec, out)
            out.flush()
            os.fsync(out.fileno())
        pin = _read_pin(path, spec)  # a pin left from an earlier download (the file was deleted): must match
        if pin is not None and (pin["size"], pin["sha256"]) != (size, digest):
            raise _ArchiveFailure(f"{spec.member} in it has {size:,} bytes, sha256 {digest}, but "
                                  f"{pin_path(path)} pinned {pin['size']:,} bytes, sha256 {pin['sha256']}")
        if pin is None:
            write_pin(path, size, digest, url)
        os.replace(member_tmp, path)
        member_tmp = None
        _w._fsync_dir(path.parent)
        _w._remember_digest(path, digest)
        logger.info("extracted %s from %s (%s): %d bytes, sha256 %s pinned", path, spec.archive, url, size, digest)
    except _w._LocalWriteError as e:
        raise _w._local_write_failure(e, spec.archive, zip_tmp) from e.__cause__
    finally:
        for leftover in (zip_tmp, member_tmp):
            if leftover is not None:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


def _stream_archive(url: str, spec: ArchiveWeights, out, *, progress: bool, timeout: float) -> None:
    """The archive from ``url`` into ``out``: weights_cache.py's streamer, with a size limit instead of a known size."""
    _w._stream(url, out, desc=_w._bar_label(spec.archive, url), limit=spec.max_archive_bytes,
               progress=progress, timeout=timeout)


def _safe_member_name(name: str) -> bool:
    """A plain relative path: no absolute path, drive, backslash or ``..`` part (such a member is
    hostile or broken; it is never used as a path here, but it must not be taken for the checkpoint)."""
    if not name or name.startswith("/") or "\\" in name or ":" in name:
        return False
    return ".." not in PurePosixPath(name).parts


def _choose_member(names: Sequence[str], spec: ArchiveWeights) -> str:
    safe = [n for n in names if _safe_member_name(n)]
    if spec.member in safe:
        return spec.member
    matches = [n for n in safe if n == spec.member_suffix or n.endswith("/" + spec.member_suffix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _ArchiveFailure(f"the archive has no member {spec.member} (nor any ending in {spec.member_suffix})")
    raise _ArchiveFailure(f"the archive has several members ending in {spec.member_suffix}: {', '.join(matches)}")


def _extract_member(zip_path: Path, spec: ArchiveWeights, out) -> tuple[int, str]:
    """Copy the member's bytes into ``out`` (size-limited, hashed); returns (size, sha256)."""
    hasher = hashlib.sha256()
    size = 0
    try:
        with zipfile.ZipFile(zip_path) as archive:
            info = archive.getinfo(_choose_member(archive.namelist(), spec))
            if info.file_size > spec.max_member_bytes:
                raise _ArchiveFailure(f"{info.filename} is {info.file_size:,} bytes, over the "
                                      f"{spec.max_member_bytes:,} limit")
            with archive.open(info) as member:  # zipfile checks the CRC at the end
                while chunk := member.read(_w._CHUNK_BYTES):
                    size += len(chunk)
                    if size > spec.max_member_bytes:  # the header can lie about the size
                        raise _ArchiveFailure(f"{info.filename} inflates past the {spec.max_member_bytes:,} limit")
                    hasher.update(chunk)
                    out.write(chunk)
    except zipfile.BadZipFile as e:
        raise _ArchiveFailure(f"not a valid zip archive: {e}") from e
    except (EOFError, zlib.error) as e:
        raise _ArchiveFailure(f"corrupt zip archive: {type(e).__name__}: {e}") from e
    if size == 0:
        raise _ArchiveFailure(f"{spec.member} in the archive is empty")
    return size, hasher.hexdigest()


def archive_weights_status(cache_dir: str | os.PathLike[str], environ=None) -> list[dict[str, object]]:
    """weights_status rows for the archive kinds. Never downloads; pins a hand-placed file (first use)."""
    env = os.environ if environ is None else environ
    cache = Path(cache_dir).expanduser()
    rows = []
    for kind, spec in ARCHIVE_WEIGHTS.items():
        path = cache / spec.name
        present = path.exists()
        problem = None
        pin = None
        if present:
            try:
                problem = pinned_problem(path, spec)
                pin = _read_pin(path, spec)
            except _w.WeightsError as e:
                problem = str(e).splitlines()[0]
            except OSError as e:
                problem = f"cannot be read: {e.strerror or e}"
        rows.append({
            "kind": kind, "name": spec.name, "path": str(path), "present": present,
            "verified": present and problem is None, "problem": problem,
            "size": path.stat().st_size if present else None,
            "expected_size": pin["size"] if pin else None,
            "sha256": pin["sha256"] if pin else None,
            "urls": list(spec.urls), "archive": spec.archive, "member": spec.member,
            "env_var": spec.env_var, "explicit_path": env.get(spec.env_var) or None,
        })
    return rows
