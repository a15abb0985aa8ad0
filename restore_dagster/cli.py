"""restore-photos: import scans, restore them without the daemon, see their state, set per-photo settings.

    restore-photos add DIR --album NAME      copy scans into the gallery (originals are copied, not moved)
    restore-photos add --split FILE... --album NAME
                                             flatbed scans of several prints: each print becomes its own upload
    restore-photos add --merge-glare SHOT SHOT... --album NAME
                                             shots of one glossy print from different angles: one photo without glare
    restore-photos run [--album A] [--photo KEY] [--retry-failed]
                                             restore synchronously through the same Dagster assets
    restore-photos status [--photos]         per album: restored, pending, failed with reasons (--photos: each key)
    restore-photos settings KEY|album:NAME|defaults [--noise-level N] [--render-factor N] [--model M] [--input-size N] [--colorize on|off|auto]
                                         [--repair on|off|auto] [--repair-threshold P] [--tone on|off|auto]
                                         [--long-side N] [--max-magnification X] [--reset]
                                             show or change one photo's settings (the sensor re-runs it)
    restore-photos frame KEY [--corners X,Y X,Y X,Y X,Y | --crop L,T,R,B] [--rotate 0|90|180|270] [--reset]
                                             frame one photo by hand (fractions of the upright original); redone from scanned
    restore-photos variations KEY [--list | --choose ID]
                                             one photo's colour variations: make a contact sheet of colourings, choose one
    restore-photos colour-fix KEY [--at X,Y --colour '#RRGGBB' [--tolerance N] [--preview PNG] | --undo [ID] | --forget]
                                             colour an area by hand (the point's fractions); redone from colorized
    restore-photos describe KEY [--date D] [--caption C] [--place P] [--people "A, B"] | --album A --date D
                                             the family's date, caption, place and names (written when published)
    restore-photos weights [--download]      check / fetch the DeOldify, scratch and LaMa weights, or say where to put them
    restore-photos seed-demo                 add the demo album when the gallery is empty
    restore-photos password [--if-unset]     set the web gallery owner's password
    restore-photos serve [--host H] [--port P]
                                             the family web gallery (phones welcome)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from restore_dagster import colour_fix_cli, describe_cli, frame_cli, variations_cli
from restore_dagster.config import Layout
from restore_dagster.filenames import fit_name
from restore_dagster.models.weights import sha256_file
from restore_dagster.settings import (
    COLORIZE_MODES,
    DEFAULTS_KEY,
    LEGACY_MODELS,
    MODELS,
    NOISE_LEVELS,
    REPAIR_MODES,
    TONE_MODES,
    album_setting_name,
)


def cmd_add(args, layout: Layout) -> int:
    """Copy the scans of a folder into an album; name every entry that is not copied, and why."""
    from restore_dagster.files import atomic_copy
    from restore_dagster.gallery import scan_problem
    from restore_dagster.safepaths import LINK_REASON, album_folder_to_add_to

    if args.split and args.merge_glare:
        print("error: --split and --merge-glare do not go together; nothing added", file=sys.stderr)
        return 2
    if args.split:
        from restore_dagster.split_cli import cmd_add_split

        return cmd_add_split(args, layout)
    if args.merge_glare:
        from restore_dagster.glare_cli import cmd_add_merge_glare

        return cmd_add_merge_glare(args, layout)
    if len(args.directory) != 1:
        print("error: add copies one folder; several files are for `add --split FILE... --album NAME` "
              "or `add --merge-glare SHOT SHOT... --album NAME`", file=sys.stderr)
        return 2
    source = Path(args.directory[0])
    if not source.is_dir():
        print(f"error: {source} is not a folder", file=sys.stderr)
        return 2
    try:
        album = album_folder_to_add_to(layout.gallery, args.album)
    except ValueError as exc:  # a bad name, a link, a file of that name, a read-only gallery...
        print(f"error: {exc}; nothing added", file=sys.stderr)
        return 2
    existing = {sha256_file(Path(e.path)): e.name for e in os.scandir(album) if scan_problem(e) is None}
    added = duplicates = skipped = 0
    for entry in sorted(os.scandir(source), key=lambda e: e.name):
        problem = scan_problem(entry)
        if problem and args.follow_links and entry.is_symlink() and os.path.isfile(entry.path):
            problem = _linked_file_problem(entry)  # the link's target must itself be a supported scan
        if problem is not None:
            if problem:
                print(f"skip {entry.name}: not a supported scan: {problem}"
                      + ("; `add --follow-links` copies what a link points to" if problem == LINK_REASON else ""))
                skipped += 1
            continue
        path = Path(entry.path)
        digest = sha256_file(path)
        if digest in existing:
            print(f"skip {entry.name}: same content as {existing[digest]} already in {args.album}")
            duplicates += 1
            continue
        target = album / entry.name
        counter = 2
        while os.path.lexists(target):  # fit_name: "<stem>-2.jpg" of a 255-byte name would be too long
            target = album / fit_name(path.stem, f"-{counter}{path.suffix}")
            counter += 1
        atomic_copy(path, target)  # the bytes, never a link: a linked target is copied as a file
        existing[digest] = target.name
        added += 1
    print(f"added {added} scan(s) to album {args.album!r} ({duplicates} duplicate(s), {skipped} unsupported "
          f"entr{'y' if skipped == 1 else 'ies'} skipped) in {album}")
    return 0


def _linked_file_problem(entry: os.DirEntry) -> str | None:
    """With --follow-links: why the file a link points to is not a scan (None when it is one)."""
    from restore_dagster.gallery import IMAGE_SUFFIXES, suffix_of

    target = os.path.realpath(entry.path)
    if suffix_of(entry.name) not in IMAGE_SUFFIXES or suffix_of(target) not in IMAGE_SUFFIXES:
        return f"a link to {target}, which is not a JPEG, PNG, TIFF, WebP, BMP or HEIC file"
    return None


def cmd_run(args, layout: Layout) -> int:
    from restore_dagster.runner import run_pipeline
    from restore_dagster.stopping import SignalStop

    # One Ctrl-C (or SIGTERM) cancels the current step and stops; a second one quits at once.
    with SignalStop() as stop:
        try:
            result = run_pipeline(layout, album=args.album, photo=args.photo, retry_failed=args.retry_failed,
                                  progress=not args.quiet, stop=stop)
        except ValueError as exc:  # an unknown --photo key: say so, no traceback
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(result.summary())
    if stop.requested:
        return stop.exit_code
    return 0 if not result.failed else 1


def cmd_status(args, layout: Layout) -> int:
    from restore_dagster.catalogue import album_summary, build_catalogue
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore

    _print_run_health(layout)
    registry = RegistryStore(layout.state).load()
    table = build_catalogue(layout, registry, SettingsStore(layout.state))
    unregistered = _unregistered_scans(layout, registry)
    _print_skipped(layout)
    if table.empty and not unregistered:
        print(f"no photos yet: add scans to {layout.gallery}/<album>/ or run `restore-photos add DIR --album NAME`")
        return 0
    if not table.empty:
        print(album_summary(table).to_string(index=False))
    if args.photos and not table.empty:  # the keys `settings` and `run --photo` take
        print(table[["key", "state", "album", "name"]].to_string(index=False))
    if unregistered:
        print(f"{unregistered} new scan(s), not yet registered: the sensor or `restore-photos run` will pick them up")
    failed = table[table["state"] == "failed"]
    explained = set()
    for row in failed.itertuples():
        headline, _, details = row.reason.partition("\n")
        print(f"failed {row.key}: {headline}")
        if details and row.reason not in explained:  # a long explanation (e.g. where weights go) once
            explained.add(row.reason)
            print("  " + details.replace("\n", "\n  "))
    # Published without an optional step (e.g. colour, weights missing): one line per cause, its fix once.
    for reason, rows in table[table["pending_steps"] != ""].groupby("reason", sort=False):
        headline, _, details = reason.partition("\n")
        keys = list(rows["key"])
        shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
        print(f"{headline}: {len(keys)} photo(s) published without {' and '.join(rows['pending_steps'].iloc[0].split(', '))} "
              f"for now, finished automatically once fixed: {shown}")
        if details:
            print("  " + details.replace("\n", "\n  "))
    return 0


def _print_skipped(layout: Layout) -> None:
    """The folder gallery's entries that are not scans, album by album, each with the reason."""
    from restore_dagster.gallery import FolderGallery, GalleryUnavailable

    if (os.environ.get("RESTORE_GALLERY_KIND") or "folder").strip().lower() != "folder":
        return
    try:
        skipped = FolderGallery(layout.gallery).skipped_entries()  # sorted by album, then name
    except GalleryUnavailable:
        return
    for entry in skipped:
        print(f"skipped {entry.where}: not a supported scan: {entry.reason}")


