"""Is a scan a black-and-white photograph, and how colourful is a picture?

Grey detection decides whether a scan is colourised, so it must call a *toned* monochrome print
grey. Old prints are rarely neutral: sepia and selenium toning, yellowed paper, and a phone's white
balance all give them a tint, and toning tints shadows and highlights differently. What they never
have is two different colours at the same brightness. So the measure is the chroma that
brightness does not explain: each luma band gets its own tint (plus a gentle lighting gradient
across the picture), and whatever chroma the tints cannot account for is colour. A neutral print,
a sepia print and a split-toned print leave almost nothing; a colour photograph (a red dress and a
green lawn of equal brightness, skin against a blue sky) leaves a lot.

Known limit: a colour photo whose hue is a function of brightness alone (a sunset gradient, a
monochrome-looking scene under one coloured light) reads as toned monochrome.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .sampling import rgb_array

# Long side of the working copy: enough pixels for stable percentiles, few enough to take ~50 ms.
_ANALYSIS_SIDE = 256
# Luma bands of 16 levels: narrow enough that a toning curve is nearly constant inside one band.
_BAND_WIDTH = 16
# Up to 5 % of the pixels may carry colour in a grey photo: a red date stamp or a sticker in a
# corner stays grey, a colour photograph with a large neutral background does not.
_PERCENTILE = 95.0
# Reweightings of the least-absolute-deviations fit; measured stable after three.
_REWEIGHTINGS = 3
# Residual chroma (8-bit Cb/Cr units) at that percentile separating toned monochrome from colour.
# Measured on scikit-image's colour photographs and their toned versions: neutral 0, sepia and
# split-toned under 2, lit unevenly under 0.5, sepia saved as JPEG quality 30 up to 3.7 (5.0 on a
# 128-pixel thumbnail); colour photographs 11–48 (the cat 18, the coffee cup 25), the faintest
# (the Hubble deep field) 8.5. The tests in restore_dagster_tests/imaging/test_greyness.py keep it so.
GREY_THRESHOLD = 6.0


def chroma_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JPEG's full-range Y, Cb − 128, Cr − 128 as float32 planes."""
    rgb = rgb.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def untinted_chroma(image: Image.Image) -> float:
    """The 95th percentile of chroma that brightness and a lighting gradient leave unexplained (0 = monochrome).

    Chroma (Cb, Cr) is fitted to one tint per luma band plus a cast that changes linearly across
    the picture in proportion to brightness (a phone photographing a print near a window: warm on
    one side, cool on the other); the measure is what the fit leaves. The fit is a least-absolute-
    deviations one (iteratively reweighted least squares), so the tints follow the majority of each
    band: a red date stamp cannot drag its band's tint away and make the whole band look coloured.
    """
    y, cb, cr = chroma_planes(rgb_array(image, _ANALYSIS_SIDE))
    height, width = y.shape
    bands = 256 // _BAND_WIDTH
    band = np.minimum((y / _BAND_WIDTH).astype(np.int64), bands - 1).ravel()
    rows, cols = np.mgrid[0:height, 0:width]
    brightness = (y / 255.0).ravel()
    design = np.zeros((band.size, bands + 2))
    design[np.arange(band.size), band] = 1.0
    design[:, bands] = (cols.ravel() / max(width - 1, 1) - 0.5) * brightness
    design[:, bands + 1] = (rows.ravel() / max(height - 1, 1) - 0.5) * brightness
    chroma = np.stack([cb.ravel(), cr.ravel()], axis=1).astype(np.float64)
    weights = np.ones(band.size)
    for _ in range(_REWEIGHTINGS + 1):
        # Normal equations: an 18×18 system instead of a 65,536-row least squares; lstsq copes
        # with the empty bands that leave it singular.
        weighted = design * weights[:, None]
        fit, *_ = np.linalg.lstsq(weighted.T @ design, weighted.T @ chroma, rcond=None)
        residual = np.hypot(*(chroma - design @ fit).T)
        # 1/|r| turns squared error into absolute error; the floor of one level keeps the
        # weights finite on pixels the fit already explains.
        weights = 1.0 / np.maximum(residual, 1.0)
    return float(np.percentile(residual, _PERCENTILE))


def is_grey_image(image: Image.Image) -> tuple[bool, float]:
    """``(grey, measure)``: grey when :func:`untinted_chroma` is below :data:`GREY_THRESHOLD`.

    Toned monochrome (sepia, yellowed, colour-cast) counts as grey, so it gets colourised.
    """
    measure = untinted_chroma(image)
    return measure < GREY_THRESHOLD, measure


def colourfulness(image: Image.Image) -> float:
    """Hasler & Süsstrunk (2003) colourfulness M = σ_rgyb + 0.3·μ_rgyb on the 0–255 scale.

    About 0 for grey, ~15 "slightly", ~33 "moderately", ~59 "highly", ≥ 82 "extremely colourful".
    Measured on a copy at most 512 pixels on its long side: it is a global statistic.
    """
    rgb = rgb_array(image, 512).astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.sqrt(rg.var() + yb.var())
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * mean)
