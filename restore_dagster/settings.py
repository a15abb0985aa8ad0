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
# The colourisers a photo can use. DeOldify's knob is its render factor, DDColor's its input size.
MODELS = ("deoldify-artistic", "deoldify-stable", "ddcolor", "ddcolor-artistic", "ddcolor-tiny")
# Names stored before DDColor existed (settings.json, defaults.json, old scripts): still accepted.
LEGACY_MODELS = {"artistic": "deoldify-artistic", "stable": "deoldify-stable"}
# DDColor's input square: a multiple of its stride, 32 (models/ddcolor.py checks the same range).
DDCOLOR_INPUT_STRIDE, DDCOLOR_INPUT_SIZES = 32, (64, 2048)
FORMATS = ("JPEG", "WEBP", "AVIF")
# AVIF is measured and offered, not searched by default: on grainy 4K photos it meets the floor no
# smaller than JPEG, and its search costs more than the whole JPEG+WebP one (BENCHMARKS.md, "Web encoding").
DEFAULT_WEB_FORMATS = "JPEG,WEBP"
REPAIR_MODES = ("auto", "on", "off")
TONE_MODES = ("auto", "on", "off")
ROTATIONS = (0, 90, 180, 270)  # imaging.framing.ROTATIONS: clockwise turns the owner may ask for
# The owner's framing belongs to one photo's picture: never a project default or a one-off override.
PER_PHOTO_FIELDS = ("frame_corners", "rotation")


@dataclass(frozen=True)
class PhotoSettings:
    noise_level: int = 1  # old prints are grainy: light denoise by default
    long_side: int = 3840  # 4K UHD
    colorize: str = "auto"  # auto: black-and-white photos only
    model: str = "deoldify-artistic"
    render_factor: int = 35  # DeOldify's knob
    input_size: int = 512  # DDColor's knob (the reference's default)
    ssim_floor: float = 0.97  # SSIM at screen scale (about 2 megapixels): the floor's first half, as before
    detail_floor_1to1: float = 0.90  # share of the grain and fine texture kept at 1:1, where it turns to blotches (imaging/fidelity.py)
    web_formats: str = DEFAULT_WEB_FORMATS  # comma-separated subset of FORMATS the published file may take
    max_bytes: int = 4_000_000
    repair: str = "auto"  # scratch and dust repair: auto decides from the detected damage
    repair_threshold: float = 0.4  # the scratch detector's probability cut (BOPBTL's own default)
    # The upscaled long side is at most this many times the scan's: past it waifu2x adds pixels, not
    # detail (measured: the second 2x pass gains nothing over Lanczos; BENCHMARKS.md). 4 lets a
    # 480-pixel wallet print fill a 1920-pixel screen; a 256-pixel thumbnail stops at 1024.
    max_magnification: float = 4.0
    tone: str = "auto"  # tone and colour restoration: auto corrects only prints measured faded, fogged or cast
    # Manual framing (restore-photos frame, the viewer's Frame panel): the print's four corners as
    # fractions of the upright original (imaging/framing.py says why), or None for automatic.
    frame_corners: tuple[tuple[float, float], ...] | None = None
    rotation: int = 0  # degrees clockwise, after framing

    def __post_init__(self):
        if self.model in LEGACY_MODELS:
            object.__setattr__(self, "model", LEGACY_MODELS[self.model])
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
        low, high = DDCOLOR_INPUT_SIZES
        if not (isinstance(self.input_size, int) and low <= self.input_size <= high
                and self.input_size % DDCOLOR_INPUT_STRIDE == 0):
            problems.append(f"input_size must be a multiple of {DDCOLOR_INPUT_STRIDE} between {low} and {high}, "
                            f"not {self.input_size}")
        if not 0.5 <= self.ssim_floor <= 1.0:
            problems.append(f"ssim_floor must be between 0.5 and 1, not {self.ssim_floor}")
        if not 0.5 <= self.detail_floor_1to1 <= 1.0:
            problems.append(f"detail_floor_1to1 must be between 0.5 and 1, not {self.detail_floor_1to1}")
        if not isinstance(self.web_formats, str) or not parse_web_formats(self.web_formats):
            problems.append(f"web_formats must be a comma-separated list of {', '.join(FORMATS)}, not {self.web_formats!r}")
        if self.max_bytes < 10_000:
            problems.append(f"max_bytes must be at least 10000, not {self.max_bytes}")
        if self.repair not in REPAIR_MODES:
            problems.append(f"repair must be one of {REPAIR_MODES}, not {self.repair!r}")
        if not 0.05 <= self.repair_threshold <= 0.95:
            problems.append(f"repair_threshold must be between 0.05 and 0.95, not {self.repair_threshold}")
        if not 1 <= self.max_magnification <= 64:  # also refuses NaN
            problems.append(f"max_magnification must be between 1 and 64, not {self.max_magnification}")
        if self.tone not in TONE_MODES:
            problems.append(f"tone must be one of {TONE_MODES}, not {self.tone!r}")
        if self.frame_corners is not None:
            from restore_dagster.imaging.framing import check_corners  # OpenCV only for photos framed by hand

            try:  # stored normalised (ordered, rounded tuples), so equal framings give equal fingerprints
                object.__setattr__(self, "frame_corners", check_corners(self.frame_corners))
            except ValueError as exc:
                problems.append(f"frame_corners: {exc}")
        if self.rotation not in ROTATIONS:
            problems.append(f"rotation must be one of {ROTATIONS} degrees clockwise, not {self.rotation!r}")
        if problems:
            raise ValueError("invalid settings: " + "; ".join(problems))

    @property
    def family(self) -> str:
        """"deoldify" or "ddcolor": which colouriser code runs."""
        return self.model.split("-", 1)[0]

    @property
    def weights_kind(self) -> str:
        """The models/weights.py kind of the model's checkpoint ("artistic", "ddcolor-tiny", ...)."""
        return self.model.removeprefix("deoldify-")

    @property
    def colour_knob(self) -> tuple[str, int]:
        """The model's own setting: ("render_factor", n) for DeOldify, ("input_size", n) for DDColor."""
        name = "render_factor" if self.family == "deoldify" else "input_size"
        return name, getattr(self, name)

    def updated(self, **changes: Any) -> "PhotoSettings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = tuple(f.name for f in dataclasses.fields(PhotoSettings))
