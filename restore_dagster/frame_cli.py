"""``restore-photos frame``: the owner's framing of one photo (four corners or a crop, a turn by 90°).

    restore-photos frame KEY                                   show the photo's framing
    restore-photos frame KEY --corners 0.1,0.05 0.93,0.08 0.95,0.9 0.08,0.94
    restore-photos frame KEY --crop 0.05,0.05,0.95,0.95        left,top,right,bottom
    restore-photos frame KEY --rotate 90                       turned 90° clockwise (0 to undo)
    restore-photos frame KEY --reset                           back to automatic (no corners, no turn)

Corners are fractions of the upright original's width and height (0,0 top-left, 1,1 bottom-right),
in any order; see imaging/framing.py for why fractions. Changing the framing redoes the photo from
``scanned``: the sensor picks it up, or ``restore-photos run --photo KEY``. The original is never changed.
"""
from __future__ import annotations

import argparse
import sys

from restore_dagster.config import Layout
from restore_dagster.settings import PER_PHOTO_FIELDS, ROTATIONS


def add_parser(sub) -> None:
    frame = sub.add_parser(
        "frame", help="frame one photo by hand: the print's four corners or a crop, and a turn by 90°",
        description="Corners and crops are fractions of the upright original's width and height: "
                    "0,0 is its top-left, 1,1 its bottom-right. The photo is then redone from 'scanned'.")
    frame.add_argument("key", help="a photo key, e.g. family-1962/wedding (restore-photos status --photos lists them)")
    where = frame.add_mutually_exclusive_group()
    where.add_argument("--corners", nargs=4, metavar="X,Y", type=_pair,
                       help="the print's four corners, in any order")
    where.add_argument("--crop", metavar="LEFT,TOP,RIGHT,BOTTOM", type=_numbers(4),
                       help="a straight crop rectangle")
    frame.add_argument("--rotate", type=int, choices=ROTATIONS, help="degrees clockwise, after framing")
    frame.add_argument("--reset", action="store_true",
                       help="back to automatic framing and no turn first (then --corners, --crop, --rotate apply)")
    frame.set_defaults(func=cmd_frame)


def _numbers(count: int):
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError:
            values = ()
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"{text!r} is not {count} numbers separated by commas")
        return values
    return parse


_pair = _numbers(2)


def cmd_frame(args, layout: Layout) -> int:
    from restore_dagster.imaging.framing import crop_corners
    from restore_dagster.lineage import clear_failure
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore

    if args.key not in RegistryStore(layout.state).load().photos:
        print(f"error: no photo {args.key!r}; `restore-photos status --photos` lists the photos", file=sys.stderr)
        return 2
    store = SettingsStore(layout.state)
    try:
        corners = crop_corners(*args.crop) if args.crop else args.corners
        changed = args.reset or corners is not None or args.rotate is not None
        if changed:
            # Checked before anything is forgotten: a refused new framing leaves the old one in place.
            store.defaults.updated(frame_corners=corners, rotation=args.rotate)
        if args.reset:
            store.forget(args.key, *PER_PHOTO_FIELDS)
        if corners is not None or args.rotate is not None:
            store.set(args.key, frame_corners=corners, rotation=args.rotate)
        settings = store.get(args.key)
    except ValueError as exc:
        print(f"error: {args.key}: {exc}", file=sys.stderr)
        return 2
    if changed:
        clear_failure(layout, args.key)  # a failure on the old framing no longer applies
    _print(settings)
    if changed:
        print(f"the photo is redone from 'scanned' by the sensor, or now with: restore-photos run --photo {args.key}")
    return 0


def _print(settings) -> None:
    if settings.frame_corners is None:
        print("framing = automatic")
    else:
        names = ("top-left", "top-right", "bottom-right", "bottom-left")
        print("framing = manual: " + ", ".join(f"{n} {x:g},{y:g}" for n, (x, y) in zip(names, settings.frame_corners)))
    print(f"rotation = {settings.rotation}° clockwise")
