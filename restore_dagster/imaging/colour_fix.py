"""A colour fix by hand: the region around a tapped point, and its chroma replaced under the scan's luminance.

Segmentation (``segment``): a flood fill from the tapped point over the *luminance* of the picture the
colouriser was given (the ``upscaled`` image), bounded two ways:

- by value: a pixel joins only if its (smoothed) lightness is within ``tolerance`` of the tapped spot's;
- by edges: a pixel where the lightness changes faster than an edge would (a seam, the outline of an
  arm against a dress of the same grey) stops the fill even when its value is within the tolerance,
  so a sleeve and the wall behind it do not merge just because they print the same grey.

The luminance is first brought to a fixed working size (``WORK_SIDE`` on the long side) and smoothed
with a bilateral filter, which flattens film grain and paper texture but keeps edges; grain would
otherwise leave pinholes and let the fill leak through a speckled outline. Small holes the fill left
(a fold's shadow, a print's dust) are closed; larger islands (a brooch, a button) stay out.

Why luminance, and why the colouriser's input: colourisation replaces chroma and keeps the luminance
(DeOldify keeps Y, DDColor keeps L), so the region found from the same tap is the same after a
re-colourisation with another model or knob. That makes a fix *replayable*: it is stored as the tap,
the tolerance and the colour (plus the region it gave, to check it still applies), not as pixels.

Colouring (``recolour``): in CIE Lab, L is kept from the coloured image (the scan's luminance) and
(a, b) is replaced by the chosen colour's, blended over a feathered edge. Where the chosen chroma
does not exist at a pixel's lightness (a saturated yellow in a dark fold), it is reduced towards
grey until it does, so neither L nor the hue changes; only the saturation gives way. A pale colour
chosen for a dark dress therefore comes out dark in that hue: the photo's light and shade are kept.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

WORK_SIDE = 2048  # the segmentation's long side: the screen picture the owner taps on; a 2-pixel outline of a 4K picture still stops the fill
TOLERANCE_RANGE = (4, 80)  # lightness difference (0-255) a region may span; the web slider's range
DEFAULT_TOLERANCE = 24  # a dress or a sky on a grainy print; the owner widens or narrows it on the preview
# A lightness step of more than this share of the tolerance across two working pixels is an edge: a
# dress and a wall of nearly the same grey are told apart by the line between them, a fold's slow shading is not.
EDGE_SHARE = 0.5
EDGE_FLOOR = 3.0  # never call grain an edge, however small the tolerance
HOLE_SHARE = 0.002  # holes smaller than this share of the region are closed (grain, dust), larger ones kept
SEED_RADIUS = 4  # a tap landing on an edge pixel moves to the nearest fillable one within this many pixels
FEATHER = 1.2  # the soft edge's width, in working pixels
MIN_OVERLAP = 0.5  # a replayed region must overlap the one the owner chose at least this much (IoU)
_BISECTIONS = 7  # gamut fit: the chroma share to within 1/128


class ColourFixError(ValueError):
    """A fix that cannot be made or read: the message says why, for the owner."""


@dataclass(frozen=True)
class Region:
    """A segmented region at working size (``mask``) and what the owner is shown about it."""

    mask: np.ndarray  # bool, working size (H×W)
    seed: tuple[int, int]  # the working pixel the fill started from

    @property
    def area(self) -> float:
        """Share of the picture the region covers (0-1)."""
        return float(np.count_nonzero(self.mask)) / max(1, self.mask.size)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) as fractions of the picture."""
        ys, xs = np.nonzero(self.mask)
        h, w = self.mask.shape
        return (round(xs.min() / w, 4), round(ys.min() / h, 4), round((xs.max() + 1) / w, 4), round((ys.max() + 1) / h, 4))


