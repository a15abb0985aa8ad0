"""Where everything lives, and the environment variables that move it.

One storage root (``RESTORE_HOME``, default ``./restore_home``) holds the gallery, the stage outputs,
touch-ups, per-photo settings, the sensor's registry, model weights and ``DAGSTER_HOME``. Every other
path is derived from it so a user can move the whole project by changing one variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STAGES = ("scanned", "repaired", "toned", "upscaled", "colorized", "compressed", "published")
# Stages whose output a user may replace with a hand-edited file (published is a copy of compressed).
# Stages whose image is 4K (up to 3840 on the long side by default) store it as uncompressed TIFF
# (assets/stage_io.py: fast to write and read); the scan-resolution stages keep PNG.
TIFF_STAGES = frozenset({"upscaled", "colorized"})
TOUCHUP_STAGES = ("scanned", "repaired", "toned", "upscaled", "colorized", "compressed")
# Not a stage: the owner's corrections of the repair mask (touchups/repair-mask/<album>/<photo>.png),
# an input of `repaired` rather than a replacement of its output.
REPAIR_MASK_DIRNAME = "repair-mask"
# Not a stage either: the owner's colour fixes (touchups/colour-fix/<album>/<photo>.json), replayed on
# top of `colorized`'s colouriser (restore_dagster/colour_fixes.py).
COLOUR_FIX_DIRNAME = "colour-fix"
# Folder inside each album where restorations are published; the gallery never treats it as uploads.
PUBLISHED_DIRNAME = "restored"

ENV_HOME = "RESTORE_HOME"
ENV_GALLERY = "RESTORE_GALLERY"
ENV_DEVICE = "RESTORE_DEVICE"


def restore_home() -> Path:
    return Path(os.environ.get(ENV_HOME, "restore_home")).expanduser().resolve()


@dataclass(frozen=True)
class Layout:
    """The folders under one storage root. Pure paths: creating them is the caller's business."""

    root: Path
    gallery_override: Path | None = None

    @classmethod
    def from_env(cls) -> "Layout":
        gallery = os.environ.get(ENV_GALLERY)
        return cls(restore_home(), Path(gallery).expanduser().resolve() if gallery else None)

    @property
    def gallery(self) -> Path:
        return self.gallery_override or self.root / "gallery"

    @property
    def stages(self) -> Path:
        return self.root / "stages"

    @property
    def touchups(self) -> Path:
        return self.root / "touchups"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def weights(self) -> Path:
        return self.root / "weights"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.root / "dagster_home")

    def stage_dir(self, stage: str) -> Path:
        return self.stages / stage

    def touchup_dir(self, stage: str) -> Path:
        return self.touchups / stage

    @property
    def repair_masks(self) -> Path:
        return self.touchups / REPAIR_MASK_DIRNAME

    @property
    def colour_fixes(self) -> Path:
        return self.touchups / COLOUR_FIX_DIRNAME

    def ensure(self) -> "Layout":
        for path in (self.gallery, self.stages, self.touchups, self.state, self.weights):
            path.mkdir(parents=True, exist_ok=True)
        for stage in TOUCHUP_STAGES:
            self.touchup_dir(stage).mkdir(parents=True, exist_ok=True)
        self.repair_masks.mkdir(parents=True, exist_ok=True)
        return self


def weights_path_from_env(kind: str) -> Path | None:
    from restore_dagster.models.weights import WEIGHTS_ENV_VARS  # one list of the variables' names

    value = os.environ.get(WEIGHTS_ENV_VARS[kind])
    return Path(value).expanduser() if value else None
