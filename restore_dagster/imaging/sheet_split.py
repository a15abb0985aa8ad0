"""Several prints on one flatbed scan → one straight, cropped picture per print.

A family puts two to six prints on the scanner glass at a time and closes the lid: the sheet is the
lid's bright, plain colour with the prints on it, each slightly rotated, sometimes touching the
glass's edge, sometimes a few millimetres from its neighbour, some with their own white border.

How the prints are told from the lid (all on a copy shrunk to ``WORK_LONG_SIDE``, corners scaled back):

1. **The lid's colour** is the most common colour of the sheet's outer band (prints lying against the
   glass's edge cover part of it, but a plain lid is one colour and a picture is many), and its noise
   is measured there. A band that is not mostly one plain colour means the scan is not a sheet of
   prints on a lid (a photo uploaded with "several prints" by mistake): :class:`SheetSplitError`.
2. **Foreground** is every pixel whose colour differs from the lid by more than the noise allows, plus
   the edges the scanner's lamp draws along each print's outline (a print has a thickness: its edges
   cast a thin shadow). A white border rarely matches the lid exactly (paper is warmer and darker than
   a lid's white plastic), and where it does the shadow line still closes the outline; holes are
   filled, so a print's pale sky or white border inside that outline is part of it.
3. **Regions** smaller than ``MIN_PRINT_FRACTION`` of the sheet are dust, hairs and lid marks. A
   region that is not one convex rectangle (two prints touching at a corner, or joined by a smear) is
   eroded until it falls apart into rectangles, each then grown back inside the region; one that
   never does is refused with where it is, rather than cropped as one print or cut in two.
4. **Corners**: the smallest rotated rectangle around each region, then each side refitted (robustly)
   to the region's outline points along it, away from the corners (rounded or deckled corners do not
   pull the sides), and the four sides intersected.

Prints are numbered in reading order: top to bottom by rows (prints whose vertical extents overlap
are one row), left to right within a row. Each is straightened by ``perspective.warp_quad`` onto a
rectangle of its mean side lengths. Nothing here knows about Dagster, the gallery or files.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import ImageError
from .perspective import order_corners, side_lengths, warp_quad

WORK_LONG_SIDE = 1600  # pixels of the copy the prints are found on; ~140 dpi for an A4 sheet
MIN_PRINT_FRACTION = 0.008  # of the sheet's area: a passport photo on an A4 sheet is 2.5 %
BAND_FRACTION = 0.02  # the outer band of the sheet the lid's colour is read from
MAX_TOLERANCE = 20.0  # levels a lid pixel may differ from the lid's colour, at most
MIN_LID_SHARE = 0.4  # of the band's pixels that must be the lid's colour for the scan to be a sheet
CONVEX_MIN = 0.9  # region area / its convex hull's: below, the region is not one print
RECTANGULAR_MIN = 0.9  # convex hull area / its smallest rotated rectangle's: below, not one print
FALLBACK_RECTANGULAR_MIN = 0.8  # the same, for one piece that erosion cannot separate


class SheetSplitError(ImageError):
    """The scan cannot be split into prints; the message says why and what to do."""


@dataclass(frozen=True)
class SheetPrint:
    """One print found on the sheet."""

    index: int  # 1-based, in reading order
    corners: tuple[tuple[float, float], ...]  # TL, TR, BR, BL on the upright sheet, pixel-edge coordinates
    image: Image.Image  # the print straightened and cropped (the sheet's mode: RGB or L)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def split_sheet(sheet: Image.Image) -> list[SheetPrint]:
    """Every print on ``sheet`` (an upright RGB or L image), in reading order.

    Raises :class:`SheetSplitError` naming the reason when the scan is not a sheet of separable prints:
    no plain lid around them, nothing on the lid, or a region that is not one rectangular print.
    """
    quads = find_prints(sheet)
    return [SheetPrint(i + 1, quad, warp_quad(sheet, quad, _output_size(quad))) for i, quad in enumerate(quads)]


def find_prints(sheet: Image.Image) -> list[tuple[tuple[float, float], ...]]:
    """The corners (TL, TR, BR, BL) of every print on ``sheet``, in reading order (see the module)."""
    rgb = np.asarray(sheet.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_LONG_SIDE / max(width, height))
    work = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    # The factors that map the working copy's pixel-edge coordinates back onto the sheet's, per axis
    # (rounding makes them differ by a hair).
    back = np.array([width / work.shape[1], height / work.shape[0]])
    smooth = cv2.medianBlur(work, 3)  # noise off, edges kept: a 3-pixel gap between prints stays a gap
    lid, tolerance = _lid_colour(smooth)
    mask = _foreground(smooth, _difference(smooth, lid, tolerance), tolerance)
    regions = _regions(mask)
    # Edges are placed on the unfiltered copy: the median filter widens a print by the one-pixel
    # shadow line along its edge, and the median along each side already takes the noise out.
    difference = _difference(work, lid, tolerance)
    if not regions:
        raise SheetSplitError(
            "no prints found: nothing on the scan differs from the scanner lid's colour "
            f"(RGB {tuple(int(v) for v in lid)}); is it an empty scan?"
        )
    quads = [_corners(region, difference) for region in regions]
    quads = [tuple((float(x), float(y)) for x, y in np.asarray(q) * back) for q in quads]
    return _reading_order(quads)


def _output_size(quad) -> tuple[int, int]:
    w, h = side_lengths(quad)
    return max(1, round(w)), max(1, round(h))


def _lid_colour(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The lid's RGB (the outer band's most common colour) and how far from it a lid pixel may be."""
    height, width = image.shape[:2]
    band = max(2, round(BAND_FRACTION * min(height, width)))
    frame = np.concatenate([
        image[:band].reshape(-1, 3), image[-band:].reshape(-1, 3),
        image[band:-band, :band].reshape(-1, 3), image[band:-band, -band:].reshape(-1, 3),
    ]).astype(np.int16)
    # The mode over 8-level bins, then the exact median of the pixels in that bin and its neighbours.
    bins = frame // 8
    codes = (bins[:, 0] * 32 + bins[:, 1]) * 32 + bins[:, 2]
    mode = np.bincount(codes).argmax()
    mode_bin = np.array([mode // 1024, (mode // 32) % 32, mode % 32])
    near = np.abs(bins - mode_bin).max(axis=1) <= 1
    lid = np.median(frame[near], axis=0)
    distance = np.abs(frame - lid).max(axis=1)
    # Noise of the lid itself: the spread of the band's pixels around its colour (robust: MAD).
    close = distance[distance <= 24]
    sigma = 1.4826 * float(np.median(close)) if close.size else 0.0
    # A lid is plain: its noise is a few levels. A spread beyond MAX_TOLERANCE is a picture, not a lid.
    tolerance = min(MAX_TOLERANCE, max(8.0, 5.0 * sigma))
    share = float((distance <= tolerance).mean())
    if share < MIN_LID_SHARE:
        raise SheetSplitError(
            f"the scan's edges are not a plain background ({share:.0%} of them are one colour): it looks like one "
            "photo, not several prints on a scanner; add it as a normal scan"
        )
    return lid, tolerance


def _lid_surface(image: np.ndarray, lid: np.ndarray, tolerance: float) -> np.ndarray:
    """The lid's colour at every pixel: a plane per channel fitted to the pixels near its colour, so a
    scanner's uneven lighting (a few levels across the glass) is not taken for a white border."""
    height, width = image.shape[:2]
    step = max(1, min(height, width) // 200)
    sample = image[::step, ::step].astype(np.float64)
    ys, xs = np.mgrid[0:height:step, 0:width:step]
    near = np.abs(sample - lid).max(axis=2) <= tolerance
    if near.sum() < 50:
        return np.broadcast_to(lid.astype(np.float32), image.shape)
    design = np.stack([np.ones(near.sum()), xs[near] / width, ys[near] / height], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, sample[near], rcond=None)  # [3 terms, 3 channels]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c = coefficients.astype(np.float32)
    return c[0] + xx[..., None] / width * c[1] + yy[..., None] / height * c[2]


def _difference(image: np.ndarray, lid: np.ndarray, tolerance: float) -> np.ndarray:
    """Per pixel, how far its colour is from the lid's there (the largest of the three channels)."""
    return np.abs(image.astype(np.float32) - _lid_surface(image, lid, tolerance)).max(axis=2)


def _foreground(image: np.ndarray, difference: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels that are not the lid: a different colour, or on an edge (a print's outline), holes filled.

    The colour difference is averaged over a few pixels first: a white border a few levels darker than
    the lid is lost in the noise pixel by pixel, not on average.
    """
    averaged = cv2.GaussianBlur(difference, (0, 0), 1.5)
    on_lid = averaged[difference <= tolerance]
    noise = float(np.median(on_lid)) if on_lid.size else 0.0
    spread = 1.4826 * float(np.median(np.abs(on_lid - noise))) if on_lid.size else 0.0
    differs = (averaged > noise + max(2.5, 6.0 * spread)).astype(np.uint8)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    # Edges well above the lid's noise: the thin shadow line along each print's outline.
    low = max(12.0, 1.5 * tolerance)
    edges = (cv2.Canny(grey, low, 2 * low) > 0).astype(np.uint8)
    mask = differs | edges
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return _fill_holes(mask)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background area not connected to the image's outside filled in."""
    padded = np.pad(mask, 1)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8), (0, 0), 1)
    return (padded | (1 - flood))[1:-1, 1:-1].astype(np.uint8)


def _regions(mask: np.ndarray) -> list[np.ndarray]:
    """One filled mask per print: small regions dropped, regions of several prints separated."""
    min_area = MIN_PRINT_FRACTION * mask.size
    # Opening removes hairs and thin edge lines of the lid's texture that would join two prints.
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    regions = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < min_area:
            continue
        region = (labels == label).astype(np.uint8)
        regions.extend(_separate(region, min_area))
    return regions


def _shape(region: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(area / convex hull area, hull area / smallest rotated rectangle's area, hull points)."""
    points = cv2.findNonZero(region)
    hull = cv2.convexHull(points)
    hull_area = max(cv2.contourArea(hull), 1.0)
    (_, _), (w, h), _ = cv2.minAreaRect(hull)
    return float(region.sum()) / hull_area, hull_area / max(w * h, 1.0), hull


def _is_one_print(region: np.ndarray) -> bool:
    convex, rectangular, _ = _shape(region)
    return convex >= CONVEX_MIN and rectangular >= RECTANGULAR_MIN


def _separate(region: np.ndarray, min_area: float) -> list[np.ndarray]:
    """``[region]`` when it is one print; else the prints it is made of, found by eroding it until it
    falls apart (each part grown back inside the region); SheetSplitError when it never does."""
    if _is_one_print(region):
        return [region]
    _, rectangular, hull = _shape(region)
    x, y, w, h = cv2.boundingRect(hull)
    # Erode in steps up to a third of the region's shorter side: a bridge between two prints is thin,
    # a print is not.
    for radius in range(1, max(2, min(w, h) // 6)):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        eroded = cv2.erode(region, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(eroded, connectivity=8)
        seeds = [label for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= min_area / 4]
        if len(seeds) < 2:
            continue
        parts = _grow_back(region, labels, seeds)
        if all(_is_one_print(part) and part.sum() >= min_area for part in parts):
            return parts
    if rectangular >= FALLBACK_RECTANGULAR_MIN:
        # One piece that erosion does not break, and nearly a rectangle around: one print whose outline
        # is ragged or did not close all the way round (a white border within a few levels of the lid's
        # colour). Its convex outline is the print; the sides are then placed on its edges (_corners).
        # Two overlapping prints would make an L- or T-shaped outline, well below this.
        filled = np.zeros_like(region)
        cv2.fillConvexPoly(filled, hull, 1)
        return [filled]
    cx, cy = x + w / 2, y + h / 2
    raise SheetSplitError(
        f"prints around ({cx / region.shape[1]:.0%} across, {cy / region.shape[0]:.0%} down) touch or overlap and "
        "cannot be told apart; leave a few millimetres between the prints and scan again"
    )


def _grow_back(region: np.ndarray, labels: np.ndarray, seeds: list[int]) -> list[np.ndarray]:
    """Each seed grown back over the region by watershed on the distance to the region's edge."""
    markers = np.zeros(region.shape, np.int32)
    for number, label in enumerate(seeds, start=1):
        markers[labels == label] = number
    markers[region == 0] = len(seeds) + 1  # the outside: its own basin, never flooded into the parts
    distance = cv2.distanceTransform(region, cv2.DIST_L2, 3)
    relief = cv2.normalize(-distance, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    cv2.watershed(cv2.cvtColor(relief, cv2.COLOR_GRAY2BGR), markers)
    return [((markers == number) & (region > 0)).astype(np.uint8) for number in range(1, len(seeds) + 1)]


def _corners(region: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """The print's four corners (TL, TR, BR, BL) in the working copy's pixel-edge coordinates.

    The region's smallest rotated rectangle is a few pixels too big (the colour difference was averaged
    before thresholding) and its sides are only as straight as the region's outline; each side is then
    placed where the colour difference across it falls halfway from the print's to the lid's
    (:func:`_edge_points`, a median along the side, so picture content and noise cancel out), and
    the four refitted sides are intersected.
    """
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
    box = order_corners(cv2.boxPoints(cv2.minAreaRect(outline))).astype(np.float64)
    centre = box.mean(axis=0)
    lines = []
    for start, end in zip(box, np.roll(box, -1, axis=0)):
        direction = (end - start) / max(np.linalg.norm(end - start), 1e-9)
        normal = np.array([-direction[1], direction[0]])
        if np.dot((start + end) / 2 - centre, normal) < 0:
            normal = -normal
        points = _edge_points(difference, start, end, direction, normal)
        if len(points) >= 3:
            vx, vy, x0, y0 = cv2.fitLine(np.asarray(points, np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
        else:  # no clear edge along this side (a picture as pale as the lid there): the rectangle's side
            lines.append((start, direction))
    corners = np.array([_intersect(lines[i - 1], lines[i]) for i in range(4)])
    if not np.isfinite(corners).all() or np.abs(corners - box).max() > 0.1 * max(np.ptp(box, axis=0)):
        corners = box  # a refit that ran away: keep the rectangle
    # Sampling coordinates put pixel i's centre at i; pixel-edge coordinates at i + 0.5.
    return order_corners(corners + 0.5)


EDGE_REACH = 8.0  # working pixels either side of the rough side searched for the print's edge
EDGE_SEGMENTS = 10  # pieces of each side, each giving one edge point for the line fit


def _edge_points(difference: np.ndarray, start, end, direction, normal) -> list[np.ndarray]:
    """Points on the print's edge near the side start→end: per piece of the side, the outermost place
    where the median colour difference across the side falls halfway from the print's to the lid's."""
    length = np.linalg.norm(end - start)
    offsets = np.arange(-EDGE_REACH, EDGE_REACH + 0.01, 0.25)
    points = []
    for piece in range(EDGE_SEGMENTS):
        # The middle 70 % of the side: rounded or deckled corners do not pull it.
        a = 0.15 + 0.7 * piece / EDGE_SEGMENTS
        b = 0.15 + 0.7 * (piece + 1) / EDGE_SEGMENTS
        along = np.arange(a * length, b * length, 1.0)
        if along.size < 3:
            continue
        base = start + along[:, None] * direction  # [m, 2]
        grid = base[:, None, :] + offsets[None, :, None] * normal  # [m, T, 2]
        samples = cv2.remap(difference, grid[..., 0].astype(np.float32), grid[..., 1].astype(np.float32),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        profile = np.median(samples, axis=0)
        inside = float(np.median(profile[offsets <= -EDGE_REACH + 3]))
        outside = float(np.median(profile[offsets >= EDGE_REACH - 3]))
        if inside - outside < 2.0:
            continue
        half = (inside + outside) / 2
        above = np.nonzero(profile > half)[0]
        last = int(above.max())  # the outermost sample still on the print's side of halfway
        if last + 1 >= len(offsets):
            continue
        # The shadow a print casts on the lid lies just outside its edge: where the profile peaks there
        # above the print's own level (a white border, a pale picture), the edge is the peak's inner
        # flank, halfway down from the peak to the print's level.
        window = slice(max(0, last - SHADOW_REACH), min(len(offsets), last + 3))
        peak_at = window.start + int(np.argmax(profile[window]))
        peak = float(profile[peak_at])
        if peak - inside > max(3.0, 0.3 * (peak - outside)):
            level = (peak + inside) / 2
            inner = peak_at
            while inner > 0 and profile[inner] > level:
                inner -= 1
            t = _crossing(offsets, profile, inner, level)
        else:
            t = _crossing(offsets, profile, last, half)
        points.append(base[len(along) // 2] + t * normal)
    return points


SHADOW_REACH = 12  # samples (3 working pixels) inward of the halfway crossing searched for a shadow's peak


def _crossing(offsets: np.ndarray, profile: np.ndarray, index: int, level: float) -> float:
    """The offset where the profile passes ``level`` between samples ``index`` and ``index + 1``."""
    if index + 1 >= len(offsets):
        return float(offsets[index])
    step = profile[index + 1] - profile[index]
    fraction = (level - profile[index]) / step if step != 0 else 0.0
    return float(offsets[index] + (offsets[index + 1] - offsets[index]) * min(max(fraction, 0.0), 1.0))


def _intersect(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    (p, r), (q, s) = first, second
    denominator = r[0] * s[1] - r[1] * s[0]
    if abs(denominator) < 1e-9:
        return np.array([np.nan, np.nan])
    t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / denominator
    return p + t * r


def _reading_order(quads: list[tuple[tuple[float, float], ...]]) -> list[tuple[tuple[float, float], ...]]:
    """Rows top to bottom (a print joins the row its vertical middle falls in), left to right in a row."""
    boxes = sorted(((min(y for _, y in q), max(y for _, y in q), q) for q in quads), key=lambda b: b[0])
    rows: list[list] = []
    for top, bottom, quad in boxes:
        middle = (top + bottom) / 2
        for row in rows:
            if row[0] <= middle <= row[1]:
                row[2].append(quad)
                row[0], row[1] = min(row[0], top), max(row[1], bottom)
                break
        else:
            rows.append([top, bottom, [quad]])
    ordered = []
    for _, _, members in rows:
        ordered.extend(sorted(members, key=lambda q: min(x for x, _ in q)))
    return ordered
