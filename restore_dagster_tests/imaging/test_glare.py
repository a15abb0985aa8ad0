"""Three phone shots of a glossy print, the glare in a different place in each → one without glare."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import ImageError
from restore_dagster.imaging.glare import merge_without_glare
from restore_dagster_tests.imaging.helpers import fixture_photo, noisy_rgb


def shot(picture: np.ndarray, corners, glare_at=None, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """The print seen through a perspective (its corners at ``corners`` in a 420×360 frame) on a
    grey table, with a saturated glare spot; and the same shot without the glare."""
    h, w = picture.shape[:2]
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(corners))
    clean = cv2.warpPerspective(picture.astype(np.float32), matrix, (420, 360), borderValue=(90, 90, 90))
    clean += np.random.default_rng(seed).normal(0, 1.0, clean.shape).astype(np.float32)
    glared = clean.copy()
    if glare_at is not None:
        yy, xx = np.mgrid[0:360, 0:420]
        spot = np.exp(-((xx - glare_at[0]) ** 2 + (yy - glare_at[1]) ** 2) / (2 * 30.0 ** 2))[..., None]
        glared = glared + spot * 400
    return np.clip(glared, 0, 255).astype(np.uint8), np.clip(clean, 0, 255)


def test_glare_that_moves_between_shots_is_removed():
    picture = np.asarray(fixture_photo("astronaut_128x128.png").resize((300, 260), Image.Resampling.BICUBIC))
    first, first_clean = shot(picture, [[60, 50], [360, 40], [370, 310], [50, 320]], glare_at=(200, 150), seed=1)
    second, _ = shot(picture, [[70, 45], [355, 60], [350, 300], [65, 315]], glare_at=(120, 250), seed=2)
    third, _ = shot(picture, [[55, 60], [365, 50], [360, 320], [60, 305]], glare_at=(300, 100), seed=3)

    merged = merge_without_glare([Image.fromarray(s) for s in (first, second, third)])

    result = np.asarray(merged.image, np.float32)
    inside = np.zeros((360, 420), np.uint8)
    cv2.fillConvexPoly(inside, np.int32([[66, 56], [354, 46], [364, 304], [56, 314]]), 1)
    glare = (np.abs(first.astype(np.float32) - first_clean).max(axis=2) > 20) & (inside > 0)
    assert glare.sum() > 2000  # the first shot really had glare on the print
    before = np.abs(first.astype(np.float32) - first_clean)[glare].mean()
    after = np.abs(result - first_clean)[glare].mean()
    assert before > 60 and after < 8, (before, after)
    assert np.abs(result - first_clean)[inside > 0].mean() < 6  # and the rest of the print is not blurred away
    assert all(n >= 25 for n in merged.inliers[1:])


def test_shots_of_different_prints_are_refused_naming_the_shot():
    one = np.asarray(fixture_photo("astronaut_128x128.png").resize((300, 260)))
    other = np.asarray(noisy_rgb((300, 260), seed=9))
    with pytest.raises(ImageError, match="shot 2 could not be aligned"):
        merge_without_glare([Image.fromarray(one), Image.fromarray(other)])
    with pytest.raises(ImageError, match="at least two shots"):
        merge_without_glare([Image.fromarray(one)])
