"""The restoration keeps the scan's tonal range: with every optional step off (repair, tone, colour),
the published picture has the scan's mean and highlights within half a grey level.

Before the fix each waifu2x 2× pass darkened the picture (its networks answer a flat grey v with
about v − v/256: −0.5 at mid-grey, −1 in the highlights), so a photo upscaled in several passes was
published 1–2 levels darker, its highlights 2–6 levels lower.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_dagster.lineage import read_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import FIXTURES
from restore_dagster_tests.pipeline.harness import drain

HIGHLIGHT_SHARE = 0.02  # the brightest 2 % of the picture: where "highlights 2–6 levels lower" was seen


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def luminance(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def highlights(values: np.ndarray) -> float:
    """The mean of the brightest HIGHLIGHT_SHARE of the pixels (a mean, so it is not one pixel's level)."""
    ordered = np.sort(values, axis=None)
    return float(ordered[-max(1, int(ordered.size * HIGHLIGHT_SHARE)):].mean())


@pytest.mark.parametrize("grey", [False, True], ids=["colour", "grey"])
def test_published_keeps_the_scans_mean_and_highlights(layout, resources, instance, grey):
    photo = Image.open(FIXTURES / "imaging" / "astronaut_128x128.png").convert("L" if grey else "RGB")
    album = layout.gallery / "Album"
    album.mkdir(parents=True)
    photo.save(album / "astronaut.png")
    # 128 → 256 → 512: two waifu2x passes (the first with its denoiser), then the web encoding.
    SettingsStore(layout.state).set_defaults(long_side=512, colorize="off", repair="off", tone="off")
    drain(instance, resources)

    key = "album/astronaut"
    scanned = luminance(read_record(layout, "scanned", key).file)
    restorations = sorted((album / "restored").iterdir())  # the web file, and a download JPEG beside a WebP
    assert restorations
    for restoration in restorations:
        published = luminance(restoration)
        assert published.shape == (512, 512)
        assert abs(published.mean() - scanned.mean()) <= 0.5, (restoration.name, published.mean(), scanned.mean())
        assert abs(highlights(published) - highlights(scanned)) <= 0.5, (
            restoration.name, highlights(published), highlights(scanned))
