"""Checkpoints published as plain files whose SHA-256 no first party states: size checked, hash pinned.

The DDColor weights (piddnad/DDColor's MODEL_ZOO.md, Hugging Face ``piddnad/DDColor-models``) come
with no published checksum. Their sizes, and for two of them a SHA-256, are third-party figures
(public repositories that pin the same files agree with each other). So:

* the download must have exactly the stated size (the server's announced length and the bytes
  received are both checked), or that mirror is refused;
* the SHA-256 of the first good download is pinned in ``<name>.pin.json`` together with the
  third-party figure and whether they agree (a disagreement is logged, not refused: that figure is
  not the author's). Every later use checks the file against the pin, so a file damaged or swapped
  afterwards is refused, not used;
* a file the user puts at ``<cache_dir>/<name>`` by hand must have the stated size, and is pinned on
  its first use the same way.

Explicit paths (argument or environment variable) are the user's own files, used as they are.
Locking, streaming, atomic writes and the digest sidecar are weights_cache.py's. No Dagster here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from restore_dagster.models import weight_pins
from restore_dagster.models import weights_cache as _w
from restore_dagster.models.weight_pins import PinError, pin_path

logger = logging.getLogger(__name__)

_HF = "https://huggingface.co/piddnad/DDColor-models/resolve/main/"


@dataclass(frozen=True)
class PinnedWeights:
    """One checkpoint file: name, exact size, mirrors, the variable naming a user's own copy, and the
    SHA-256 third parties report (None when nobody does); ``model`` is what it is the weights of."""

    name: str
    size: int
    urls: tuple[str, ...]
    env_var: str
    reported_sha256: str | None
    model: str


# Kinds named as the colouriser choices that use them. Sizes and hashes: fixtures/ddcolor/README.md
# ("Official checkpoints"), from third-party repositories; ddcolor_paper.pth is not offered (no size known).
PINNED_WEIGHTS: dict[str, PinnedWeights] = {
    "ddcolor": PinnedWeights(
        name="ddcolor_modelscope.pth",
        size=911_950_059,
        urls=(_HF + "ddcolor_modelscope.pth",),
        env_var="RESTORE_DDCOLOR_WEIGHTS",
        reported_sha256="17c460d7e55b32a598370621d77173be59e03c24b0823f06821db23a50c263ce",
        model="DDColor large (ModelScope)",
    ),
    "ddcolor-artistic": PinnedWeights(
        name="ddcolor_artistic.pth",
        size=911_950_059,
        urls=(_HF + "ddcolor_artistic.pth",),
        env_var="RESTORE_DDCOLOR_ARTISTIC_WEIGHTS",
        reported_sha256="a591ee5beedad36de703d8977e92d0c30c1eedc6453fd1b300f3b460842a23a9",
        model="DDColor large (artistic)",
    ),
    "ddcolor-tiny": PinnedWeights(
        name="ddcolor_paper_tiny.pth",
        size=220_393_145,
        urls=(_HF + "ddcolor_paper_tiny.pth",),
        env_var="RESTORE_DDCOLOR_TINY_WEIGHTS",
        reported_sha256=None,
        model="DDColor tiny (paper)",
    ),
}


def _placeholder(spec: PinnedWeights, urls: Sequence[str]) -> _w.WeightsFile:
    return _w.WeightsFile(name=spec.name, size=spec.size, sha256=spec.reported_sha256 or "", urls=tuple(urls))


class PinnedWeightsMissingError(_w.WeightsMissingError):
    """The checkpoint is not in the cache and could not be downloaded; the message says how to fix it."""

    def __init__(self, spec: PinnedWeights, path: Path, attempts: Sequence[tuple[str, str]] = (),
                 *, urls: Sequence[str] = (), note: str | None = None) -> None:
        self.spec = spec
        super().__init__(_placeholder(spec, urls), path, attempts, urls=urls, note=note, env_var=spec.env_var)

    def _message(self) -> str:
        s = self.spec
        reported = (f"sha256 {s.reported_sha256} as reported by third parties (not by the authors)"
                    if s.reported_sha256 else "no SHA-256 is published for it")
        lines = [f"Model weights {s.name} ({s.model}) are not available.",
                 f"  expected at: {self.path}",
                 f"  size:        {s.size:,} bytes; {reported}"]
        if self.note:
            lines.append(self.note)
        if self.attempts:
            lines.append("Tried:")
            lines += [f"  - {url}: {reason}" for url, reason in self.attempts]
        else:
            lines.append("It can be downloaded from:")
            lines += [f"  - {url}" for url in self.urls]
        lines += [
            "To fix: download it yourself and put it at exactly",
            f"  {self.path}",
            "(its size is checked and its SHA-256 recorded on first use, then checked on every later use), "
            f"or set {s.env_var} to the path of a compatible checkpoint of your own (used as is).",
        ]
        return "\n".join(lines)


class PinnedWeightsChecksumError(_w.WeightsChecksumError):
    """The cached checkpoint is not the one pinned (or not of the stated size): nothing is moved."""

    def __init__(self, spec: PinnedWeights, path: Path, problem: str) -> None:
        self.spec = spec
        self.problem = problem
        self.set_aside = path  # nothing is moved: the user decides which file is right
        _w.WeightsMissingError.__init__(self, _placeholder(spec, spec.urls), path, urls=spec.urls, env_var=spec.env_var)

    def _message(self) -> str:
        s = self.spec
        return "\n".join([
            f"Model weights {s.name} at {self.path} are not the file pinned at first use: {self.problem} "
            f"(pin: {pin_path(self.path)}).",
            "To fix: if the file was damaged, delete it and it is downloaded again on next use; if you replaced it "
            f"on purpose, delete only {pin_path(self.path).name} to pin the new file; or set {s.env_var} to a "
            "checkpoint of your own (used as is).",
        ])


def read_pin(path: Path, spec: PinnedWeights) -> dict | None:
    """The pin record beside ``path``, or None when there is none; an unreadable pin is an error."""
    try:
        return weight_pins.read_pin(path)
    except PinError as e:
        raise PinnedWeightsChecksumError(spec, path, str(e)) from e


def _write_pin(path: Path, spec: PinnedWeights, digest: str, source: str) -> None:
    agrees = None if spec.reported_sha256 is None else digest == spec.reported_sha256
    if agrees is False:
        logger.warning("%s: sha256 %s differs from the third-party figure %s; pinned anyway (size matches, "
                       "and that figure is not the authors')", path, digest, spec.reported_sha256)
    weight_pins.write_pin(path, spec.size, digest, source, reported_sha256=spec.reported_sha256,
                          matches_reported=agrees)


def cached_problem(path: Path, spec: PinnedWeights) -> str | None:
    """None when the file at ``path`` is usable (pinning it now if it has no pin); else what is wrong."""
    try:
        return weight_pins.pinned_problem(
            path, spec.size, first_pin=lambda p, _size, digest: _write_pin(p, spec, digest, weight_pins.FIRST_USE))
    except PinError as e:
        raise PinnedWeightsChecksumError(spec, path, str(e)) from e


def resolve_pinned_weights(kind: str, cache_dir: str | os.PathLike[str], explicit_path=None, download: bool = True,
                           progress: bool = True, urls: Sequence[str] | None = None, timeout: float = 30) -> Path:
    """The path of the ``kind`` checkpoint: explicit path / environment variable, else the cache.

    A file of the wrong size in the cache was never good: it is renamed to ``<name>.corrupt`` (never
    deleted) and downloaded again. A right-sized file that differs from its pin is refused, not moved.
    """
    spec = PINNED_WEIGHTS[kind]
    if explicit_path is not None:
        return _w._checked_explicit_path(explicit_path, "explicit_path argument")
    if os.environ.get(spec.env_var):
        return _w._checked_explicit_path(os.environ[spec.env_var], f"environment variable {spec.env_var}")
    mirrors = tuple(spec.urls if urls is None else urls)
    cache = Path(cache_dir).expanduser()
    path = cache / spec.name
    if not path.exists() and not download:
        raise PinnedWeightsMissingError(spec, path, urls=mirrors, note="Downloading is disabled (download=False).")
    cache.mkdir(parents=True, exist_ok=True)
    with _w._cache_lock(cache):  # one download at a time; a waiting process then finds the file
        note = None
        if path.exists():
            problem = cached_problem(path, spec)
            if problem is None:
                return path
            if path.is_file() and not problem.startswith("size "):
                raise PinnedWeightsChecksumError(spec, path, problem)
            set_aside = _w._set_aside(path, problem)
            note = f"The file found there was not the expected one ({problem}); it was moved to {set_aside}."
        if not download:
            raise PinnedWeightsMissingError(spec, path, urls=mirrors, note=note or "Downloading is disabled (download=False).")
        _w._remove_stale_partials(cache, spec.name)
        attempts: list[tuple[str, str]] = []
        for url in mirrors:
            try:
                _download(url, spec, path, progress=progress, timeout=timeout)
            except _w._MirrorFailure as e:
                logger.warning("download of %s from %s failed: %s", spec.name, url, e)
                attempts.append((url, str(e)))
                continue
            return path
        raise PinnedWeightsMissingError(spec, path, attempts, urls=mirrors, note=note)


def _download(url: str, spec: PinnedWeights, path: Path, *, progress: bool, timeout: float) -> None:
    """Fetch ``url`` into ``path`` atomically (exact size), pin it; or raise _MirrorFailure leaving nothing."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_w._partial_prefix(spec.name), suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _w._stream(url, out, desc=_w._bar_label(spec.name, url), size=spec.size,
                                progress=progress, timeout=timeout)
            out.flush()
            os.fsync(out.fileno())
        pin = read_pin(path, spec)  # left from an earlier download whose file was deleted: must match
        if pin is not None and pin["sha256"] != digest:
            raise _w._MirrorFailure(f"sha256 {digest}, but {pin_path(path)} pinned {pin['sha256']}")
        if pin is None:
            _write_pin(path, spec, digest, url)
        os.replace(tmp, path)
        _w._fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(e, _w._LocalWriteError):
            raise _w._local_write_failure(e, spec.name, tmp) from e.__cause__
        raise
    _w._remember_digest(path, digest)
    logger.info("downloaded %s from %s: %d bytes, sha256 %s pinned", path, url, spec.size, digest)


def pinned_weights_status(cache_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> list[dict]:
    """weights_status rows for the pinned kinds. Never downloads; pins a hand-placed file (first use)."""
    env = os.environ if environ is None else environ
    cache = Path(cache_dir).expanduser()
    rows = []
    for kind, spec in PINNED_WEIGHTS.items():
        path = cache / spec.name
        present = path.exists()
        problem = pin = None
        if present:
            try:
                problem = cached_problem(path, spec)
                pin = read_pin(path, spec)
            except _w.WeightsError as e:
                problem = str(e).splitlines()[0]
            except OSError as e:
                problem = f"cannot be read: {e.strerror or e}"
        rows.append({
            "kind": kind, "name": spec.name, "path": str(path), "present": present,
            "verified": present and problem is None, "problem": problem,
            "size": path.stat().st_size if present else None, "expected_size": spec.size,
            "sha256": pin["sha256"] if pin else None, "reported_sha256": spec.reported_sha256,
            "urls": list(spec.urls), "env_var": spec.env_var, "explicit_path": env.get(spec.env_var) or None,
        })
    return rows