def parse_colour(text: str) -> tuple[int, int, int]:
    """``#RRGGBB`` (or ``RRGGBB``, any case) as an RGB triple; ColourFixError says what is wrong."""
    value = str(text).strip().removeprefix("#")
    if len(value) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in value):
        raise ColourFixError(f"a colour is written #RRGGBB (like #1f5fbf), not {str(text)[:40]!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def check_point(x: float, y: float) -> tuple[float, float]:
    """A tap as fractions of the picture (0,0 top-left to 1,1 bottom-right)."""
    if not all(isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0 for v in (x, y)):
        raise ColourFixError(f"the point must be two fractions of the picture between 0 and 1, not {x!r},{y!r}")
    return float(x), float(y)


def check_tolerance(tolerance: int) -> int:
    low, high = TOLERANCE_RANGE
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not low <= tolerance <= high:
        raise ColourFixError(f"the tolerance must be a whole number from {low} to {high}, not {tolerance!r}")
    return tolerance


def working_size(size: tuple[int, int]) -> tuple[int, int]:
    """The working size of a picture of ``size`` (width, height): ``WORK_SIDE`` on its long side.

    Rounded the same way at every size, so a fix made on one upscaled picture replays on another of
    the same shape (a different ``long_side``) at the same working pixels.
    """
    width, height = size
    scale = min(1.0, WORK_SIDE / max(width, height))  # a small picture is segmented at its own size
    return max(1, round(width * scale)), max(1, round(height * scale))


def working_luminance(image: Image.Image) -> np.ndarray:
    """The picture's Lab lightness (0-255) at working size, grain smoothed away, edges kept (uint8)."""
    rgb = np.asarray(image.convert("RGB"))
    small = cv2.resize(rgb, working_size(image.size), interpolation=cv2.INTER_AREA)
    lightness = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)[:, :, 0]
    # Bilateral: averages only over similar greys, so grain goes and outlines stay sharp.
    return cv2.bilateralFilter(lightness, d=7, sigmaColor=24, sigmaSpace=3)


def _edges(luminance: np.ndarray, tolerance: int) -> np.ndarray:
    """Pixels where the lightness changes faster than an outline's share of the tolerance per pixel."""
    lum = luminance.astype(np.float32)
    # Sobel's 1-2-1 weights sum to 4: divided by 4 it reads as the change across two pixels, so a
    # sharp step of D levels gives D, and a gentle shading of s levels per pixel gives 2s.
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3) / 4.0
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3) / 4.0
    return np.hypot(gx, gy) > max(EDGE_FLOOR, EDGE_SHARE * tolerance)


def segment(luminance: np.ndarray, x: float, y: float, tolerance: int = DEFAULT_TOLERANCE) -> Region:
    """The region around the tap (``x``, ``y`` fractions of the picture) on a ``working_luminance``.

    Raises ColourFixError when the tap is on an outline with nothing fillable near it.
    """
    x, y = check_point(x, y)
    tolerance = check_tolerance(tolerance)
    h, w = luminance.shape
    cx, cy = min(w - 1, int(x * w)), min(h - 1, int(y * h))
    # The tapped spot's lightness: a median over a few pixels, so one dark grain does not set it.
    patch = luminance[max(0, cy - 2):cy + 3, max(0, cx - 2):cx + 3]
    target = float(np.median(patch))
    close = np.abs(luminance.astype(np.int16) - int(round(target))) <= tolerance
    fillable = close & ~_edges(luminance, tolerance)
    seed = _nearest(fillable, cx, cy)
    if seed is None:
        raise ColourFixError("the tap is on an outline: tap inside the area to colour")
    # 4-connected: a fill never slips diagonally through a one-pixel gap in an outline.
    _, labels = cv2.connectedComponents(fillable.astype(np.uint8), connectivity=4)
    region = labels == labels[seed[1], seed[0]]
    # Grow back over the outline's near half (the fill stopped one pixel short of it), where the
    # lightness still matches, so the colour reaches the edge instead of leaving a grey rim.
    grown = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & close
    return Region(_close_small_holes(grown), seed)


