"""Several phone shots of one glossy print → one picture without the glare.

A print under a lamp or a window shows a bright reflection whose place moves with the camera, while
the picture stays where it is on the paper. So: align every shot onto the first (SIFT features, a
homography by RANSAC: the print is flat, so one homography maps it exactly), then per pixel leave out
the brightest shot (the one with the glare there) and average the others; with only two shots, take
the darker. Pixels a shot does not cover (outside its frame after warping) never count. A plain
library: no Dagster, no files.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import ImageError

FEATURE_LONG_SIDE = 1200  # features are found on copies this size; the homography is scaled back
MIN_INLIERS = 25


@dataclass(frozen=True)
class GlareMerge:
    image: Image.Image  # the merged picture, in the first shot's frame (RGB)
    homographies: list[np.ndarray]  # per shot, the 3×3 map of its pixels onto the first's
    inliers: list[int]  # per shot, the feature matches that agreed with its homography


def merge_without_glare(shots: list[Image.Image]) -> GlareMerge:
    """The shots merged in the first one's frame; ImageError naming a shot that cannot be aligned."""
    if len(shots) < 2:
        raise ImageError("glare removal needs at least two shots of the print, from different angles")
    reference = np.asarray(shots[0].convert("RGB"))
    height, width = reference.shape[:2]
    finder = cv2.SIFT_create()
    ref_points, ref_features, ref_scale = _features(finder, reference)
    aligned = [reference.astype(np.float32)]
    valid = [np.ones((height, width), bool)]
    homographies, inliers = [np.eye(3)], [0]
    for number, shot in enumerate(shots[1:], start=2):
        pixels = np.asarray(shot.convert("RGB"))
        points, features, scale = _features(finder, pixels)
        homography, agreeing = _homography(points, features, scale, ref_points, ref_features, ref_scale)
        if homography is None or agreeing < MIN_INLIERS:
            raise ImageError(f"shot {number} could not be aligned with shot 1 ({agreeing} matching features; "
                             f"at least {MIN_INLIERS} are needed): is it the same print?")
        warped = cv2.warpPerspective(pixels.astype(np.float32), homography, (width, height), flags=cv2.INTER_LINEAR)
        covered = cv2.warpPerspective(np.ones(pixels.shape[:2], np.uint8), homography, (width, height), flags=cv2.INTER_NEAREST)
        aligned.append(warped)
        valid.append(cv2.erode(covered, np.ones((3, 3), np.uint8)) > 0)  # no interpolated frame edge
        homographies.append(homography)
        inliers.append(agreeing)
    merged = _without_brightest(np.stack(aligned), np.stack(valid))
    return GlareMerge(Image.fromarray(np.clip(np.rint(merged), 0, 255).astype(np.uint8)), homographies, inliers)


def _features(finder, pixels: np.ndarray):
    scale = min(1.0, FEATURE_LONG_SIDE / max(pixels.shape[:2]))
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    if scale < 1:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    points, features = finder.detectAndCompute(grey, None)
    return points, features, scale


def _homography(points, features, scale, ref_points, ref_features, ref_scale):
    if features is None or ref_features is None or len(points) < 4 or len(ref_points) < 4:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(features, ref_features, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < 0.75 * n.distance]  # Lowe's ratio test
    if len(good) < 4:
        return None, len(good)
    source = np.float32([points[m.queryIdx].pt for m in good]) / scale
    target = np.float32([ref_points[m.trainIdx].pt for m in good]) / ref_scale
    homography, mask = cv2.findHomography(source, target, cv2.RANSAC, 3.0)
    return homography, int(mask.sum()) if mask is not None else 0


def _without_brightest(stack: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per pixel, the mean of the covering shots but the brightest (the darker of two; the one of one)."""
    luma = stack @ np.array([0.299, 0.587, 0.114], np.float32)
    luma = np.where(valid, luma, -np.inf)
    count = valid.sum(axis=0)
    brightest = np.argmax(luma, axis=0)
    keep = valid.copy()
    drop = count >= 2
    rows, cols = np.nonzero(drop)
    keep[brightest[rows, cols], rows, cols] = False
    weights = keep.astype(np.float32)[..., None]
    return (stack * weights).sum(axis=0) / np.maximum(weights.sum(axis=0), 1)
