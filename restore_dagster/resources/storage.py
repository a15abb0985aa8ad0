"""The storage root, the gallery and per-photo state, as one Dagster resource."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from restore_dagster.config import Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.gallery import FolderGallery, Gallery
from restore_dagster.registry import PhotoEntry, RegistryStore
from restore_dagster.settings import SettingsStore


class StorageResource(dg.ConfigurableResource):
    """Where stage outputs, touch-ups and state live, and which gallery photos come from.

    ``home`` empty means ``$RESTORE_HOME`` (default ``./restore_home``); ``gallery_path`` empty means
    ``$RESTORE_GALLERY`` or ``<home>/gallery``. ``gallery_kind`` empty means ``$RESTORE_GALLERY_KIND``
    (default ``folder``); ``lychee`` reads photos from the Lychee server at ``lychee_url`` (or
    ``$RESTORE_LYCHEE_URL``) with the token in ``$RESTORE_LYCHEE_TOKEN``, which is never kept in config.
    """

    home: str = ""
    gallery_path: str = ""
    gallery_kind: str = ""
    lychee_url: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Name the process running this run, so a run left STARTED by a killed process is found
        # (stale_runs.py); at run start, before any step can wait for a pool slot. `restore-photos
        # run` tags its runs at launch; runs launched by the daemon (dagster dev) are tagged here.
        from restore_dagster.owner import TAG_PID, Owner

        run, instance = context.run, context.instance
        if run is not None and instance is not None and TAG_PID not in run.tags:
            instance.add_run_tags(run.run_id, Owner.this_process().tags())

    @property
    def layout(self) -> Layout:
        env = Layout.from_env()
        root = Path(self.home).expanduser().resolve() if self.home else env.root
        gallery = Path(self.gallery_path).expanduser().resolve() if self.gallery_path else env.gallery_override
        return Layout(root, gallery)

    def gallery(self) -> Gallery:
        kind = (self.gallery_kind or os.environ.get("RESTORE_GALLERY_KIND") or "folder").strip().lower()
        if kind == "folder":
            return FolderGallery(self.layout.gallery)
        if kind == "lychee":
            from restore_dagster.lychee import TOKEN_ENV, LycheeGallery

            # Comma-separated titles of root albums or ids of any albums to watch; unset: every own root album.
            inboxes = [i.strip() for i in os.environ.get("RESTORE_LYCHEE_INBOXES", "").split(",") if i.strip()]
            return LycheeGallery(
                self.lychee_url or os.environ.get("RESTORE_LYCHEE_URL", ""),
                os.environ.get(TOKEN_ENV, ""),
                cache_dir=self.layout.root / "cache" / "lychee",
                inboxes=inboxes or None,
                # "sibling" (an album "<title> (restored)") or "same" (beside the original, tagged).
                destination=os.environ.get("RESTORE_LYCHEE_DESTINATION", "sibling").strip().lower(),
                # Seconds a publish waits for an upload Lychee queued for processing (stage "ready").
                ready_wait=float(os.environ.get("RESTORE_LYCHEE_READY_WAIT") or 60),
            )
        raise ValueError(f"gallery kind {kind!r} (gallery_kind or RESTORE_GALLERY_KIND) is not 'folder' or 'lychee'")

    def settings(self) -> SettingsStore:
        return SettingsStore(self.layout.state)

    def descriptions(self) -> DescriptionStore:
        return DescriptionStore(self.layout.state)

    def registry(self) -> RegistryStore:
        return RegistryStore(self.layout.state)

    def photo(self, key: str) -> PhotoEntry:
        entry = self.registry().load().photos.get(key)
        if entry is None:
            raise KeyError(f"photo {key} is not in the registry (was its original removed from the gallery?)")
        return entry