def _nearest(fillable: np.ndarray, cx: int, cy: int) -> tuple[int, int] | None:
    if fillable[cy, cx]:
        return cx, cy
    y0, x0 = max(0, cy - SEED_RADIUS), max(0, cx - SEED_RADIUS)
    ys, xs = np.nonzero(fillable[y0:cy + SEED_RADIUS + 1, x0:cx + SEED_RADIUS + 1])
    if len(xs) == 0:
        return None
    i = int(np.argmin((xs + x0 - cx) ** 2 + (ys + y0 - cy) ** 2))
    return int(xs[i] + x0), int(ys[i] + y0)


def _close_small_holes(region: np.ndarray) -> np.ndarray:
    """``region`` with its enclosed holes smaller than ``HOLE_SHARE`` of it filled."""
    holes = (~region).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    h, w = region.shape
    left, top, width, height, area = (stats[:, i] for i in range(5))
    inside = (left > 0) & (top > 0) & (left + width < w) & (top + height < h)
    # One lookup for every hole at once: grain leaves thousands of tiny ones.
    fill = inside & (area <= max(4, HOLE_SHARE * np.count_nonzero(region)))
    fill[0] = False  # label 0 is the region itself
    return region | fill[labels]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks of one size (0 when both are empty)."""
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b)) / union if union else 0.0


def mask_png(mask: np.ndarray) -> bytes:
    """A region as a 1-bit PNG (what a fix stores of the region the owner saw)."""
    buffer = io.BytesIO()
    Image.fromarray(mask).convert("1").save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def mask_from_png(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """A stored region at ``size`` (width, height); nearest-neighbour if the working size changed."""
    with Image.open(io.BytesIO(data), formats=("PNG",)) as image:
        image.load()
        if image.size != tuple(size):
            image = image.resize(size, Image.Resampling.NEAREST)
        return np.asarray(image.convert("L")) > 127


def mask_to_text(mask: np.ndarray) -> str:
    return base64.b64encode(mask_png(mask)).decode("ascii")


def mask_from_text(text: str, size: tuple[int, int]) -> np.ndarray:
    return mask_from_png(base64.b64decode(text.encode("ascii"), validate=True), size)


def soft_mask(region: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The working-size region at the picture's ``size`` as weights 0-1 with a feathered edge (float32)."""
    width, height = size
    weights = cv2.resize(region.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    sigma = FEATHER * max(width, height) / max(region.shape)
    if sigma >= 0.3:
        weights = cv2.GaussianBlur(weights, (0, 0), sigma)
    return np.clip(weights, 0.0, 1.0)


# sRGB (D65) <-> CIE Lab written out, not OpenCV's: OpenCV clips out-of-gamut results to [0, 1]
# silently, which would hide exactly the pixels whose chroma must give way (and change their L).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ).astype(np.float32)
_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
_EPSILON, _KAPPA = 216 / 24389, 24389 / 27
_codes = np.arange(256, dtype=np.float32) / 255.0
_LINEAR = np.where(_codes <= 0.04045, _codes / 12.92, ((_codes + 0.055) / 1.055) ** 2.4).astype(np.float32)
_BISECTIONS = 8  # the chroma share that fits, to within 1/256
_SHARE_TABLE_L = np.linspace(0.0, 100.0, 2001, dtype=np.float32)  # inside a region the result depends on L alone


def _lab(rgb8: np.ndarray) -> np.ndarray:
    """uint8 sRGB (…×3) as float32 Lab: L 0-100, a and b about -128 to 127."""
    xyz = _LINEAR[rgb8] @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack((116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])), axis=-1)


