"""``restore-photos add --merge-glare FILE... --album NAME``: shots of one print merged without glare.

The files are phone shots of the same glossy print from different angles; ``glare_shots.merge_into_album``
keeps them in ``glare_shots/<album>/`` and adds one photo made of them. A file that is not a scan, or a
shot that cannot be aligned with the first, is named with the reason and nothing is added.
"""
from __future__ import annotations

import sys
from pathlib import Path

from restore_dagster.config import Layout


def cmd_add_merge_glare(args, layout: Layout) -> int:
    from restore_dagster.glare_shots import merge_into_album
    from restore_dagster.imaging import ImageError
    from restore_dagster.safepaths import album_folder_to_add_to
    from restore_dagster.split_cli import source_file_problem

    if len(args.directory) < 2:
        print("error: --merge-glare needs at least two shots of the print, from different angles; nothing added", file=sys.stderr)
        return 2
    sources = [Path(name) for name in args.directory]
    for source in sources:  # the same rules as `add`: every shot is needed, so one bad file stops all
        problem = source_file_problem(source, args.follow_links, "--merge-glare")
        if problem:
            print(f"error: {source}: {problem}; nothing added", file=sys.stderr)
            return 1
    try:  # checked and made once every shot can be read: a refused merge leaves no empty album behind
        album_folder_to_add_to(layout.gallery, args.album)
    except ValueError as exc:
        print(f"error: {exc}; nothing added", file=sys.stderr)
        return 2
    try:
        outcome = merge_into_album(layout, args.album, sources)
    except (ImageError, OSError, ValueError) as exc:
        print(f"error: not merged: {exc}; nothing added", file=sys.stderr)
        return 1
    print(f"{outcome.filename}: {len(sources)} shots merged without glare ({outcome.status}) in album {args.album!r}; "
          f"the shots are kept in {outcome.shots[0].parent}")
    for number, (source, agreeing) in enumerate(zip(sources[1:], outcome.inliers), start=2):
        print(f"  shot {number} ({source.name}): aligned on {agreeing} matching features")
    return 0
