"""Atomic file writes: a temp file in the same folder, fsync, then ``os.replace``.

A reader (the gallery, the web viewer, a sensor tick) never sees half a file, and a crash leaves at
worst a stray ``.tmp`` file, never a truncated output.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _temp_beside(path: Path) -> tuple[int, str]:
    # A short random name, not ``.<name>.tmp``: the target's name may already be 255 bytes long, the
    # file system's limit. Hidden and ending in .tmp, so no gallery listing ever takes it for a scan.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    # mkstemp makes 0600 files; outputs (published photos above all) should read like any other file.
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def atomic_write_bytes(path: Path, data: bytes, private: bool = False) -> Path:
    """``private``: owner-only (0600) from the first byte written, for files holding secrets."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: Path, value: Any, private: bool = False) -> Path:
    return atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"), private)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        return default


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` atomically (same temp-and-rename rule as the writes above)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(target)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def file_identity(path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of the file at ``path``, or None when there is none: what a cache keyed
    by a file compares to tell a replaced or rewritten file from the one it read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
