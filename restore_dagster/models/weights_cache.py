"""The weights cache's machinery, shared by every kind of checkpoint: the errors that tell a family
how to fix a missing or wrong file, the SHA-256 sidecar that spares re-hashing, the cross-process
lock, atomic writes, stale partial downloads, and the one HTTP streamer (urllib, size-checked).

weights.py (DeOldify's verified files), archive_weights.py (checkpoints inside official zips) and
pinned_weights.py (plain files pinned on first download) build on it; it imports none of them.
This module never imports Dagster.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

# The cross-process download lock is POSIX only; without it concurrent downloads stay correct, just redundant.
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("restore_dagster.models.weights")  # one logger name for the cache, as before

_CHUNK_BYTES = 1 << 20
_USER_AGENT = "restore_dagster-weights/0.1 (+urllib)"
# A temp download not written to for this long belongs to a process that died (SIGKILL, power loss);
# a live download touches its temp file every chunk, and a stalled one times out long before this.
_STALE_PARTIAL_SECONDS = 3600.0
@dataclass(frozen=True)
class WeightsFile:
    """One checkpoint file: its name in the cache, exact size in bytes, SHA-256 and mirrors in order."""

    name: str
    size: int
    sha256: str
    urls: tuple[str, ...]


class WeightsError(RuntimeError):
    """Base class: the weights needed for a model cannot be used.

    ``missing`` is True when the weights are simply not there (nothing at the path, and no download
    possible): a pipeline may then go on without the model and redo the step once they appear. It is
    False when something is there but unusable (a wrong or corrupt file, a folder, no permission):
    that needs the user's attention and must fail loudly.
    """

    missing: bool = False


class WeightsPathError(WeightsError):
    """An explicit weights path (argument or environment variable) is not a readable file."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # nothing at all at the path (vs. a folder or an unreadable file)


class WeightsMissingError(WeightsError):
    """The managed weights file is not in the cache and could not be downloaded.

    The message says everything needed to fix it by hand: the file's name, size and SHA-256, every URL
    tried with the reason it failed, the exact path to put the file at, and the environment variables
    that point at a checkpoint of one's own instead.
    """

    missing = True

    def __init__(
        self,
        weights: WeightsFile,
        path: Path,
        attempts: Sequence[tuple[str, str]] = (),
        *,
        urls: Sequence[str] = (),
        note: str | None = None,
        env_var: str | None = None,
    ) -> None:
        self.weights = weights
        self.path = path
        self.attempts = tuple(attempts)
        self.urls = tuple(urls)
        self.note = note
        self.env_var = env_var
        super().__init__(self._message())

    def _headline(self) -> str:
        return f"Model weights {self.weights.name} are not available."

    def _message(self) -> str:
        w = self.weights
        lines = [
            self._headline(),
            f"  expected at: {self.path}",
            f"  size:        {_human_size(w.size)} ({w.size:,} bytes)",
            f"  sha256:      {w.sha256}",
        ]
        if self.note:
            lines.append(self.note)
        if self.attempts:
            lines.append("Tried:")
            lines += [f"  - {url}: {reason}" for url, reason in self.attempts]
        elif self.urls:
            lines.append("It can be downloaded from:")
            lines += [f"  - {url}" for url in self.urls]
        else:
            lines.append("No download URL is configured for it.")
        own = f"set {self.env_var} to" if self.env_var else "pass explicit_path= with"
        where = " from a URL above" if self.attempts or self.urls else ""
        lines += [
            f"To fix: download it yourself{where} and put it at exactly",
            f"  {self.path}",
            f"(it is checked against the size and SHA-256 above on first use), or {own} the path of a "
            "compatible checkpoint of your own (used as is, without a checksum).",
        ]
        return "\n".join(lines)


class WeightsChecksumError(WeightsMissingError):
    """A file under the managed name was not the expected one, and no good copy could be obtained.

    It subclasses WeightsMissingError because the outcome is the same (the right file is missing);
    ``set_aside`` is where the wrong file was moved, so nothing the user placed is ever deleted.
    It is not ``missing`` for the pipeline, though: a wrong file was there, which the user must look at.
    """

    missing = False

    def __init__(
        self,
        weights: WeightsFile,
        path: Path,
        problem: str,
        set_aside: Path,
        attempts: Sequence[tuple[str, str]] = (),
        *,
        urls: Sequence[str] = (),
        note: str | None = None,
        env_var: str | None = None,
    ) -> None:
        self.problem = problem
        self.set_aside = set_aside
        found = f"The file found there was not the expected one ({problem}); it was moved to {set_aside}."
        note = found if note is None else f"{found}\n{note}"
        super().__init__(weights, path, attempts, urls=urls, note=note, env_var=env_var)

    def _headline(self) -> str:
        return f"Model weights {self.weights.name} failed verification and no good copy could be obtained."


class _MirrorFailure(Exception):
    """One URL did not yield the expected file; the reason goes into WeightsMissingError."""


class _LocalWriteError(Exception):
    """Writing the download to disk failed (disk full, ...): no other mirror can help, so stop."""


# ----------------------------------------------------------------------------------------------------
# Hashing


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Lower-case hex SHA-256 of a file, read in chunks (constant memory for any size)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected: str) -> bool:
    """True when the file's SHA-256 equals ``expected`` (hex, any case)."""
    return sha256_file(path) == expected.strip().lower()


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _stat_key(st: os.stat_result) -> dict[str, int]:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _remembered_digest(path: Path, st: os.stat_result) -> str | None:
    """The digest recorded for this exact file (same size, mtime and inode), or None."""
    try:
        record = json.loads(_sidecar_path(path).read_text(encoding="utf-8"))
        if all(record.get(k) == v for k, v in _stat_key(st).items()):
            digest = record.get("sha256")
            return digest if isinstance(digest, str) else None
    except (OSError, ValueError, AttributeError):
        pass  # absent, unreadable or not ours: simply hash again
    return None


