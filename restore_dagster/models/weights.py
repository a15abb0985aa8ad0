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
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

# The cache's machinery (errors, digest sidecars, lock, streamer) lives in weights_cache.py, shared
# with archive_weights.py and pinned_weights.py; the public names are re-exported here as before.
from restore_dagster.models.weights_cache import (
    WeightsChecksumError,
    WeightsError,
    WeightsFile,
    WeightsMissingError,
    WeightsPathError,
    _bar_label,
    _cache_lock,
    _checked_explicit_path,
    _fsync_dir,
    _human_size,
    _local_write_failure,
    _LocalWriteError,
    _MirrorFailure,
    _partial_prefix,
    _remember_digest,
    _remembered_digest,
    _remove_stale_partials,
    _set_aside,
    _stat_key,
    _stream,
    sha256_file,
    verify_sha256,
)

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

_HF_MIRROR = "https://huggingface.co/spensercai/DeOldify/resolve/main/"


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

