"""The GPU resource: picks the device, caches models for a run, frees memory between photos.

Models are loaded lazily and kept for the whole run (a batch of photos loads each model once);
intermediate tensors are dropped after every photo and every materialization, with the memory in use
logged before and after; teardown releases everything, even when the run failed.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from restore_dagster.config import ENV_DEVICE, Layout

log = logging.getLogger(__name__)


def pick_device(preference: str = "auto") -> str:
    from restore_dagster.models.device import resolve_device

    preference = (preference or "auto").lower()
    return str(resolve_device(None if preference == "auto" else preference))


def memory_in_use(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.memory_allocated() / 2**20:.0f} MiB allocated, {torch.cuda.memory_reserved() / 2**20:.0f} MiB reserved"
    if device == "mps":
        return f"{torch.mps.current_allocated_memory() / 2**20:.0f} MiB allocated"
    try:
        with open("/proc/self/statm") as statm:
            rss_pages = int(statm.read().split()[1])
        return f"{rss_pages * os.sysconf('SC_PAGE_SIZE') / 2**20:.0f} MiB RSS"
    except (OSError, ValueError):
        return "unknown"


class GpuResource(dg.ConfigurableResource):
    """``device``: auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu; ``$RESTORE_DEVICE`` when empty.

    DeOldify weights: an explicit path per model (``$RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS`` /
    ``$RESTORE_DEOLDIFY_STABLE_WEIGHTS`` when empty), else the verified cache under the storage root,
    downloaded there when ``download_weights`` is true. The repair models likewise:
    ``scratch_weights`` (BOPBTL's ``FT_Epoch_latest.pt``, ``$RESTORE_SCRATCH_WEIGHTS`` when empty) and
    ``lama_weights`` (big-lama's ``best.ckpt``, ``$RESTORE_LAMA_WEIGHTS`` when empty). DDColor's:
    ``$RESTORE_DDCOLOR_WEIGHTS``, ``$RESTORE_DDCOLOR_ARTISTIC_WEIGHTS``, ``$RESTORE_DDCOLOR_TINY_WEIGHTS``,
    else the cache (size checked, hash pinned on first download).
    """

    device: str = ""
    artistic_weights: str = ""
    stable_weights: str = ""
    scratch_weights: str = ""
    lama_weights: str = ""
    download_weights: bool = True
    weights_dir: str = ""

    _device: str | None = PrivateAttr(default=None)
    _models: dict = PrivateAttr(default_factory=dict)
    _weights_errors: dict = PrivateAttr(default_factory=dict)
    _log: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._models = {}
        self._device = None
        self._weights_errors = {}
        self._log = context.log

    def _loaded(self, key: tuple, started: float) -> None:
        # One line per model load, in the step's log: with steps on other processes or machines
        # (celery_steps.py) it shows where a batch's models were loaded, and that it was once.
        (self._log or log).info(f"model loaded: {'/'.join(map(str, key))} on {self.torch_device} "
                                f"in {time.perf_counter() - started:.2f}s (process {os.getpid()})")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.release()

    @property
    def torch_device(self) -> str:
        if self._device is None:
            self._device = pick_device(self.device or os.environ.get(ENV_DEVICE, "auto"))
        return self._device

    def upphoto(self, noise_level: int):
        from restore_dagster.models import waifu2x

        key = ("upphoto", noise_level)
        if key not in self._models:
            started = time.perf_counter()
            self._models[key] = waifu2x.load_upphoto(noise_level, device=self.torch_device)
            self._loaded(key, started)
        return self._models[key]

    def weights_for(self, kind: str, download: bool | None = None) -> Path:
        """``download``: None follows ``download_weights``; False never downloads (colour variations
        use only the models already here, rather than fetch five checkpoints for one contact sheet)."""
        from restore_dagster.models import weights

        if download is None and kind in self._weights_errors:  # tried this run already: fail every photo fast, download once
            raise self._weights_errors[kind]
        explicit = {
            "artistic": self.artistic_weights, "stable": self.stable_weights,
            "scratch": self.scratch_weights, "lama": self.lama_weights,
        }.get(kind) or None
        # Without a configured path, resolve_weights reads the kind's environment variable itself,
        # so an error names the variable (the owner's fix) rather than "explicit_path argument".
        explicit_path = Path(explicit).expanduser() if explicit else None
        cache = Path(self.weights_dir) if self.weights_dir else Layout.from_env().weights
        try:
            return weights.resolve_weights(
                kind, cache_dir=cache, explicit_path=explicit_path,
                download=self.download_weights if download is None else download, progress=False,
            )
        except weights.WeightsError as exc:
            if download is None:
                self._weights_errors[kind] = exc
            raise

    def colorizer(self, model: str, download: bool | None = None):
        """The colouriser for a ``settings.MODELS`` choice (old names "artistic"/"stable" too), loaded once.

        ``download`` as in ``weights_for``."""
        from restore_dagster.settings import LEGACY_MODELS

        model = LEGACY_MODELS.get(model, model)
        key = ("colorizer", model)
        if key not in self._models:
            # One colouriser at a time: DeOldify stable alone is 0.87 GB, DDColor large 0.91 GB.
            for other in [k for k in self._models if k[0] == "colorizer"]:
                del self._models[other]
            self.free_memory()
            started = time.perf_counter()
            kind = model.removeprefix("deoldify-")
            if model.startswith("deoldify-"):
                from restore_dagster.models import deoldify

                loaded = deoldify.load_generator(kind, self.weights_for(kind, download), device=self.torch_device)
            else:
                from restore_dagster.models import ddcolor

                variant = "tiny" if model == "ddcolor-tiny" else "large"
                loaded = ddcolor.load_ddcolor(variant, self.weights_for(kind, download), device=self.torch_device)
            self._models[key] = loaded
            self._loaded(key, started)
        return self._models[key]

    def scratch_detector(self):
        """BOPBTL's scratch-detection UNet, loaded once per run (raises WeightsError like ``colorizer``)."""
        from restore_dagster.models import scratch_detection

        key = ("repair", "scratch")
        if key not in self._models:
            started = time.perf_counter()
            self._models[key] = scratch_detection.load_detector(self.weights_for("scratch"), device=self.torch_device)
            self._loaded(key, started)
        return self._models[key]

    def inpainter(self):
        """LaMa's big-lama generator, loaded once per run (raises WeightsError like ``colorizer``)."""
        from restore_dagster.models import lama

        key = ("repair", "lama")
        if key not in self._models:
            started = time.perf_counter()
            self._models[key] = lama.load_inpainter(self.weights_for("lama"), device=self.torch_device)
            self._loaded(key, started)
        return self._models[key]

    def release_models(self, family: str) -> None:
        """Drop the cached models of one family ("repair", "colorizer"): the repair networks are needed
        by one stage only, and the upscaler and colouriser that follow want the memory."""
        for key in [k for k in self._models if k[0] == family]:
            del self._models[key]
        if self._device is not None:
            self.free_memory(label=f"{family} models released")

    def free_memory(self, logger: Any = None, label: str = "") -> None:
        """Drop what the last photo left behind; the cached models stay."""
        import torch

        from restore_dagster.models.device import release_memory

        before = memory_in_use(self.torch_device)
        release_memory(torch.device(self.torch_device))
        (logger or log).info(f"memory {label}: before free {before}; after {memory_in_use(self.torch_device)}")

    def release(self) -> None:
        self._models.clear()
        if self._device is not None:
            self.free_memory(label="teardown")