def _remember_digest(path: Path, digest: str) -> None:
    """Record a verified digest. Best effort: a read-only cache only costs a re-hash next time."""
    sidecar = _sidecar_path(path)
    try:
        record = {"name": path.name, **_stat_key(path.stat()), "sha256": digest}
        _atomic_write_text(sidecar, json.dumps(record, indent=1) + "\n")
    except OSError as e:
        logger.debug("could not record the verified digest of %s in %s: %s", path, sidecar, e)


def _forget_digest(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _sidecar_path(path).unlink()


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _checked_explicit_path(explicit_path: str | os.PathLike[str], source: str) -> Path:
    path = Path(explicit_path).expanduser()
    if not path.exists():
        raise WeightsPathError(f"Weights file {path} (from {source}) does not exist.", missing=True)
    if not path.is_file():
        raise WeightsPathError(f"Weights file {path} (from {source}) is not a regular file.")
    try:  # os.access lies for root and some ACLs; opening is the real test
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        reason = e.strerror or e
        raise WeightsPathError(f"Weights file {path} (from {source}) cannot be read: {reason}.") from e
    return path


def _set_aside(path: Path, problem: str) -> Path:
    """Rename a wrong file to ``<name>.corrupt`` (``.corrupt.1``, ... if taken): the user decides."""
    target = path.with_name(path.name + ".corrupt")
    n = 0
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt.{n}")
    os.rename(path, target)
    _forget_digest(path)
    logger.warning("%s is not the expected file (%s); moved it to %s", path, problem, target)
    return target


def _partial_prefix(name: str) -> str:
    return f".{name}."


def _remove_stale_partials(cache: Path, name: str) -> None:
    """Remove temp downloads left by a process that was killed before its cleanup could run."""
    cutoff = time.time() - _STALE_PARTIAL_SECONDS
    for leftover in cache.glob(f"{_partial_prefix(name)}*.part"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                logger.info("removed stale partial download %s", leftover)


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache directory, so parallel runs download a file only once.

    Locking the directory itself (flock on its descriptor) leaves no lock file behind. Without fcntl
    (Windows) there is no lock; correctness never depends on it, since every write is an atomic rename.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(cache, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ----------------------------------------------------------------------------------------------------
# Downloading


def _local_write_failure(error: _LocalWriteError, what: str, tmp: Path) -> OSError:
    """The OSError to report when the download of ``what`` could not be written here (no mirror helps)."""
    cause = error.__cause__
    return OSError(cause.errno, f"cannot write the download of {what} to {tmp}: {cause.strerror or cause}")


def _stream(url: str, out: BinaryIO, *, desc: str, progress: bool, timeout: float,
            size: int | None = None, limit: int | None = None) -> str:
    """Copy the body of ``url`` into ``out`` while hashing it; returns the hex SHA-256.

    ``size``: the exact byte count the file must have (a published checkpoint); ``limit``: only a
    maximum, for a download whose size is published nowhere (an official zip). Everything that can go
    wrong with one mirror becomes a _MirrorFailure with a readable reason; a failure to write ``out``
    becomes a _LocalWriteError (no other mirror can help). http.client does not raise when a body is
    cut short, so the byte count is checked here.
    """
    hasher = hashlib.sha256()
    received = 0
    total: int | None = None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced is not None and announced.strip().isdigit() else None
            if total is not None and size is not None and total != size:
                raise _MirrorFailure(f"server announced {total:,} bytes, expected {size:,}")
            if total is not None and limit is not None and total > limit:
                raise _MirrorFailure(f"server announced {total:,} bytes, over the {limit:,} limit")
            with tqdm(total=size if size is not None else total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=desc, disable=not progress) as bar:
                while chunk := response.read(_CHUNK_BYTES):
                    received += len(chunk)
                    if size is not None and received > size:
                        raise _MirrorFailure(f"server sent more than the expected {size:,} bytes")
                    if limit is not None and received > limit:
                        raise _MirrorFailure(f"server sent more than the {limit:,} byte limit")
                    hasher.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as e:
                        raise _LocalWriteError(e) from e
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise _MirrorFailure(f"HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise _MirrorFailure(f"timed out after {timeout:g} s while connecting") from e
        raise _MirrorFailure(f"cannot connect: {e.reason}") from e
    except TimeoutError as e:
        raise _MirrorFailure(f"timed out after {timeout:g} s without data, after {received:,} bytes") from e
    except (OSError, http.client.HTTPException) as e:
        raise _MirrorFailure(f"connection failed after {received:,} bytes: {type(e).__name__}: {e}") from e
    except ValueError as e:  # malformed URL or unknown scheme
        raise _MirrorFailure(f"invalid URL: {e}") from e
    expected = size if size is not None else total
    if expected is not None and received < expected:
        raise _MirrorFailure(f"connection closed after {received:,} of {expected:,} bytes")
    return hasher.hexdigest()


def _bar_label(name: str, url: str) -> str:
    """The progress bar's label: what is downloaded, from which host."""
    return f"{name} from {urllib.parse.urlsplit(url).hostname or url}"


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable. Not every platform can open a directory; there it is skipped."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------------
# Reporting


def _human_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
