"""``restore-photos add --split FILE... --album NAME``: flatbed sheets of several prints into an album.

Each file is split by ``sheets.split_into_album`` (the sheet kept in ``sheets/<album>/``, each print
its own upload); a file that is not a scan, or in which no prints can be told apart, is named with
the reason and adds nothing, and the others are still split.
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from restore_dagster.config import Layout


def cmd_add_split(args, layout: Layout) -> int:
    from restore_dagster.imaging import ImageError
    from restore_dagster.safepaths import album_folder_to_add_to
    from restore_dagster.sheets import sheets_root, split_into_album

    try:
        album_folder_to_add_to(layout.gallery, args.album)
    except ValueError as exc:
        print(f"error: {exc}; nothing added", file=sys.stderr)
        return 2
    failed = 0
    for name in args.directory:
        source = Path(name)
        problem = source_file_problem(source, args.follow_links, "--split")
        if problem:
            print(f"skip {source}: not split: {problem}", file=sys.stderr)
            failed += 1
            continue
        try:
            outcome = split_into_album(layout, args.album, source, source.name)
        except (ImageError, OSError, ValueError) as exc:
            print(f"skip {source}: not split: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{source}: {outcome.summary()} in album {args.album!r}; the sheet is kept as {outcome.sheet}")
        for item in outcome.prints:
            print(f"  print {item.position} ({item.size[0]}×{item.size[1]}): {item.filename} ({item.status})")
        for filename in outcome.retired:
            print(f"  {filename}: no longer found on the sheet; moved to {sheets_root(layout) / args.album / 'retired'}")
    return 1 if failed else 0


def source_file_problem(source: Path, follow_links: bool, option: str) -> str | None:
    """Why ``source`` cannot be read as a sheet or shot (None when it can be tried): the rules of
    ``add``. ``option`` is the command's own flag (``--split``, ``--merge-glare``), for the advice."""
    from restore_dagster.gallery import IMAGE_SUFFIXES, SUPPORTED, suffix_of
    from restore_dagster.safepaths import LINK_REASON

    try:
        info = os.lstat(source)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        if not follow_links:
            return LINK_REASON + f"; `add {option} --follow-links` reads what a link points to"
        try:
            info = os.stat(source)
        except OSError:
            return "a broken symbolic link (its target is missing)"
    if stat.S_ISDIR(info.st_mode):
        return "a folder (give the sheet files themselves)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, socket or device)"
    if suffix_of(source.name) not in IMAGE_SUFFIXES:
        return f"not a {SUPPORTED} file"
    return None
