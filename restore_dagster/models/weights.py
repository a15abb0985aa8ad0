"""Where the DeOldify weights come from: an explicit file, or a verified, self-filling cache.

Two ways to get a checkpoint:

* An explicit path (argument, or ``RESTORE_DEOLDIFY_{ARTISTIC,STABLE}_WEIGHTS``) is the user's own
  file, e.g. fine-tuned weights. It is used as is; only its readability is checked.
* Otherwise the managed cache ``<cache_dir>/<official file name>``. A file there must be the official
  one (size and SHA-256). A missing file is downloaded from the mirrors in order, streamed to a temp
  file beside the target, verified, fsynced and atomically renamed into place, so a crash or a bad
  mirror never leaves a half-written or wrong file under the real name.

Hashing 874 MB takes seconds, so a successful verification is remembered in a ``<name>.sha256``
sidecar keyed on the file's size, mtime and inode; the file is re-hashed only when one of them changes.

Only the standard library does the HTTP (``urllib.request``), so there is no extra dependency.
This module never imports Dagster.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

# The cross-process download lock is POSIX only; without it concurrent downloads stay correct, just redundant.
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEOLDIFY_WEIGHTS",
    "WEIGHTS_ENV_VARS",
    "WeightsChecksumError",
    "WeightsError",
    "WeightsFile",
    "WeightsMissingError",
    "WeightsPathError",
    "resolve_weights",
    "sha256_file",
    "verify_sha256",
    "weights_status",
]

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_USER_AGENT = "restore_dagster-weights/0.1 (+urllib)"
# A temp download not written to for this long belongs to a process that died (SIGKILL, power loss);
# a live download touches its temp file every chunk, and a stalled one times out long before this.
_STALE_PARTIAL_SECONDS = 3600.0
_HF_MIRROR = "https://huggingface.co/spensercai/DeOldify/resolve/main/"


@dataclass(frozen=True)
class WeightsFile:
    """One checkpoint file: its name in the cache, exact size in bytes, SHA-256 and mirrors in order."""

    name: str
    size: int
    sha256: str
    urls: tuple[str, ...]


DEOLDIFY_WEIGHTS: dict[str, WeightsFile] = {
    "artistic": WeightsFile(
        name="ColorizeArtistic_gen.pth",
        size=255_144_681,
        sha256="3f750246fa220529323b85a8905f9b49c0e5d427099185334d048fb5b5e22477",
        urls=(
            "https://data.deepai.org/deoldify/ColorizeArtistic_gen.pth",
            _HF_MIRROR + "ColorizeArtistic_gen.pth",
        ),
    ),
    "stable": WeightsFile(
        name="ColorizeStable_gen.pth",
        size=874_066_230,
        sha256="ca9cd7f43fb8b222c9a70f7b292e305a000694b0ff9d2ae4a6747b1a2e1ee5af",
        urls=(
            "https://www.dropbox.com/s/axsd2g85uyixaho/ColorizeStable_gen.pth?dl=1",
            _HF_MIRROR + "ColorizeStable_gen.pth",
        ),
    ),
}

# The user's own checkpoint for a kind; consulted by resolve_weights when no explicit path is passed.
WEIGHTS_ENV_VARS: dict[str, str] = {
    "artistic": "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS",
    "stable": "RESTORE_DEOLDIFY_STABLE_WEIGHTS",
    # Checkpoints inside an official zip, pinned on first download (archive_weights.py).
    "scratch": "RESTORE_SCRATCH_WEIGHTS",
    "lama": "RESTORE_LAMA_WEIGHTS",
    # Plain files with no first-party checksum: size checked, hash pinned on first download (pinned_weights.py).
    "ddcolor": "RESTORE_DDCOLOR_WEIGHTS",
    "ddcolor-artistic": "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS",
    "ddcolor-tiny": "RESTORE_DDCOLOR_TINY_WEIGHTS",
}
# The kinds resolve_weights serves from an archive rather than from DEOLDIFY_WEIGHTS' verified files.
ARCHIVE_KINDS = ("scratch", "lama")
# The kinds it serves as pinned files (pinned_weights.PINNED_WEIGHTS).
PINNED_KINDS = ("ddcolor", "ddcolor-artistic", "ddcolor-tiny")


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


def _check_cached(path: Path, weights: WeightsFile) -> str | None:
    """None when ``path`` holds exactly ``weights``; otherwise what is wrong with it.

    Size first (free), then the remembered digest, then a full hash whose success is remembered.
    """
    st = path.stat()
    if st.st_size != weights.size:
        return f"size {st.st_size:,} bytes, expected {weights.size:,}"
    expected = weights.sha256.lower()
    digest = _remembered_digest(path, st)
    if digest is None:
        digest = sha256_file(path)
        if digest == expected:
            _remember_digest(path, digest)
    if digest != expected:
        return f"sha256 {digest}, expected {expected}"
    return None


# ----------------------------------------------------------------------------------------------------
# Resolving


def _lookup(kind: str | WeightsFile) -> tuple[WeightsFile, str | None]:
    if isinstance(kind, WeightsFile):
        return kind, None
    try:
        return DEOLDIFY_WEIGHTS[kind], WEIGHTS_ENV_VARS[kind]
    except KeyError:
        known = ", ".join(sorted(DEOLDIFY_WEIGHTS))
        raise ValueError(f"unknown DeOldify weights kind {kind!r}; expected one of: {known}") from None


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


def resolve_weights(
    kind: str | WeightsFile,
    cache_dir: str | os.PathLike[str],
    explicit_path: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
    urls: Sequence[str] | None = None,
    timeout: float = 30,
) -> Path:
    """The path of a usable weights file for ``kind`` ("artistic", "stable", or a WeightsFile).

    "scratch" and "lama" (``ARCHIVE_KINDS``) are served by archive_weights.resolve_archive_weights:
    same arguments and errors, but the cache is filled from a zip and verified against a pin.
    "ddcolor", "ddcolor-artistic" and "ddcolor-tiny" (``PINNED_KINDS``) by
    pinned_weights.resolve_pinned_weights: a plain download of a stated size, its hash pinned.

    ``explicit_path`` (or, for a named kind when it is None, the kind's environment variable in
    WEIGHTS_ENV_VARS) is returned as given once it is a readable file; it is not checksum-verified.
    Otherwise the verified file ``cache_dir/<name>`` is returned, downloading it first (mirrors in
    order, or ``urls`` instead) when it is missing and ``download`` is true. A wrong file found there
    is renamed to ``<name>.corrupt`` (never deleted) and replaced. ``timeout`` is in seconds per
    connection attempt and per stalled read, not for a whole download.

    Raises WeightsPathError for an unusable explicit path, WeightsMissingError when the file is absent
    and cannot be downloaded, WeightsChecksumError when a wrong file was found and no good one obtained.
    """
    if isinstance(kind, str) and kind in ARCHIVE_KINDS:  # no published checksum: trust on first use
        from restore_dagster.models.archive_weights import resolve_archive_weights

        return resolve_archive_weights(kind, cache_dir, explicit_path, download=download, progress=progress,
                                       urls=urls, timeout=timeout)
    if isinstance(kind, str) and kind in PINNED_KINDS:  # a third-party size to check, a hash to pin
        from restore_dagster.models.pinned_weights import resolve_pinned_weights

        return resolve_pinned_weights(kind, cache_dir, explicit_path, download=download, progress=progress,
                                      urls=urls, timeout=timeout)
    weights, env_var = _lookup(kind)
    if explicit_path is not None:
        return _checked_explicit_path(explicit_path, "explicit_path argument")
    if env_var and os.environ.get(env_var):
        return _checked_explicit_path(os.environ[env_var], f"environment variable {env_var}")

    mirrors = tuple(weights.urls if urls is None else urls)
    cache = Path(cache_dir).expanduser()
    path = cache / weights.name

    # Fast path, no lock: a file only ever appears under the real name by an atomic rename.
    first_look = _look(path, weights)
    if first_look is not None and first_look[1] is None:
        return path
    if first_look is None and not download:
        raise WeightsMissingError(
            weights, path, urls=mirrors, note="Downloading is disabled (download=False).", env_var=env_var
        )

    cache.mkdir(parents=True, exist_ok=True)
    with _cache_lock(cache):
        # Another process may have downloaded or set the file aside while we waited for the lock;
        # an unchanged file keeps the verdict of the first look instead of being hashed twice.
        look = _look(path, weights, previous=first_look)
        problem = set_aside = None
        if look is not None:
            problem = look[1]
            if problem is None:
                return path
            set_aside = _set_aside(path, problem)
        _remove_stale_partials(cache, weights.name)

        def failure(attempts: Sequence[tuple[str, str]] = (), note: str | None = None) -> WeightsMissingError:
            if set_aside is not None:
                return WeightsChecksumError(
                    weights, path, problem, set_aside, attempts, urls=mirrors, note=note, env_var=env_var
                )
            return WeightsMissingError(weights, path, attempts, urls=mirrors, note=note, env_var=env_var)

        if not download:
            raise failure(note="Downloading is disabled (download=False).")
        free = shutil.disk_usage(cache).free
        if free < weights.size:
            need, have = _human_size(weights.size), _human_size(free)
            raise failure(note=f"Nothing was downloaded: it needs {need} but {cache} has only {have} free.")

        attempts: list[tuple[str, str]] = []
        for url in mirrors:
            try:
                _download(url, weights, path, progress=progress, timeout=timeout)
            except _MirrorFailure as e:
                logger.warning("download of %s from %s failed: %s", weights.name, url, e)
                attempts.append((url, str(e)))
                continue
            logger.info("downloaded and verified %s from %s", path, url)
            return path
        raise failure(attempts)


def _look(
    path: Path, weights: WeightsFile, previous: tuple[dict[str, int], str | None] | None = None
) -> tuple[dict[str, int], str | None] | None:
    """None when nothing is at ``path``; else (its stat key, what is wrong with it or None).

    ``previous`` is an earlier look: when the file has not changed since, its verdict is reused.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = _stat_key(st)
    if previous is not None and previous[0] == key:
        return previous
    if not path.is_file():
        return key, "not a regular file"
    return key, _check_cached(path, weights)


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


