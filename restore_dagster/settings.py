"""Per-photo restoration settings that persist between runs.

Project defaults live here; a photo's own choices (set with ``restore-photos settings``) are stored as
overrides in ``state/settings.json`` and honoured by every later run, the sensor's included. A
launchpad run config can override them once without changing what is stored.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restore_dagster.files import atomic_write_json, read_json

NOISE_LEVELS = (-1, 0, 1, 2, 3)
COLORIZE_MODES = ("auto", "on", "off")
MODELS = ("artistic", "stable")
FORMATS = ("JPEG", "WEBP")
REPAIR_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class PhotoSettings:
    noise_level: int = 1  # old prints are grainy: light denoise by default
    long_side: int = 3840  # 4K UHD
    colorize: str = "auto"  # auto: black-and-white photos only
    model: str = "artistic"
    render_factor: int = 35
    ssim_floor: float = 0.97
    max_bytes: int = 4_000_000
    repair: str = "auto"  # scratch and dust repair: auto decides from the detected damage
    repair_threshold: float = 0.4  # the scratch detector's probability cut (BOPBTL's own default)

    def __post_init__(self):
        problems = []
        if self.noise_level not in NOISE_LEVELS:
            problems.append(f"noise_level must be one of {NOISE_LEVELS}, not {self.noise_level}")
        if not 64 <= self.long_side <= 16384:
            problems.append(f"long_side must be between 64 and 16384, not {self.long_side}")
        if self.colorize not in COLORIZE_MODES:
            problems.append(f"colorize must be one of {COLORIZE_MODES}, not {self.colorize!r}")
        if self.model not in MODELS:
            problems.append(f"model must be one of {MODELS}, not {self.model!r}")
        if not 7 <= self.render_factor <= 64:
            problems.append(f"render_factor must be between 7 and 64, not {self.render_factor}")
        if not 0.5 <= self.ssim_floor <= 1.0:
            problems.append(f"ssim_floor must be between 0.5 and 1, not {self.ssim_floor}")
        if self.max_bytes < 10_000:
            problems.append(f"max_bytes must be at least 10000, not {self.max_bytes}")
        if self.repair not in REPAIR_MODES:
            problems.append(f"repair must be one of {REPAIR_MODES}, not {self.repair!r}")
        if not 0.05 <= self.repair_threshold <= 0.95:
            problems.append(f"repair_threshold must be between 0.05 and 0.95, not {self.repair_threshold}")
        if problems:
            raise ValueError("invalid settings: " + "; ".join(problems))

    def updated(self, **changes: Any) -> "PhotoSettings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = tuple(f.name for f in dataclasses.fields(PhotoSettings))


DEFAULTS_KEY = "defaults"  # `restore-photos settings defaults ...` changes every photo without its own value


class SettingsStore:
    """``state/settings.json``: ``{photo_key: {field: value}}`` holding only what differs from defaults.

    Project-wide defaults (the built-in ones changed by the user) live in ``state/defaults.json``.
    """

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "settings.json"
        self.defaults_path = Path(state_dir) / "defaults.json"
        stored = read_json(self.defaults_path, {}) or {}
        self.defaults = PhotoSettings().updated(**{k: v for k, v in stored.items() if k in FIELDS})

    def set_defaults(self, **changes: Any) -> PhotoSettings:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        stored = {**(read_json(self.defaults_path, {}) or {}), **{k: v for k, v in changes.items() if v is not None}}
        self.defaults = PhotoSettings().updated(**stored)  # validates before anything is stored
        atomic_write_json(self.defaults_path, stored)
        return self.defaults

    def reset_defaults(self) -> PhotoSettings:
        """Back to the built-in project defaults (photos' own values stay)."""
        self.defaults_path.unlink(missing_ok=True)
        self.defaults = PhotoSettings()
        return self.defaults

    def _load(self) -> dict[str, dict[str, Any]]:
        return read_json(self.path, {}) or {}

    def overrides(self, key: str) -> dict[str, Any]:
        return dict(self._load().get(key, {}))

    def all_overrides(self) -> dict[str, dict[str, Any]]:
        return self._load()

    def get(self, key: str, overrides: dict[str, dict[str, Any]] | None = None) -> PhotoSettings:
        stored = (overrides if overrides is not None else self._load()).get(key, {})
        try:
            return self.defaults.updated(**{k: v for k, v in stored.items() if k in FIELDS})
        except ValueError as exc:  # a hand-edited file: say which file and which photo
            raise ValueError(f"{self.path}: settings of {key}: {exc}") from None

    def set(self, key: str, **changes: Any) -> PhotoSettings:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        data = self._load()
        merged = {**data.get(key, {}), **{k: v for k, v in changes.items() if v is not None}}
        result = self.defaults.updated(**merged)  # validates before anything is stored
        data[key] = {k: v for k, v in merged.items() if getattr(self.defaults, k) != v}
        if not data[key]:
            del data[key]
        atomic_write_json(self.path, data)
        return result

    def reset(self, key: str) -> None:
        data = self._load()
        if data.pop(key, None) is not None:
            atomic_write_json(self.path, data)
