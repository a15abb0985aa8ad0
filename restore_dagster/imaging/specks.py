"""Dust, lint, pinholes and short hairs on a scan: small isolated specks the scratch network misses.

BOPBTL's network looks for scratches and cracks on a copy whose short side is 256 pixels, where a
dust speck of a few scan pixels is gone. This finds them at full resolution, the way a retoucher's
dust filter does, and keeps what a picture legitimately has:

1. Background: the luma median-filtered with a window of ``k`` pixels (``k`` grows with the scan, about
   1/200 of its short side, at least 9): a median removes any feature narrower than half its window
   and keeps edges, so ``luma − background`` is large only on small dots and thin lines.
2. Candidates: pixels whose difference exceeds both ``min_contrast`` grey levels and ``sigmas`` times
   the local noise (the robust spread of the difference in a window of 8k), so film grain and halftone
   on a grainy print stay below the bar while a speck on smooth sky or skin stands out.
3. Specks: 8-connected candidates, dark and bright apart, whose area is at most ``max_area`` (about
   k²/2: a median of window k wipes out nothing larger) or, for hairs, that are thin (area at most 3
   pixels per pixel of length, no point over 2 pixels from its edge) and at most 6k long.
4. What is kept, as a picture's own: a candidate sitting in a small structure of its own (where the
   background at window k differs from the background at window 4k by more than ``structure_contrast``
   levels: a catchlight in a pupil, a button's highlight, the white of an eye), a candidate whose
   surrounding ring is not its background (a fragment of a larger object's rim), a candidate touching a
   candidate of the other polarity (a highlight beside its shadow), and candidates in crowds (more than ``max_per_cell`` in a cell of 16k × 16k: stars, gravel, snowflakes,
   sequins) — dust is sparse.
5. The mask is grown by ``grow`` pixels: specks have soft, scanned edges that an inpainter must cover.

Defaults measured by ``bench/bench_specks.py`` (scikit-image's photographs with synthetic dust and
hairs, BENCHMARKS.md): they trade a little recall on the faintest specks for few false marks on
texture; an owner's "repair here" strokes catch what is left.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

MIN_WINDOW = 9
WINDOW_PER_SHORT_SIDE = 1 / 200
# Grey levels: below this a speck is invisible on a print anyway, and grain often reaches it.
MIN_CONTRAST = 25.0
SIGMAS = 6.0
MAX_PER_CELL = 12
STRUCTURE_CONTRAST = 25.0
GROW = 1


def speck_window(size: tuple[int, int]) -> int:
    """The (odd) median window for a scan of ``size``: about 1/200 of the short side, at least 9."""
    window = max(MIN_WINDOW, int(round(min(size) * WINDOW_PER_SHORT_SIDE)))
    return window | 1


def _luma(image: Image.Image) -> np.ndarray:
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _local_noise(difference: np.ndarray, window: int) -> np.ndarray:
    """A robust local spread of ``difference``: the mean absolute value, clipped so specks don't raise it."""
    magnitude = np.abs(difference)
    typical = float(np.median(magnitude)) + 1.0
    clipped = np.minimum(magnitude, 4.0 * typical)
    side = 8 * window + 1
    # Mean absolute deviation ≈ 0.8 σ for Gaussian grain.
    return cv2.blur(clipped, (side, side), borderType=cv2.BORDER_REFLECT) * 1.25