def _download(url: str, weights: WeightsFile, path: Path, *, progress: bool, timeout: float) -> None:
    """Fetch ``url`` into ``path`` atomically, or raise _MirrorFailure leaving nothing behind."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_partial_prefix(weights.name), suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, desc=_bar_label(weights.name, url), size=weights.size,
                             progress=progress, timeout=timeout)
            out.flush()
            os.fsync(out.fileno())  # the bytes must be on disk before the name points at them
        if digest != weights.sha256.lower():
            raise _MirrorFailure(f"SHA-256 mismatch: got {digest}, expected {weights.sha256.lower()}")
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(e, _LocalWriteError):
            raise _local_write_failure(e, weights.name, tmp) from e.__cause__
        raise
    _remember_digest(path, digest)


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


def weights_status(
    cache_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> list[dict[str, object]]:
    """Per kind, what the cache holds, for ``restore-photos weights``. Never moves or downloads.

    One JSON-friendly dict per kind: kind, name, path (the expected cache path), present, verified,
    problem (why an existing file is not the official one, else None), size (bytes on disk, or None),
    expected_size, sha256 (expected), urls, env_var, explicit_path (that variable's value, or None).
    A file is hashed at most once per change, through the same sidecar resolve_weights uses.
    The archive kinds ("scratch", "lama") follow, with their pin as expected size/sha256 (None before
    the first download) and ``archive``/``member`` saying where the file comes from; then the pinned
    kinds ("ddcolor", ...), with the third-party ``reported_sha256`` beside the pin's ``sha256``.
    """
    env = os.environ if environ is None else environ
    cache = Path(cache_dir).expanduser()
    rows: list[dict[str, object]] = []
    for kind, weights in DEOLDIFY_WEIGHTS.items():
        path = cache / weights.name
        try:
            look = _look(path, weights)
        except OSError as e:  # e.g. unreadable: report it rather than fail the whole listing
            look = ({"size": path.stat().st_size}, f"cannot be read: {e.strerror or e}")
        rows.append(
            {
                "kind": kind,
                "name": weights.name,
                "path": str(path),
                "present": look is not None,
                "verified": look is not None and look[1] is None,
                "problem": None if look is None else look[1],
                "size": None if look is None else look[0]["size"],
                "expected_size": weights.size,
                "sha256": weights.sha256,
                "urls": list(weights.urls),
                "env_var": WEIGHTS_ENV_VARS[kind],
                "explicit_path": env.get(WEIGHTS_ENV_VARS[kind]) or None,
            }
        )
    from restore_dagster.models.archive_weights import archive_weights_status
    from restore_dagster.models.pinned_weights import pinned_weights_status

    return rows + archive_weights_status(cache, env) + pinned_weights_status(cache, env)


def _human_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
