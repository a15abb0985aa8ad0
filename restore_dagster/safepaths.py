"""One rule for names and links in the gallery, shared by the folder gallery, the web and the CLI.

**Symbolic links are never followed inside the gallery.** A linked album folder, a linked scan, a
linked ``restored`` folder or restoration is not listed, not opened, not served, not shared and never
written through; listings report it as skipped with the reason. The check is made at every open, not
only when listing: ``open_inside`` walks from the gallery root one name at a time with ``O_NOFOLLOW``
(each step relative to the folder opened before it), so a link swapped in after a listing is refused
too. Only the gallery root itself may be a link (a mount point configured by its owner).

Album names that reach the file system go through ``check_album_name``: one rule for ``restore-photos
add --album`` and the web's album folders.
"""
from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path
from typing import BinaryIO, Sequence

from restore_dagster.config import PUBLISHED_DIRNAME
from restore_dagster.filenames import NAME_MAX  # one limit for every derived or checked name

LINK_REASON = "a symbolic link (the gallery never follows links)"


class UnsafePath(PermissionError):
    """A path the gallery refuses: a link, or something outside it. An OSError, so callers that
    treat storage trouble per file (one broken photo never fails the others) need nothing new."""


def album_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an album folder, or None when it can (never a corrected name)."""
    if not isinstance(name, str) or name == "":
        return "an album name cannot be empty"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "an album name cannot hold control characters (NUL, newline, tab...)"
    if "/" in name or "\\" in name:
        return "an album name is one folder name: no '/' or '\\' (albums cannot be nested)"
    if name in (".", ".."):
        return f"{name!r} is not a folder name"
    if name.startswith("."):
        return "an album name cannot start with '.' (hidden folders are never looked at)"
    if name != name.strip():
        return "an album name cannot start or end with a space"
    if name.casefold() == PUBLISHED_DIRNAME.casefold():
        return f"{PUBLISHED_DIRNAME!r} is the folder where restorations are published"
    try:
        size = len(os.fsencode(name))
    except UnicodeError:
        return "an album name must be valid text"
    if size > NAME_MAX:
        return f"an album name can have at most {NAME_MAX} bytes (this one has {size})"
    return None


def check_album_name(name: str) -> str:
    """``name`` unchanged, or ValueError saying why it cannot be an album folder."""
    problem = album_name_problem(name)
    if problem:
        raise ValueError(f"album name {name!r} refused: {problem}")
    return name


def _parts(relative: str | Sequence[str]) -> list[str]:
    parts = relative.split("/") if isinstance(relative, str) else list(relative)
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\x00" in part:
            raise UnsafePath(f"{'/'.join(parts)!r} is not a path inside the gallery")
    if not parts:
        raise UnsafePath("an empty path names nothing in the gallery")
    return parts


def lstat_inside(root: Path, relative: str | Sequence[str]) -> os.stat_result:
    """The ``lstat`` of ``root/relative`` after checking that no step below ``root`` is a link.

    Raises UnsafePath for a link and FileNotFoundError when something is missing. For listings and
    existence checks; opening goes through :func:`open_inside`, which cannot be raced.
    """
    path = Path(root)
    result = None
    for part in _parts(relative):
        path = path / part
        result = os.lstat(path)
        if stat.S_ISLNK(result.st_mode):
            raise UnsafePath(f"{path}: {LINK_REASON}")
    return result


def is_real_dir(root: Path, relative: str | Sequence[str]) -> bool:
    try:
        return stat.S_ISDIR(lstat_inside(root, relative).st_mode)
    except (OSError, ValueError):
        return False


def make_real_dirs(root: Path, relative: str | Sequence[str], refusal: str) -> Path:
    """``root/relative`` made one folder at a time, never through a link: a link planted at any level
    raises UnsafePath ("<path>: a symbolic link ...; <refusal>") before anything is made below it,
    where ``mkdir(parents=True)`` would have made folders wherever the link points."""
    path = Path(root)
    for part in _parts(relative):
        path = path / part
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(path).st_mode):  # a link (or a file) found, or swapped in after the mkdir
            raise UnsafePath(f"{path}: {LINK_REASON if os.path.islink(path) else 'not a folder'}; {refusal}")
    return path


def open_inside(root: Path, relative: str | Sequence[str]) -> BinaryIO:
    """A binary reader of the regular file ``root/relative``, opened without following any link.

    Each folder is opened relative to the one before with ``O_NOFOLLOW``, so nothing swapped in between
    a check and the open can lead outside the gallery. A FIFO or device is refused without blocking.
    """
    parts = _parts(relative)
    shown = Path(root).joinpath(*parts)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    folder = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | nofollow, dir_fd=folder)
            except NotADirectoryError:  # O_DIRECTORY meets a link before O_NOFOLLOW does
                if stat.S_ISLNK(os.lstat(part, dir_fd=folder).st_mode):
                    raise UnsafePath(f"{shown}: {LINK_REASON}") from None
                raise
            except OSError as exc:
                raise _refusal(exc, shown) from None
            os.close(folder)
            folder = inner
        try:
            fd = os.open(parts[-1], os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0), dir_fd=folder)
        except OSError as exc:
            raise _refusal(exc, shown) from None
    finally:
        os.close(folder)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"{shown}: not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refusal(exc: OSError, shown: Path) -> OSError:
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (EMLINK on FreeBSD)
        return UnsafePath(f"{shown}: {LINK_REASON}")
    return exc


def album_folder_to_add_to(gallery: Path, album: str) -> Path:
    """The album folder uploads are added to (``restore-photos add``, with or without ``--split``),
    made when missing; ``ValueError`` saying why not: a bad name, a link, a file of that name, a
    read-only gallery."""
    check_album_name(album)
    folder = gallery / album
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot make the album folder {folder}: {exc.strerror}") from None
    if not is_real_dir(gallery, [album]):
        raise ValueError(f"{folder} is not a real folder ({LINK_REASON})")
    return folder