def _components(candidates: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    return count, labels, stats


def _thickness(candidates: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Per component, its largest distance from its own edge (half its thickness, in pixels)."""
    inside = cv2.distanceTransform(candidates.astype(np.uint8), cv2.DIST_L2, 3)
    where = labels > 0
    thickness = np.zeros(count, dtype=np.float32)
    np.maximum.at(thickness, labels[where], inside[where])
    return thickness


def _speck_labels(stats: np.ndarray, thickness: np.ndarray, window: int, max_area: int) -> np.ndarray:
    """Per component (label 0 = background excluded), whether its size and shape are a speck's or a hair's.

    A hair is thin all along (no point more than 2 pixels from its edge: the rim of a dark object just
    larger than the window is a crescent, thicker in its middle) and at most 6 windows long.
    """
    area = stats[:, cv2.CC_STAT_AREA]
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    small = area <= max_area
    hair = (thickness <= 2.0) & (area <= 3 * length) & (length <= 6 * window)
    keep = small | hair
    keep[0] = False
    return keep


def _touching(labels: np.ndarray, keep: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Which kept components touch (within 2 pixels) a candidate of the other polarity."""
    near_other = cv2.dilate(other.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    touched = np.zeros_like(keep)
    hit = np.unique(labels[near_other & (labels > 0)])
    touched[hit] = True
    return keep & touched


def _not_isolated(labels: np.ndarray, keep: np.ndarray, luma: np.ndarray, background: np.ndarray,
                  min_contrast: float) -> np.ndarray:
    """Which kept components are not surrounded by their own background: pieces of a larger object.

    The rim of a dark object just larger than the window (a button, a pupil) breaks into tiny
    fragments that differ from the local median exactly like dust; unlike dust, the ring of pixels
    around them holds the object itself. At most a fifth of the ring (2 pixels wide) may differ from
    the component's background by more than half the component's own contrast (or ``min_contrast``).
    """
    count = keep.size
    kept = np.where(keep[labels], labels, 0).astype(np.float32)
    ring_label = cv2.dilate(kept, np.ones((5, 5), np.uint8)).astype(np.int64)
    ring = (ring_label > 0) & (labels == 0)
    # Sums over the candidates' pixels only: they are a small share of a scan, and bincounts with
    # weights over all 24 Mpx of a 6000×4000 one cost seconds.
    inside = np.flatnonzero(labels)
    flat = labels.ravel()[inside]
    area = np.maximum(np.bincount(flat, minlength=count), 1)
    component_bg = np.bincount(flat, weights=background.ravel()[inside], minlength=count) / area
    contrast = np.abs(np.bincount(flat, weights=luma.ravel()[inside], minlength=count) / area - component_bg)
    owner = ring_label[ring]
    ring_area = np.maximum(np.bincount(owner, minlength=count), 1)
    limit = np.maximum(min_contrast, 0.5 * contrast)[owner]
    far = np.abs(luma[ring] - component_bg[owner]) > limit
    ring_far = np.bincount(owner, weights=far.astype(np.float64), minlength=count) / ring_area
    return keep & (ring_far > 0.2)


def _in_structure(labels: np.ndarray, keep: np.ndarray, structure: np.ndarray, limit: float) -> np.ndarray:
    """Which kept components lie, on average, where the near and the wide background differ by over ``limit``."""
    inside = np.flatnonzero(labels)  # the candidates' pixels only (see _not_isolated)
    flat = labels.ravel()[inside]
    sums = np.bincount(flat, weights=structure.ravel()[inside], minlength=keep.size)
    areas = np.maximum(np.bincount(flat, minlength=keep.size), 1)
    return keep & (sums[: keep.size] / areas[: keep.size] > limit)


def _crowded(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, cell: int, max_per_cell: int) -> np.ndarray:
    """Which kept components sit in a cell (cell × cell pixels) holding more than ``max_per_cell`` of them."""
    index = np.flatnonzero(keep)
    if index.size == 0:
        return np.zeros_like(keep)
    cx = (stats[index, cv2.CC_STAT_LEFT] + stats[index, cv2.CC_STAT_WIDTH] // 2) // cell
    cy = (stats[index, cv2.CC_STAT_TOP] + stats[index, cv2.CC_STAT_HEIGHT] // 2) // cell
    cells = cy * (labels.shape[1] // cell + 1) + cx
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    crowded = np.zeros_like(keep)
    crowded[index[counts[inverse] > max_per_cell]] = True
    return crowded


def detect_specks(
    image: Image.Image,
    *,
    min_contrast: float = MIN_CONTRAST,
    sigmas: float = SIGMAS,
    max_per_cell: int = MAX_PER_CELL,
    structure_contrast: float = STRUCTURE_CONTRAST,
    grow: int = GROW,
) -> Image.Image:
    """The speck mask of ``image``: mode "L", 255 on dust, lint, pinholes and short hairs, else 0."""
    width, height = image.size
    if width == 0 or height == 0:
        raise ValueError(f"cannot look for specks in an empty image ({width}×{height} pixels)")
    luma = _luma(image)
    window = speck_window(image.size)
    if min(width, height) < window:  # too small to tell a speck from the picture
        return Image.new("L", image.size, 0)
    background = cv2.medianBlur(luma, window)
    luma_f, background_f = luma.astype(np.float32), background.astype(np.float32)
    difference = luma_f - background_f
    threshold = np.maximum(min_contrast, sigmas * _local_noise(difference, window))
    dark, bright = difference < -threshold, difference > threshold
    del difference, threshold
    wide = cv2.medianBlur(luma, (4 * window) | 1)
    structure = np.abs(background_f - wide.astype(np.float32))
    del wide
    max_area = max(4, window * window // 2)
    mask = np.zeros((height, width), dtype=bool)
    for this, other in ((dark, bright), (bright, dark)):
        count, labels, stats = _components(this)
        if count <= 1:
            continue
        keep = _speck_labels(stats, _thickness(this, labels, count), window, max_area)
        keep &= ~_in_structure(labels, keep, structure, structure_contrast)
        keep &= ~_not_isolated(labels, keep, luma_f, background_f, min_contrast)
        keep &= ~_touching(labels, keep, other)
        keep &= ~_crowded(labels, stats, keep, 16 * window, max_per_cell)
        mask |= keep[labels]
    if grow > 0 and mask.any():
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) > 0
    return Image.fromarray(mask.astype(np.uint8) * 255, "L")
