"""A synthetic black-and-white scene for the colour fix's tests and bench.

A grainy "photo": a wall, a dress whose folds shade it, an arm across the dress of the dress's own
grey but drawn with a thin dark outline, and a dark floor. A tap on the dress must find the dress and
stop at its edges (the wall, the arm's outline, the floor).
"""
from __future__ import annotations

import cv2
import numpy as np


def scene(size=(1600, 1200), grain=6.0, seed=0):
    """(RGB uint8 grey picture, dress mask, arm mask) at ``size``."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grey = np.full((h, w), 170, np.float32)  # the wall
    top, bottom = 0.3 * h, 0.9 * h
    half = (0.1 + 0.15 * (yy - top) / (bottom - top)) * w
    dress = (yy >= top) & (yy <= bottom) & (np.abs(xx - 0.5 * w) <= half)  # a skirt flaring downwards
    grey[dress] = (120 + 8 * np.sin(xx / w * 2 * np.pi * 6))[dress]  # folds: slow shading of ±8
    arm = (np.abs(yy - 0.55 * h) < 0.04 * h) & (xx > 0.5 * w) & (xx < 0.85 * w)
    ring = cv2.dilate(arm.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~arm
    grey[ring], grey[arm] = 60, 122  # the arm is the dress's grey: only its outline tells them apart
    grey[yy > 0.93 * h] = 60  # the floor
    grey += rng.normal(0, grain, grey.shape)
    pixels = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return np.stack([pixels] * 3, axis=-1), dress & ~ring & ~arm, arm
