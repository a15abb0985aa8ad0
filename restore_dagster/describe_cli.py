"""``restore-photos describe``: the date, caption, place and names of a photo or an album.

    restore-photos describe KEY --date 1962 --caption "…" --people "Anna, Ben" [--place P] [--coordinates "lat, lon"]
    restore-photos describe "Family 1962/Wedding.jpg" …   a scan not yet picked up (its gallery path)
    restore-photos describe --album "Family 1962" --date 1962   the date of the album's undated photos
    restore-photos describe KEY --caption ""                  an empty value clears that field; --clear clears all

Kept apart from ``cli.py`` so the subcommand is one module: its parser, its lookups, its output.
"""
from __future__ import annotations

import os
import sys

from restore_dagster.config import Layout
from restore_dagster.date_hints import date_hint
from restore_dagster.descriptions import Description, DescriptionError, DescriptionStore


def add_parser(sub) -> None:
    describe = sub.add_parser(
        "describe", help="set a photo's (or an album's) date, caption, place and people; only publishing re-runs",
        description="Dates: 1962-06-14, 1962-06, 1962, 'about 1960', 1960s (a time as '1962-06-14 15:30', with "
                    "+02:00 when the time zone is known). An empty value clears a field.")
    describe.add_argument("photo", nargs="?", help="a photo key (family-1962/wedding) or its gallery path (Family 1962/Wedding.jpg)")
    describe.add_argument("--album", help="describe an album (folder name or slug): its date and place apply to "
                                          "its photos that have none of their own")
    describe.add_argument("--date")
    describe.add_argument("--caption")
    describe.add_argument("--place")
    describe.add_argument("--coordinates", help="'latitude, longitude' in decimal degrees, written as GPS")
    describe.add_argument("--people", help="names separated by commas: 'Anna, Ben'")
    describe.add_argument("--clear", action="store_true", help="clear everything first")
    describe.set_defaults(func=cmd_describe)


def cmd_describe(args, layout: Layout) -> int:
    from restore_dagster.registry import RegistryStore

    store = DescriptionStore(layout.state)
    registry = RegistryStore(layout.state).load()
    changes = {name: getattr(args, name) for name in ("date", "caption", "place", "coordinates", "people")}
    changes = {name: value for name, value in changes.items() if value is not None}
    if bool(args.album) == bool(args.photo):
        print("error: name one photo (its key or gallery path) or one --album", file=sys.stderr)
        return 2
    try:
        if args.album:
            album = _album_name(args.album, registry, layout)
            changed = changes or args.clear
            result = store.describe_album(album, args.clear, **changes) if changed else store.album(album)
            _print(result, f"album {album!r} (for its photos without their own)")
            hint = date_hint(album)
            if hint and not result.date:
                print(f"hint: the album's name suggests the date {hint}; not applied (use --date {hint!r} to set it)")
            return 0
        source, album, name = _photo(args.photo, registry, layout)
        own = store.describe(source, args.clear, **changes) if changes or args.clear else store.photo(source)
        effective = store.effective(source, album)
    except DescriptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    _print(effective, source)
    hint = date_hint(name)
    if hint and not own.date:
        print(f"hint: the file name suggests the date {hint}; not applied (use --date {hint!r} to set it)")
    if changes or args.clear:
        print("the restoration is re-published with it (no model re-runs) at the next sensor tick or `restore-photos run`")
    return 0


def _print(description: Description, what: str) -> None:
    if description.is_empty():
        print(f"{what}: no description")
        return
    print(f"{what}:")
    for name, value in description.to_json().items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
        origin = " (from the album)" if name in description.from_album or (name == "coordinates" and "place" in description.from_album) else ""
        print(f"  {name} = {shown}{origin}")


def _photo(target: str, registry, layout: Layout) -> tuple[str, str, str]:
    """``(source, album, file name)`` of a registered key, or of a scan in the folder gallery not registered yet."""
    entry = registry.photos.get(target)
    if entry is not None:
        return entry.source, entry.album, entry.name
    key = registry.key_for(target)
    if key is not None:
        entry = registry.photos[key]
        return entry.source, entry.album, entry.name
    if _folder_gallery():
        from restore_dagster.gallery import FolderGallery, GalleryUnavailable

        try:
            uploads = FolderGallery(layout.gallery).list_uploads()
        except GalleryUnavailable:
            uploads = []
        for upload in uploads:
            if upload.source == target:
                return upload.source, upload.album, upload.name
    raise LookupError(f"no photo {target!r}: give a key (`restore-photos status --photos` lists them) or a scan's "
                      "path inside the gallery, '<album folder>/<file name>'")


def _album_name(target: str, registry, layout: Layout) -> str:
    """The album as the gallery names it (the folder name): from itself or from its slug."""
    if target in registry.albums:
        return target
    by_slug = [name for name, slug in registry.albums.items() if slug == target]
    if by_slug:
        return by_slug[0]
    if _folder_gallery() and "/" not in target and target not in (".", "..") and (layout.gallery / target).is_dir():
        return target
    raise LookupError(f"no album {target!r} (give its folder name or its slug, the part of a key before '/')")


def _folder_gallery() -> bool:
    return (os.environ.get("RESTORE_GALLERY_KIND") or "folder").strip().lower() == "folder"