_DEFAULT_FIELDS = tuple(name for name in FIELDS if name not in PER_PHOTO_FIELDS)


def parse_web_formats(text: str) -> tuple[str, ...]:
    """``"jpeg, webp"`` → ``("JPEG", "WEBP")``; empty when anything in it is not one of FORMATS."""
    names = tuple(dict.fromkeys(part.strip().upper() for part in str(text).split(",")))
    return names if names and all(name in FORMATS for name in names) else ()


DEFAULTS_KEY = "defaults"  # `restore-photos settings defaults ...` changes every photo without its own value
# `restore-photos settings album:NAME ...` changes every photo of the album without its own value. Photo
# keys always hold a "/" and album names never do, so "album:NAME" cannot be taken for a photo.
ALBUM_PREFIX = "album:"


def album_setting_name(key: str) -> str | None:
    """The album an ``album:NAME`` settings key names, or None for any other key."""
    if key.startswith(ALBUM_PREFIX) and "/" not in key and len(key) > len(ALBUM_PREFIX):
        return key[len(ALBUM_PREFIX):]
    return None


class SettingsStore:
    """``state/settings.json``: ``{photo_key: {field: value}}`` holding only what differs from defaults.

    Three layers, the nearest winning: the project's defaults (the built-in ones changed by the user,
    ``state/defaults.json``), an album's defaults (``state/album_settings.json``: ``{album: {field:
    value}}``) and the photo's own values.
    """

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "settings.json"
        self.defaults_path = Path(state_dir) / "defaults.json"
        self.albums_path = Path(state_dir) / "album_settings.json"
        # Read once, like the defaults (a store lives for one tick or request): get() runs for every
        # photo of a sync, and reading the album file there meant one file read per photo.
        self._albums: dict[str, dict[str, Any]] = read_json(self.albums_path, {}) or {}
        stored = read_json(self.defaults_path, {}) or {}
        self.defaults = PhotoSettings().updated(**{k: v for k, v in stored.items() if k in _DEFAULT_FIELDS})

    def set_defaults(self, **changes: Any) -> PhotoSettings:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        per_photo = sorted(k for k in PER_PHOTO_FIELDS if changes.get(k) is not None)
        if per_photo:
            raise ValueError(f"{', '.join(per_photo)} can only be set per photo (restore-photos frame KEY)")
        stored = {**(read_json(self.defaults_path, {}) or {}), **{k: v for k, v in changes.items() if v is not None}}
        self.defaults = PhotoSettings().updated(**stored)  # validates before anything is stored
        atomic_write_json(self.defaults_path, stored)
        return self.defaults

    def reset_defaults(self) -> PhotoSettings:
        """Back to the built-in project defaults (photos' own values stay)."""
        self.defaults_path.unlink(missing_ok=True)
        self.defaults = PhotoSettings()
        return self.defaults

    def album_defaults(self, album: str) -> PhotoSettings:
        """What a photo of ``album`` gets when it has no value of its own."""
        stored = self._albums.get(album, {})
        try:
            return self.defaults.updated(**{k: v for k, v in stored.items() if k in _DEFAULT_FIELDS})
        except ValueError as exc:  # a hand-edited file: say which file and which album
            raise ValueError(f"{self.albums_path}: settings of album {album}: {exc}") from None

    def album_overrides(self, album: str) -> dict[str, Any]:
        """The values ``album`` sets itself (what ``album:NAME`` stores), without the project's."""
        return dict(self._albums.get(album, {}))

    def set_album_defaults(self, album: str, **changes: Any) -> PhotoSettings:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        per_photo = sorted(k for k in PER_PHOTO_FIELDS if changes.get(k) is not None)
        if per_photo:
            raise ValueError(f"{', '.join(per_photo)} can only be set per photo (restore-photos frame KEY)")
        data = read_json(self.albums_path, {}) or {}
        merged = {**data.get(album, {}), **{k: v for k, v in changes.items() if v is not None}}
        result = self.defaults.updated(**merged)  # validates before anything is stored
        data[album] = {k: getattr(result, k) for k in merged if getattr(self.defaults, k) != getattr(result, k)}
        if not data[album]:
            del data[album]
        atomic_write_json(self.albums_path, data)
        self._albums = data
        return result

    def reset_album_defaults(self, album: str) -> PhotoSettings:
        """The album's photos back to the project defaults (their own values stay)."""
        data = read_json(self.albums_path, {}) or {}
        if data.pop(album, None) is not None:
            atomic_write_json(self.albums_path, data)
        self._albums = data
        return self.defaults

    def _load(self) -> dict[str, dict[str, Any]]:
        return read_json(self.path, {}) or {}

    def overrides(self, key: str) -> dict[str, Any]:
        return dict(self._load().get(key, {}))

    def all_overrides(self) -> dict[str, dict[str, Any]]:
        return self._load()

    def get(self, key: str, overrides: dict[str, dict[str, Any]] | None = None) -> PhotoSettings:
        stored = (overrides if overrides is not None else self._load()).get(key, {})
        base = self.album_defaults(key.split("/", 1)[0])
        try:
            return base.updated(**{k: v for k, v in stored.items() if k in FIELDS})
        except ValueError as exc:  # a hand-edited file: say which file and which photo
            raise ValueError(f"{self.path}: settings of {key}: {exc}") from None

    def set(self, key: str, **changes: Any) -> PhotoSettings:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        data = self._load()
        merged = {**data.get(key, {}), **{k: v for k, v in changes.items() if v is not None}}
        base = self.album_defaults(key.split("/", 1)[0])
        result = base.updated(**merged)  # validates before anything is stored
        # Compared as validated (a legacy model name equals its new name): only real differences are kept.
        data[key] = {k: getattr(result, k) for k in merged if getattr(base, k) != getattr(result, k)}
        if not data[key]:
            del data[key]
        atomic_write_json(self.path, data)
        return result

    def forget(self, key: str, *fields: str) -> PhotoSettings:
        """Drop ``fields`` of ``key``'s own values (back to the defaults, e.g. framing back to automatic)."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        data = self._load()
        own = data.get(key, {})
        if any(field in own for field in fields):
            data[key] = {k: v for k, v in own.items() if k not in fields}
            if not data[key]:
                del data[key]
            atomic_write_json(self.path, data)
        return self.get(key, data)

    def reset(self, key: str) -> None:
        data = self._load()
        if data.pop(key, None) is not None:
            atomic_write_json(self.path, data)
