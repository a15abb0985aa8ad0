"""Previews are valid JPEG data URIs within their size and byte limits."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import before_after_preview, colourfulness, preview_data_uri

from .helpers import fixture_photo, noisy_rgb

PREFIX = "data:image/jpeg;base64,"


def jpeg_of(uri: str) -> Image.Image:
    assert uri.startswith(PREFIX)
    data = base64.b64decode(uri[len(PREFIX) :], validate=True)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    image.load()
    return image


def test_preview_is_a_small_jpeg_data_uri():
    uri = preview_data_uri(noisy_rgb((1000, 600)))

    preview = jpeg_of(uri)
    assert len(uri) <= 40_000
    assert preview.size == (256, 154)


def test_a_tight_byte_budget_lowers_quality_then_size():
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (800, 800, 3), dtype=np.uint8))

    uri = preview_data_uri(noise, max_side=256, max_bytes=6_000)

    assert len(uri) <= 6_000
    assert max(jpeg_of(uri).size) < 256


def test_small_pictures_are_not_enlarged():
    assert jpeg_of(preview_data_uri(noisy_rgb((40, 30)))).size == (40, 30)


def test_impossible_budgets_are_refused():
    with pytest.raises(ValueError, match="max_bytes must be at least 1,000"):
        preview_data_uri(noisy_rgb((40, 30)), max_bytes=10)


def test_before_after_shows_both_at_one_height_side_by_side():
    before = fixture_photo("coffee_150x100.png").convert("L")  # the grey scan
    after = fixture_photo("coffee_150x100.png").resize((600, 400))  # restored: 4× larger, in colour

    uri = before_after_preview(before, after)

    sheet = jpeg_of(uri).convert("RGB")
    assert len(uri) <= 40_000
    assert max(sheet.size) <= 256
    half = (sheet.width - 2) // 2
    assert abs(sheet.width - (2 * half + 2)) <= 1 and abs(half - sheet.height * 1.5) <= 2, "equal heights, each 3:2"
    left, right = sheet.crop((0, 0, half - 2, sheet.height)), sheet.crop((half + 4, 0, sheet.width, sheet.height))
    assert colourfulness(left) < 10 < colourfulness(right)


def test_before_after_of_different_shapes():
    uri = before_after_preview(noisy_rgb((100, 400)), noisy_rgb((800, 400)), max_side=200)

    sheet = jpeg_of(uri)
    assert max(sheet.size) <= 200
    assert sheet.width > sheet.height
