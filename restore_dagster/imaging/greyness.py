"""Is a scan a black-and-white photograph, and how colourful is a picture?

Grey detection decides whether a scan is colourised, so it must call a *toned* monochrome print
grey. Old prints are rarely neutral: sepia and selenium toning, yellowed paper, and a phone's white
balance all give them a tint, and toning tints shadows and highlights differently. What they never
have is two different colours at the same brightness. So the measure is the chroma that
brightness does not explain: each luma band gets its own tint (plus a gentle lighting gradient
across the picture), and whatever chroma the tints cannot account for is colour. A neutral print,
a sepia print and a split-toned print leave almost nothing; a colour photograph (a red dress and a
green lawn of equal brightness, skin against a blue sky) leaves a lot.

Damage is not colour: white scratches, dust and worn, yellowed edges on a sepia print read as chroma
the tints cannot explain (a scratched sepia print measured 7.2 against the 6.0 threshold). So the
measure leaves out the print's border always and, when the caller knows them (the ``repaired``
stage's mask), the detected defects.

Known limit: a colour photo whose hue is a function of brightness alone (a sunset gradient, a
monochrome-looking scene under one coloured light) reads as toned monochrome.
"""

from __future__ import annotations

import cv2
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
# Share of each side left out as border: scanned and photographed prints have worn, chipped or
# yellowed edges and often a strip of scanner lid or table; 4 % of the long side (10 pixels of the
# 256-pixel working copy) covers them without losing the picture's own colour.
BORDER_FRACTION = 0.04


def chroma_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JPEG's full-range Y, Cb − 128, Cr − 128 as float32 planes."""
    rgb = rgb.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def measured_pixels(size: tuple[int, int], ignore: Image.Image | None, analysis_size: tuple[int, int]) -> np.ndarray:
    """Which pixels of the working copy count: not the border, not (near) an ignored pixel.

    ``ignore`` ("L", the image's size, non-zero = damage) is box-averaged to the working copy, so a
    cell counts as damaged when any of its pixels is, and grown by one cell for the soft edges a
    scratch leaves around it. When nothing would be left (a tiny or wholly masked image), every
    pixel counts: a measure of something beats none.
    """
    width, height = analysis_size
    keep = np.ones((height, width), dtype=bool)
    border = int(round(BORDER_FRACTION * max(width, height)))
    if min(width, height) > 4 * border:
        keep[:border, :] = keep[-border:, :] = False
        keep[:, :border] = keep[:, -border:] = False
    if ignore is not None:
        if ignore.size != size:
            raise ValueError(f"ignore mask is {ignore.size[0]}x{ignore.size[1]}, the image {size[0]}x{size[1]}")
        damaged = np.asarray(ignore.convert("L").point(lambda v: 255 if v else 0).resize(analysis_size, Image.Resampling.BOX)) > 0
        damaged = cv2.dilate(damaged.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        keep &= ~damaged
    return keep if keep.sum() >= 64 else np.ones((height, width), dtype=bool)


def untinted_chroma(image: Image.Image, ignore: Image.Image | None = None) -> float:
    """The 95th percentile of chroma that brightness and a lighting gradient leave unexplained (0 = monochrome).

    Chroma (Cb, Cr) is fitted to one tint per luma band plus a cast that changes linearly across
    the picture in proportion to brightness (a phone photographing a print near a window: warm on
    one side, cool on the other); the measure is what the fit leaves. The fit is a least-absolute-
    deviations one (iteratively reweighted least squares), so the tints follow the majority of each
    band: a red date stamp cannot drag its band's tint away and make the whole band look coloured.
    Pixels outside :func:`measured_pixels` (border, ``ignore``) take no part in the fit or the percentile.
    """
    y, cb, cr = chroma_planes(rgb_array(image, _ANALYSIS_SIDE))
    height, width = y.shape
    keep = measured_pixels(image.size, ignore, (width, height)).ravel()
    bands = 256 // _BAND_WIDTH
    band = np.minimum((y / _BAND_WIDTH).astype(np.int64), bands - 1).ravel()[keep]
    rows, cols = np.mgrid[0:height, 0:width]
    brightness = (y / 255.0).ravel()[keep]
    design = np.zeros((band.size, bands + 2))
    design[np.arange(band.size), band] = 1.0
    design[:, bands] = (cols.ravel()[keep] / max(width - 1, 1) - 0.5) * brightness
    design[:, bands + 1] = (rows.ravel()[keep] / max(height - 1, 1) - 0.5) * brightness
    chroma = np.stack([cb.ravel()[keep], cr.ravel()[keep]], axis=1).astype(np.float64)
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


def is_grey_image(image: Image.Image, ignore: Image.Image | None = None) -> tuple[bool, float]:
    """``(grey, measure)``: grey when :func:`untinted_chroma` is below :data:`GREY_THRESHOLD`.

    ``ignore``: an "L" mask of the image's size whose non-zero pixels (detected damage) are left out.

    Toned monochrome (sepia, yellowed, colour-cast) counts as grey, so it gets colourised.
    """
    measure = untinted_chroma(image, ignore)
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
