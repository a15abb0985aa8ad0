"""The storage root, the gallery and per-photo state, as one Dagster resource."""
from __future__ import annotations

from pathlib import Path

import dagster as dg

from restore_dagster.config import Layout
from restore_dagster.gallery import FolderGallery, Gallery
from restore_dagster.registry import PhotoEntry, RegistryStore
from restore_dagster.settings import SettingsStore


class StorageResource(dg.ConfigurableResource):
    """Where stage outputs, touch-ups and state live, and which gallery photos come from.

    ``home`` empty means ``$RESTORE_HOME`` (default ``./restore_home``); ``gallery_path`` empty means
    ``$RESTORE_GALLERY`` or ``<home>/gallery``.
    """

    home: str = ""
    gallery_path: str = ""

    @property
    def layout(self) -> Layout:
        env = Layout.from_env()
        root = Path(self.home).expanduser().resolve() if self.home else env.root
        gallery = Path(self.gallery_path).expanduser().resolve() if self.gallery_path else env.gallery_override
        return Layout(root, gallery)

    def gallery(self) -> Gallery:
        return FolderGallery(self.layout.gallery)

    def settings(self) -> SettingsStore:
        return SettingsStore(self.layout.state)

    def registry(self) -> RegistryStore:
        return RegistryStore(self.layout.state)

    def photo(self, key: str) -> PhotoEntry:
        entry = self.registry().load().photos.get(key)
        if entry is None:
            raise KeyError(f"photo {key} is not in the registry (was its original removed from the gallery?)")
        return entry
