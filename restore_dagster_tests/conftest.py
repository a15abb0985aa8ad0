"""Shared fixtures: a temporary storage root with a folder gallery, tiny scans, stand-in DeOldify weights."""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restore_dagster.config import Layout

FIXTURES = Path(__file__).parent / "fixtures"
warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
# Never a developer's real Celery broker: with it set, importing the project's definitions would
# send steps to it (the Celery tests set their own, for their worker processes only).
for _name in ("RESTORE_CELERY_BROKER", "RESTORE_CELERY_BACKEND", "RESTORE_CELERY_VISIBILITY_TIMEOUT"):
    os.environ.pop(_name, None)


def write_scan(path: Path, grey: bool = True, size=(40, 30), seed: int = 0, fmt: str = "JPEG") -> Path:
    """A tiny photo-like scan: smooth gradients plus noise, grey or colour."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 90 * np.sin(x / 5 + seed), 128 + 90 * np.cos(y / 4), 128 + 60 * np.sin((x + y) / 7)], -1)
    pixels = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if grey:
        image = image.convert("L")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt)
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def layout(tmp_path, monkeypatch) -> Layout:
    """A fresh storage root; small project defaults so a photo runs through all stages in seconds.

    Repair is off by default here (so no test needs the repair networks' weights or their minutes
    on a CPU); the repair tests (pipeline/test_repair_stage.py) turn it on.
    """
    from restore_dagster.settings import SettingsStore

    home = tmp_path / "restore_home"
    monkeypatch.setenv("RESTORE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    monkeypatch.delenv("RESTORE_GALLERY", raising=False)
    monkeypatch.delenv("RESTORE_POSTGRES_URL", raising=False)  # never a developer's real database
    result = Layout.from_env().ensure()
    SettingsStore(result.state).set_defaults(long_side=96, render_factor=8, noise_level=1, max_bytes=200_000, ssim_floor=0.9, repair="off")
    return result


@pytest.fixture(scope="session")
def artistic_weights(tmp_path_factory) -> Path:
    """The deterministic stand-in weights for the artistic generator, saved like an official checkpoint."""
    import torch

    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict

    path = tmp_path_factory.mktemp("weights") / "ColorizeArtistic_gen.pth"
    state = standin_state_dict(load_manifest(FIXTURES / "deoldify" / "manifest_artistic.json"))
    torch.save(state, path)
    return path


@pytest.fixture
def resources(layout, artistic_weights):
    from restore_dagster.resources import GpuResource, StorageResource

    return {
        "storage": StorageResource(home=str(layout.root)),
        "gpu": GpuResource(device="cpu", artistic_weights=str(artistic_weights), download_weights=False),
    }


@pytest.fixture(scope="session")
def scratch_weights(tmp_path_factory) -> Path:
    """Stand-in BOPBTL scratch-detection weights saved like the official FT_Epoch_latest.pt."""
    from restore_dagster_tests.models.scratch_standin import write_scratch_checkpoint

    return write_scratch_checkpoint(tmp_path_factory.mktemp("scratch_weights") / "FT_Epoch_latest.pt")


@pytest.fixture(scope="session")
def lama_weights(tmp_path_factory) -> Path:
    """Stand-in big-lama weights saved like the official best.ckpt: a Lightning checkpoint whose
    state_dict holds the 989 ``generator.*`` tensors plus discriminator/loss entries to be ignored."""
    from restore_dagster_tests.models.lama_standin import write_lightning_checkpoint

    return write_lightning_checkpoint(tmp_path_factory.mktemp("lama_weights") / "best.ckpt")
