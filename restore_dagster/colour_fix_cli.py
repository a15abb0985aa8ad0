"""``restore-photos colour-fix``: colour an area of one photo by hand, or undo it (the viewer's "Fix a colour").

    restore-photos colour-fix KEY                                    list the photo's fixes
    restore-photos colour-fix KEY --at 0.42,0.7 --colour '#2b4f9e'   colour the area at that point
    restore-photos colour-fix KEY --at 0.42,0.7 --preview area.png   only show the area (nothing stored)
    restore-photos colour-fix KEY --undo                             undo the last fix (--undo ID: that one)
    restore-photos colour-fix KEY --forget                           forget every fix

The point is a fraction of the picture's width and height (0,0 top-left, 1,1 bottom-right). The area
is a flood fill on the photo's luminance from that point (imaging/colour_fix.py); --tolerance widens
or narrows it. A change is redone from ``colorized`` by the sensor, or now with
``restore-photos run --photo KEY``. The original is never changed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from restore_dagster.config import Layout
from restore_dagster.imaging import colour_fix as cf


def add_parser(sub) -> None:
    fix = sub.add_parser(
        "colour-fix", help="colour an area of one photo by hand (tap point, colour), or undo it",
        description="The area is found from the point on the photo's luminance, so it is the same after the "
                    "photo is coloured again; the colour replaces its chroma, its light and shade stay.")
    fix.add_argument("key", help="a photo key, e.g. family-1962/wedding (restore-photos status --photos lists them)")
    action = fix.add_mutually_exclusive_group()
    action.add_argument("--at", metavar="X,Y", type=_point, help="the point inside the area, as fractions of the picture")
    action.add_argument("--undo", nargs="?", const="", metavar="ID", help="undo the last fix, or the one with ID")
    action.add_argument("--forget", action="store_true", help="forget every colour fix of the photo")
    fix.add_argument("--colour", "--color", dest="colour", metavar="#RRGGBB", help="the area's colour (with --at)")
    low, high = cf.TOLERANCE_RANGE
    fix.add_argument("--tolerance", type=int, default=cf.DEFAULT_TOLERANCE,
                     help=f"how far the area reaches in lightness, {low}-{high} (default {cf.DEFAULT_TOLERANCE})")
    fix.add_argument("--preview", metavar="PNG", type=Path,
                     help="with --at: write the picture with the area outlined to this file; nothing is stored")
    fix.set_defaults(func=cmd_colour_fix)


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(part) for part in text.split(","))
        return cf.check_point(x, y)
    except (ValueError, cf.ColourFixError):
        raise argparse.ArgumentTypeError(f"{text!r} is not two fractions X,Y between 0 and 1") from None


def cmd_colour_fix(args, layout: Layout) -> int:
    from restore_dagster import colour_fixes
    from restore_dagster.lineage import clear_failure
    from restore_dagster.registry import RegistryStore

    if args.key not in RegistryStore(layout.state).load().photos:
        print(f"error: no photo {args.key!r}; `restore-photos status --photos` lists the photos", file=sys.stderr)
        return 2
    try:
        if args.at is not None:
            return _add(args, layout)
        if args.undo is not None:
            removed = colour_fixes.undo_fix(layout, args.key, args.undo or None)
            if removed is None:
                print(f"error: {args.key}: " + (f"no colour fix {args.undo!r}" if args.undo else "no colour fix to undo"),
                      file=sys.stderr)
                return 2
            clear_failure(layout, args.key)
            print(f"undone: {removed.id} {removed.colour} at {removed.x:g},{removed.y:g}")
        elif args.forget:
            print(f"forgot {colour_fixes.forget_fixes(layout, args.key)} colour fix(es)")
            clear_failure(layout, args.key)
        _list(layout, args.key)
    except cf.ColourFixError as exc:
        print(f"error: {args.key}: {exc}", file=sys.stderr)
        return 2
    if args.undo is not None or args.forget:
        print(f"the photo is coloured again from 'colorized' by the sensor, or now with: restore-photos run --photo {args.key}")
    return 0


def _add(args, layout: Layout) -> int:
    from restore_dagster import colour_fixes
    from restore_dagster.imaging import ImageError, decode_stage_file
    from restore_dagster.lineage import clear_failure, stage_image_file

    if args.colour is None and args.preview is None:
        print("error: --at needs --colour (or --preview to see the area first)", file=sys.stderr)
        return 2
    source = stage_image_file(layout, "upscaled", args.key)
    try:
        picture = decode_stage_file(source)
    except FileNotFoundError:
        print(f"error: {args.key}: not coloured yet ({source} is missing); run it first", file=sys.stderr)
        return 2
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    luminance = cf.working_luminance(picture)
    if args.preview is not None:
        region = cf.segment(luminance, *args.at, args.tolerance)
        coloured = stage_image_file(layout, "colorized", args.key)
        shown = decode_stage_file(coloured) if coloured.is_file() else picture
        _write_preview(args.preview, shown, region.mask)
        print(f"the area at {args.at[0]:g},{args.at[1]:g} covers {100 * region.area:.1f}% of the picture; "
              f"outlined in {args.preview} (nothing stored)")
        return 0
    fix, _ = colour_fixes.make_fix(luminance, *args.at, args.tolerance, args.colour)
    colour_fixes.add_fix(layout, args.key, fix)
    clear_failure(layout, args.key)
    print(f"added {fix.id}: {fix.colour} on {100 * fix.area:.1f}% of the picture")
    print(f"the photo is coloured again from 'colorized' by the sensor, or now with: restore-photos run --photo {args.key}")
    return 0


def _write_preview(path: Path, picture, mask) -> None:
    import cv2
    import numpy as np
    from PIL import Image

    from restore_dagster.files import atomic_write_bytes
    from restore_dagster.imaging import encode_png

    small = np.array(picture.convert("RGB").resize((mask.shape[1], mask.shape[0]), Image.Resampling.LANCZOS))
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~mask
    small[mask] = (small[mask] * 0.6 + np.array([255, 255, 255]) * 0.4).astype(np.uint8)
    small[ring] = (255, 0, 64)
    atomic_write_bytes(path, encode_png(Image.fromarray(small, "RGB")))


def _list(layout: Layout, key: str) -> None:
    from restore_dagster.colour_fixes import fixes_json

    fixes, error = fixes_json(layout, key)
    if error:
        raise cf.ColourFixError(error)
    if not fixes:
        print("no colour fix")
    for number, fix in enumerate(fixes, start=1):
        state = f"skipped: {fix['reason']}" if fix["state"] == "skipped" else fix["state"]
        print(f"{number}. {fix['id']} {fix['colour']} at {fix['x']:g},{fix['y']:g} tolerance {fix['tolerance']}, "
              f"{fix['percent']}% of the picture: {state}")