def _unregistered_scans(layout: Layout, registry) -> int:
    """Scans in the folder gallery that no sensor tick or run has registered yet (added by `add`, by
    hand or from the web). Counted here rather than registered at `add`: the sensor stays the registry's
    only writer besides `run`, and scans that arrive any other way are counted too."""
    from restore_dagster.gallery import FolderGallery, GalleryUnavailable

    if (os.environ.get("RESTORE_GALLERY_KIND") or "folder").strip().lower() != "folder":
        return 0  # a Lychee server is not asked for its photos just to print a status
    try:
        uploads = FolderGallery(layout.gallery).list_uploads()
    except GalleryUnavailable:
        return 0
    return sum(1 for upload in uploads if registry.key_for(upload.source) is None)


def _print_run_health(layout: Layout) -> None:
    """Runs left behind by a killed process (now marked failed, slots freed) and steps waiting for a pool."""
    if not (layout.dagster_home / "dagster.yaml").exists():
        return  # nothing has run yet
    from restore_dagster.instance import get_instance
    from restore_dagster.stale_runs import pool_waits, reap_stale_runs

    instance = get_instance(layout)
    for line in reap_stale_runs(instance):
        print(line)
    for line in pool_waits(instance):
        print(f"waiting: {line}")


def cmd_settings(args, layout: Layout) -> int:
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore

    store = SettingsStore(layout.state)
    changes = {
        "noise_level": args.noise_level, "render_factor": args.render_factor, "model": args.model,
        "input_size": args.input_size,
        "colorize": args.colorize, "long_side": args.long_side,
        "repair": args.repair, "repair_threshold": args.repair_threshold, "tone": args.tone,
        "ssim_floor": args.ssim_floor, "detail_floor_1to1": args.detail_floor, "web_formats": args.web_formats,
        "max_magnification": args.max_magnification,
    }
    if args.key == DEFAULTS_KEY:
        if args.reset:
            store.reset_defaults()
        try:
            settings = store.set_defaults(**changes)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _print_settings(settings)
        return 0
    album = album_setting_name(args.key)
    if album is not None:
        if not any(key.split("/", 1)[0] == album for key in RegistryStore(layout.state).load().photos):
            print(f"error: no album {album!r}; `restore-photos status` lists the albums", file=sys.stderr)
            return 2
        try:
            if args.reset:
                store.reset_album_defaults(album)
            settings = store.set_album_defaults(album, **changes)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _print_settings(settings)
        return 0
    if args.key not in RegistryStore(layout.state).load().photos:
        print(f"error: no photo {args.key!r}; `restore-photos status --photos` lists the photos", file=sys.stderr)
        return 2
    if args.reset:
        store.reset(args.key)
    try:
        settings = store.set(args.key, **changes) if any(v is not None for v in changes.values()) else store.get(args.key)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_settings(settings)
    return 0


