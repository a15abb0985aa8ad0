"""The album page's colouriser choice: the album's default model (the ``album:NAME`` settings layer).

Photos of the album without a model of their own take it; choosing "the project default" stores
nothing for the album, so it follows later changes of the project default. The model is part of
``colorized``'s fingerprint, so the photos that take the album's choice are coloured again by the
sensor, from ``colorized``: nothing before it runs again.
"""
from __future__ import annotations

from restore_dagster.registry import RegistryStore
from restore_dagster.settings import MODELS, SettingsStore
from restore_dagster.viewer.services import Services


def album_slug(svc: Services, folder: str) -> str | None:
    """The album's name in photo keys and settings (``album:<slug>``); None before the sensor saw it."""
    return RegistryStore(svc.layout.state).load().albums.get(folder)


def album_colouriser(svc: Services, folder: str) -> dict:
    """What the album page's colouriser form shows, for the whole album whichever page shows it.

    The photos with a colouriser of their own are counted from the settings' overrides (a few),
    each looked up in the registry kept in memory: not from the album's keys, which would be a
    walk over every photo of the gallery on every page of an album."""
    store: SettingsStore = svc.settings
    registry = RegistryStore(svc.layout.state).load_shared()  # only read here
    slug = registry.albums.get(folder)
    if slug is None:
        return {"ready": False, "models": MODELS, "own": "", "project": store.defaults.model, "photos_own": 0}
    overrides = store.all_overrides()
    return {
        "ready": True,
        "models": MODELS,
        "own": store.album_overrides(slug).get("model", ""),  # "" = the project default
        "project": store.defaults.model,
        # Only photos still in the registry: a deleted photo's settings stay behind in the store.
        "photos_own": sum(1 for key, values in overrides.items()
                          if "model" in values and key.split("/", 1)[0] == slug and key in registry.photos),
    }


def set_album_colouriser(svc: Services, folder: str, model: str) -> str | None:
    """Store ``model`` ("" = the project default) as the album's colouriser; returns the album's slug,
    None when the sensor has not seen the album yet. ValueError for a model that is not one of MODELS."""
    slug = album_slug(svc, folder)
    if slug is None:
        return None
    store = svc.settings
    if model and model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model[:40]!r}")
    # The project default's own name stores nothing for the album (set_album_defaults keeps only
    # differences), so "project default" really follows the project's choice from then on.
    store.set_album_defaults(slug, model=model or store.defaults.model)
    return slug
