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


def album_colouriser(svc: Services, folder: str, keys: list[str] | None = None) -> dict:
    """What the album page's colouriser form shows. ``keys``: the album's photo keys when the page
    has them already (its states were just read), which spares a second read of the registry: a
    large gallery's registry is the page's biggest read."""
    store: SettingsStore = svc.settings
    if keys:
        slug = keys[0].split("/", 1)[0]
    else:
        registry = RegistryStore(svc.layout.state).load()
        slug = registry.albums.get(folder)
        keys = [key for key in registry.photos if key.split("/", 1)[0] == slug] if slug else []
    if slug is None:
        return {"ready": False, "models": MODELS, "own": "", "project": store.defaults.model, "photos_own": 0}
    overrides = store.all_overrides()
    return {
        "ready": True,
        "models": MODELS,
        "own": store.album_overrides(slug).get("model", ""),  # "" = the project default
        "project": store.defaults.model,
        "photos_own": sum(1 for key in keys if "model" in overrides.get(key, {})),
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