def _print_settings(settings) -> None:
    for name, value in settings.as_dict().items():
        print(f"{name} = {value}")


def cmd_weights(args, layout: Layout) -> int:
    from restore_dagster.models import weights

    kinds = [args.kind] if args.kind else [*weights.DEOLDIFY_WEIGHTS, *weights.ARCHIVE_KINDS, *weights.PINNED_KINDS]
    status = 0
    for kind in kinds:
        try:
            path = weights.resolve_weights(kind, cache_dir=layout.weights, download=args.download, progress=True)
            print(f"{kind}: ready at {path}")
        except weights.WeightsError as exc:
            print(f"{kind}: {exc}", file=sys.stderr)
            status = 1
    return status


def cmd_seed_demo(args, layout: Layout) -> int:
    from restore_dagster.demo import gallery_is_empty, seed_demo_album

    if not gallery_is_empty(layout.gallery) and not args.force:
        print(f"gallery {layout.gallery} already has photos; demo album not added")
        return 0
    written = seed_demo_album(layout.gallery)
    print(f"demo album: {len(written)} aged scan(s) written to {layout.gallery}")
    return 0


def _owner(layout: Layout):
    from restore_dagster.viewer.accounts import OwnerAccount
    from restore_dagster.viewer.webstate import WebState

    return OwnerAccount(layout.state, WebState(layout.state / "web.sqlite3"))


