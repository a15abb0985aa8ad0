"""Everything a request handler needs, built once per app from the storage root."""
from __future__ import annotations

import os
from dataclasses import dataclass

from restore_dagster.config import Layout
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.settings import SettingsStore
from restore_dagster.viewer.accounts import LoginLimiter, OwnerAccount
from restore_dagster.viewer.album_cards import AlbumCards
from restore_dagster.viewer.library import Library
from restore_dagster.viewer.renditions import RenditionCache
from restore_dagster.viewer.shares import Shares
from restore_dagster.viewer.states import BusyKeys, StateReader, instance_busy_keys
from restore_dagster.viewer.uploads import MIB
from restore_dagster.viewer.webstate import WebState

DEFAULT_MAX_UPLOAD_MB = 64
ENV_MAX_UPLOAD_MB = "RESTORE_WEB_MAX_UPLOAD_MB"


@dataclass
class Services:
    layout: Layout
    web: WebState
    accounts: OwnerAccount
    limiter: LoginLimiter
    library: Library
    shares: Shares
    states: StateReader
    renditions: RenditionCache
    max_upload_bytes: int
    album_cards: AlbumCards

    @property
    def descriptions(self) -> DescriptionStore:
        return DescriptionStore(self.layout.state)

    @property
    def settings(self) -> SettingsStore:
        return SettingsStore(self.layout.state)  # re-read per use: the CLI may change defaults meanwhile


def build_services(layout: Layout, busy_keys: BusyKeys | None = None, max_upload_bytes: int | None = None) -> Services:
    layout.ensure()
    web = WebState(layout.state / "web.sqlite3")
    if max_upload_bytes is None:
        max_upload_bytes = int(float(os.environ.get(ENV_MAX_UPLOAD_MB, DEFAULT_MAX_UPLOAD_MB)) * MIB)  # MiB
    library = Library(layout.gallery, web)
    states = StateReader(layout, busy_keys or instance_busy_keys(layout))
    return Services(
        layout=layout,
        web=web,
        accounts=OwnerAccount(layout.state, web),
        limiter=LoginLimiter(),
        library=library,
        shares=Shares(web),
        states=states,
        renditions=RenditionCache(layout.root / "cache" / "renditions"),
        max_upload_bytes=max_upload_bytes,
        album_cards=AlbumCards(layout, library, states),
    )