def _linear(lab: np.ndarray) -> np.ndarray:
    """Lab as linear-light sRGB, unclipped (out of [0, 1] where the colour does not exist in sRGB)."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack((fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200), axis=-1)
    cubed = f ** 3
    return (np.where(cubed > _EPSILON, cubed, (116 * f - 16) / _KAPPA) * _WHITE) @ _XYZ_TO_RGB.T


def _fits(lab: np.ndarray) -> np.ndarray:
    linear = _linear(lab)
    return np.all((linear >= -1e-5) & (linear <= 1.0 + 1e-5), axis=-1)


def _encode_table(steps: int = 1 << 16) -> np.ndarray:
    linear = np.arange(steps, dtype=np.float64) / (steps - 1)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


# Linear light to 8-bit sRGB by table: 65,536 steps are finer than a code near black (the steepest
# part of the curve), and a lookup is many times faster than a power per channel of a 4K picture.
_ENCODE = _encode_table()


def _srgb8(lab: np.ndarray) -> np.ndarray:
    linear = np.clip(_linear(lab), 0.0, 1.0)  # only rounding is left to clip: the chroma was fitted
    return _ENCODE[np.rint(linear * (len(_ENCODE) - 1)).astype(np.int32)]


def _fitting_share(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Per colour (L, a, b), the largest share s of (a, b) with (L, s·a, s·b) in sRGB: bisection
    between grey (s = 0, always in sRGB) and the whole chroma (s = 1)."""
    share = np.ones(len(lightness), dtype=np.float32)
    out = ~_fits(np.concatenate((lightness[:, None], ab), axis=-1))
    if out.any():
        low, high = np.zeros(int(out.sum()), np.float32), np.ones(int(out.sum()), np.float32)
        l_out, ab_out = lightness[out, None], ab[out]
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            fits = _fits(np.concatenate((l_out, ab_out * middle[:, None]), axis=-1))
            low, high = np.where(fits, middle, low), np.where(fits, high, middle)
        share[out] = low
    return share


def _lightness(pixels: np.ndarray) -> np.ndarray:
    """L (0-100) of uint8 sRGB pixels (N×3): ``_lab``'s first channel without the other two."""
    y = _LINEAR[pixels[:, 0]] * _RGB_TO_XYZ[1, 0] + _LINEAR[pixels[:, 1]] * _RGB_TO_XYZ[1, 1] + _LINEAR[pixels[:, 2]] * _RGB_TO_XYZ[1, 2]
    return 116 * np.where(y > _EPSILON, np.cbrt(y), (_KAPPA * y + 16) / 116) - 16


def recolour(image: Image.Image, weights: np.ndarray, colour: tuple[int, int, int]) -> Image.Image:
    """``image`` with the chroma of ``colour`` where ``weights`` (0-1, the image's size) say, L kept.

    Inside the region (weight 1) the result depends on a pixel's lightness alone (its own chroma is
    replaced whole), so it is looked up in a table over L in steps of 1/20 of a level, far finer than
    8-bit rounding; only the feathered rim, where the old chroma still shows, is converted pixel by
    pixel. A large fix on a 4K picture so costs a fraction of a second.
    """
    rgb = np.array(image.convert("RGB"))
    ys, xs = np.nonzero(weights[::4, ::4] > 1e-3)  # the region's box, found cheaply; then exact inside it
    if len(xs) == 0:
        return Image.fromarray(rgb, "RGB")
    top, left = max(0, ys.min() * 4 - 4), max(0, xs.min() * 4 - 4)
    box = (slice(top, ys.max() * 4 + 8), slice(left, xs.max() * 4 + 8))
    crop, crop_weights = rgb[box], weights[box]
    target_ab = _lab(np.array([colour], dtype=np.uint8))[0, 1:]
    inside = crop_weights >= 0.999
    rim = (crop_weights > 1e-3) & ~inside
    if inside.any():
        share = _fitting_share(_SHARE_TABLE_L, np.broadcast_to(target_ab, (len(_SHARE_TABLE_L), 2)))
        table = _srgb8(np.concatenate((_SHARE_TABLE_L[:, None], target_ab * share[:, None]), axis=-1))
        step = float(_SHARE_TABLE_L[1])
        crop[inside] = table[np.clip(np.rint(_lightness(crop[inside]) / step).astype(np.int64), 0, len(table) - 1)]
    if rim.any():
        lab = _lab(crop[rim])
        alpha = crop_weights[rim][:, None]
        ab = alpha * target_ab + (1.0 - alpha) * lab[:, 1:]
        share = _fitting_share(lab[:, 0], ab)
        crop[rim] = _srgb8(np.concatenate((lab[:, :1], ab * share[:, None]), axis=-1))
    return Image.fromarray(rgb, "RGB")