def cmd_password(args, layout: Layout) -> int:
    import getpass
    import secrets

    owner = _owner(layout)
    if args.if_unset:
        if owner.has_password:
            print("web gallery: the owner password is already set (change it with `restore-photos password`)")
            return 0
        password = secrets.token_urlsafe(12)
        owner.set_password(password)
        print(f"web gallery: owner password set to {password}\n  (shown once; change it with `restore-photos password`)")
        return 0
    if sys.stdin.isatty():
        password = getpass.getpass("new owner password: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ; nothing changed", file=sys.stderr)
            return 2
    else:  # piped in, e.g. from a secrets manager: the first line
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        owner.set_password(password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("web gallery: owner password changed; every device has to log in again")
    return 0


def cmd_serve(args, layout: Layout) -> int:
    import os

    import uvicorn

    from restore_dagster.viewer.app import create_app

    kind = (os.environ.get("RESTORE_GALLERY_KIND") or "folder").strip().lower()
    if kind != "folder":
        print(f"error: the web gallery serves the folder gallery; RESTORE_GALLERY_KIND is {kind!r} "
              "(with Lychee, Lychee itself is where the family looks at the photos)", file=sys.stderr)
        return 2
    if not _owner(layout).has_password:
        print("note: no owner password yet; set one with `restore-photos password` to log in", file=sys.stderr)
    print(f"web gallery: http://{args.host}:{args.port}/   (gallery {layout.gallery})", flush=True)
    uvicorn.run(create_app(layout), host=args.host, port=args.port, log_level="warning", **proxy_options(args))
    return 0


def proxy_options(args) -> dict:
    """uvicorn's proxy settings: X-Forwarded-* is believed only from ``--proxy-ip`` addresses.

    uvicorn then takes the client address from the right-most X-Forwarded-For entry that is not a
    trusted proxy: the one the proxy itself appended, never one the client wrote (which would let a
    guesser pick a fresh address for every login attempt).
    """
    if not args.behind_proxy:
        return {"proxy_headers": False}
    trusted = [ip.strip() for ip in args.proxy_ip.split(",") if ip.strip()]
    if not trusted or "*" in trusted:
        raise SystemExit("error: --proxy-ip must name the proxy's address(es), not '*' "
                         "(trusting every hop lets any client choose its own address)")
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="restore-photos", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="copy scans from a folder into an album of the gallery")
    add.add_argument("directory", nargs="+", help="a folder of scans (with --split: flatbed scan files)")
    add.add_argument("--album", required=True, help="the album folder's name (one plain folder name)")
    add.add_argument("--follow-links", action="store_true",
                     help="copy the files that symbolic links in DIR point to (by default links are skipped)")
    add.add_argument("--split", action="store_true",
                     help="the files are flatbed scans of several prints: add each print as its own photo")
    add.add_argument("--merge-glare", action="store_true",
                     help="the files are phone shots of one glossy print from different angles: add one photo without the glare")
    add.set_defaults(func=cmd_add)
    run = sub.add_parser("run", help="restore photos now, without the daemon")
    run.add_argument("--album", help="album folder name or album slug")
    run.add_argument("--photo", help="one photo key, e.g. family-1962/wedding")
    run.add_argument("--retry-failed", action="store_true", help="also retry photos that failed on the same inputs")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="per album: restored, pending, failed with reasons")
    status.add_argument("--photos", action="store_true", help="also list every photo: its key, state and file")
    status.set_defaults(func=cmd_status)
    settings = sub.add_parser("settings", help="show or change one photo's settings")
    settings.add_argument("key", help="a photo key, 'album:NAME' for the album's photos without their own value, "
                          "or 'defaults' for every photo without its own value")
    settings.add_argument("--noise-level", type=int, choices=NOISE_LEVELS)
    settings.add_argument("--render-factor", type=int)
    settings.add_argument("--model", choices=(*MODELS, *LEGACY_MODELS),
                          help="the colouriser (artistic/stable: the old names of deoldify-artistic/deoldify-stable)")
    settings.add_argument("--input-size", type=int, help="DDColor's input square, a multiple of 32 (default 512)")
    settings.add_argument("--colorize", choices=COLORIZE_MODES)
    settings.add_argument("--long-side", type=int)
    settings.add_argument("--repair", choices=REPAIR_MODES,
                          help="scratch and dust repair: auto (skips masks too large to be damage), on or off")
    settings.add_argument("--repair-threshold", type=float,
                          help="the scratch detector's probability cut, 0.05-0.95 (default 0.4; lower finds more)")
    settings.add_argument("--tone", choices=TONE_MODES,
                          help="tone and colour restoration: auto (faded prints only), on or off")
    settings.add_argument("--ssim-floor", type=float, help="lowest SSIM of the web file on a whole screen (0.97)")
    settings.add_argument("--detail-floor", type=float,
                          help="lowest share of the grain and fine texture the web file keeps at 1:1 (0.90)")
    settings.add_argument("--web-formats", help="formats the web file may take: JPEG,WEBP (default), AVIF too (slower)")
    settings.add_argument("--max-magnification", type=float,
                          help="upscale to at most this many times the scan's long side, 1-64 (default 4)")
    settings.add_argument("--reset", action="store_true", help="back to the project defaults first ('defaults --reset': back to the built-in defaults)")
    settings.set_defaults(func=cmd_settings)
    describe_cli.add_parser(sub)
    frame_cli.add_parser(sub)
    variations_cli.add_parser(sub)
    colour_fix_cli.add_parser(sub)
    weights = sub.add_parser("weights", help="check or download the DeOldify, DDColor, scratch-detection and LaMa weights")
    weights.add_argument("--kind", choices=("artistic", "stable", "scratch", "lama", "ddcolor", "ddcolor-artistic",
                                            "ddcolor-tiny"))
    weights.add_argument("--download", action=argparse.BooleanOptionalAction, default=True)
    weights.set_defaults(func=cmd_weights)
    demo = sub.add_parser("seed-demo", help="write the demo album into an empty gallery")
    demo.add_argument("--force", action="store_true")
    demo.set_defaults(func=cmd_seed_demo)
    password = sub.add_parser("password", help="set the web gallery owner's password (read from the terminal or stdin)")
    password.add_argument("--if-unset", action="store_true", help="only when none is set: generate one and print it")
    password.set_defaults(func=cmd_password)
    serve = sub.add_parser("serve", help="serve the family web gallery")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to reach it from phones on the home network")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--behind-proxy", action="store_true", help="trust X-Forwarded-* from an HTTPS reverse proxy")
    serve.add_argument("--proxy-ip", default="127.0.0.1",
                       help="with --behind-proxy: the proxy's address(es), comma-separated; only they are believed")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = Layout.from_env().ensure()
    from restore_dagster.instance import InstanceUnavailable

    try:
        return args.func(args, layout)
    except InstanceUnavailable as exc:  # RESTORE_POSTGRES_URL wrong or its server down: say so, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
