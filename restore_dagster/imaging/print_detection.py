"""Find one print in a phone picture (on a table, a bed sheet, held in a hand) and straighten it.

How: on a copy whose long side is :data:`WORK_SIDE` pixels, candidate outlines come from closed edge
contours (all clear edges, and the sharpest only: a hand-held print is in focus, the room behind it
is not) and from segmentations (Otsu thresholds of lightness and saturation, colour distance from the
picture's outer ring where the background is, GrabCut seeded by that ring); each is reduced to four
corners. Every candidate is then refined side by side: along the side's normal, colour steps are
measured at evenly spaced points, the straight line most of them share (RANSAC; the one nearest the
candidate among nearly equal ones, not a parallel grain line of the table) is fitted through their
sub-pixel positions, and the corners become the intersections of neighbouring lines, so rounded,
deckled or thumb-covered corners do not matter. Of the refined outlines, the best supported wins,
unless a nearly as good one surrounds it with an even band on all four sides: that is the print with
its white border around the picture, and the border is kept.

Confidence is the share of each side that a straight, sharp step supports (the weakest of the four
sides counts), scaled down when the outline's shape is implausible. A crop needs confidence ≥
:data:`CROP_CONFIDENCE` and an outline that keeps a margin from the picture's edges, does not cover
nearly all of it, and is not the picture inside the white border of a clean scan (square to the frame
with an even, plain, light band around it): a clean scan, or a print that fills the frame, is left as
it is, because a wrong crop is worse than none.

The print's true aspect ratio comes from the perspective (Zhang & He, "Whiteboard scanning and image
enhancement", 2007: the focal length and the rectangle's aspect from its four corners, with the
principal point assumed at the picture's centre), snapped to a common print format when within
:data:`SNAP_TOLERANCE`. No automatic rotation: which way up a print belongs cannot be measured
reliably from pixels (EXIF orientation is applied before this; turning by 90° is the owner's).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from restore_dagster.imaging.perspective import order_corners, side_lengths, warp_quad
from restore_dagster.imaging.print_border import complete_border, intersect, paper_sides_factor, side_profiles

WORK_SIDE = 800  # detection runs at this long side: enough for a corner within 1 % of the diagonal
CROP_CONFIDENCE = 0.7
SNAP_TOLERANCE = 0.03  # relative difference of long/short ratios within which a print format is assumed
EDGE_MARGIN = 0.012  # an outline closer than this (share of the picture's side) to an edge is cut off
FULL_FRAME = 0.9  # an outline covering more than this share of the picture is the whole picture
MIN_AREA = 0.06  # and one covering less is not the picture's subject
# A photograph has a picture inside its outline; a flat patch (a stain, a label, tape, a blank card)
# has none. Spread of the outline's middle, in grey levels, under which it is not taken for a print.
FLAT_INSIDE = 6.0
# A phone's main camera is about 26 mm equivalent: a focal length of 0.6 × the picture's diagonal.
PHONE_FOCAL = 0.6
STEP = 1.6  # Lab units per pixel of the smoothed picture: a side's step must be at least this steep
# Confirming a faint side in place: its steps down to this many times the picture's median gradient
# (the noise, on a plain table), but never below FAINT_STEP.
FAINT_NOISE = 4.0
FAINT_STEP = 0.6

# long side / short side of common print formats, with the names owners use
PRINT_FORMATS = (("square", 1.0), ("8x10", 1.25), ("3x4", 4 / 3), ("5x7", 1.4), ("3.5x5", 5 / 3.5), ("4x6", 1.5))


@dataclass(frozen=True)
class PrintDetection:
    corners: tuple[tuple[float, float], ...] | None  # TL, TR, BR, BL on the upright scan, pixel edges
    confidence: float  # 0..1
    cropped: bool  # True only when confident and the print does not fill the frame
    size: tuple[int, int] | None  # straightened width, height
    aspect_name: str  # "4x6", "square"... or "" when no format is close
    reason: str  # one sentence: why cropped or not


def detect_print(image: Image.Image) -> PrintDetection:
    """Where the print is in ``image`` (an upright RGB or L picture), and whether to crop to it."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(width, height))
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    if min(small.shape[:2]) < 32:
        return _uncropped(None, 0.0, "the picture is too small to look for a print in")
    lab = cv2.cvtColor(cv2.GaussianBlur(small.astype(np.float32) / 255, (0, 0), 1.2), cv2.COLOR_RGB2Lab)
    outlines = []
    for candidate in _candidates(small):
        refined = _refine(lab, candidate)
        if refined is not None:
            quad, support = complete_border(lab, *refined)
            if quad is not refined[0]:  # a side moved out to the paper's edge: snap it onto the step there
                polished = _refine(lab, quad, reaches=(0.005,))
                if polished is not None and np.abs(polished[0] - quad).max() <= 0.005 * float(np.hypot(*lab.shape[:2])):
                    quad, support = polished[0], max(support, polished[1])
            moved = quad is not refined[0]
            try:
                quad = order_corners(quad).astype(np.float64)
            except ValueError:
                continue
            outlines.append((support * _shape_plausibility(quad, small.shape[:2]) * paper_sides_factor(lab, quad, moved), quad))
    if not outlines:
        return _uncropped(None, 0.0, "no print outline was found: the picture is kept whole")
    best = _choose(outlines, float(np.hypot(*small.shape[:2])))
    if best[0] < CROP_CONFIDENCE:
        best = _choose_faint(lab, outlines) or best
    confidence, quad = round(float(min(max(best[0], 0.0), 1.0)), 3), best[1]
    corners = quad / scale
    ordered = tuple((round(float(x), 2), round(float(y), 2)) for x, y in corners)
    area = _area(quad) / (small.shape[0] * small.shape[1])
    low, high = corners.min(axis=0), corners.max(axis=0)
    margin = EDGE_MARGIN * np.array([width, height])
    if confidence < CROP_CONFIDENCE:
        return _uncropped(ordered, confidence, f"the best print outline is not certain enough (confidence {confidence:.2f} < "
                          f"{CROP_CONFIDENCE}): nothing is cropped, a wrong crop is worse than none")
    if area > FULL_FRAME or (low < margin).any() or (high > np.array([width, height]) - margin).any():
        return _uncropped(ordered, confidence, "the print fills the picture or reaches its edge: nothing is cropped")
    if _flat_inside(small, quad):
        return _uncropped(ordered, confidence, "the outline found encloses a flat patch (a stain, a label), not a "
                          "photograph: nothing is cropped")
    if _framed_by_paper(lab, quad):
        return _uncropped(ordered, confidence, "the outline found is the picture inside a white border that fills the "
                          "frame (a clean scan of a bordered print): nothing is cropped")
    size, name = print_size(corners, (width, height))
    shape = f"a {name} print" if name else "a print"
    return PrintDetection(ordered, confidence, True, size, name,
                          f"{shape} was found (confidence {confidence:.2f}) and straightened to {size[0]}×{size[1]}")


def _flat_inside(small: np.ndarray, quad: np.ndarray) -> bool:
    """True when the outline's middle (its inner 60 %, away from a white border) has no picture in it."""
    inside = np.asarray(warp_quad(Image.fromarray(small).convert("L"), quad, size=(64, 64)), np.float64)
    return float(inside[13:51, 13:51].std()) < FLAT_INSIDE


def straighten(image: Image.Image, detection: PrintDetection) -> Image.Image:
    """The print warped flat when ``detection.cropped``; otherwise ``image`` itself, unchanged."""
    if not detection.cropped or detection.corners is None or detection.size is None:
        return image
    return warp_quad(image, detection.corners, detection.size)


def print_size(corners: np.ndarray, frame: tuple[int, int]) -> tuple[tuple[int, int], str]:
    """Output (width, height) for the ordered corners: the aspect from the perspective, snapped to a
    print format when close, at the resolution of the quadrilateral's longest side."""
    ratio = perspective_aspect(corners, frame)
    long_short = max(ratio, 1 / ratio)
    name = ""
    nearest = min(PRINT_FORMATS, key=lambda item: abs(np.log(long_short / item[1])))
    if abs(long_short / nearest[1] - 1) <= SNAP_TOLERANCE:
        name, long_short = nearest
        ratio = long_short if ratio >= 1 else 1 / long_short
    tl, tr, br, bl = np.asarray(corners, np.float64)
    widths = (np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    heights = (np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    width = max(max(widths), max(heights) * ratio)  # never fewer pixels than the print has in the picture
    return (max(1, round(width)), max(1, round(width / ratio))), name


def perspective_aspect(corners: np.ndarray, frame: tuple[int, int]) -> float:
    """The width / height of the rectangle whose perspective image is ``corners`` (TL, TR, BR, BL).

    Zhang & He's method with a centred principal point and square pixels. When the focal length
    cannot be recovered (a pair of opposite sides parallel in the picture: the print was tilted about
    one axis only, or not at all) or comes out implausible, a phone's usual one is assumed
    (:data:`PHONE_FOCAL`); with no foreshortening at all the result is then the side lengths' ratio.
    """
    tl, tr, br, bl = (np.array([x, y, 1.0]) for x, y in np.asarray(corners, np.float64))
    m1, m2, m3, m4 = tl, tr, bl, br
    k2 = np.dot(np.cross(m1, m4), m3) / np.dot(np.cross(m2, m4), m3)
    k3 = np.dot(np.cross(m1, m4), m2) / np.dot(np.cross(m3, m4), m2)
    n2, n3 = k2 * m2 - m1, k3 * m3 - m1
    u0, v0 = frame[0] / 2, frame[1] / 2
    diagonal = float(np.hypot(*frame))
    focal = PHONE_FOCAL * diagonal
    if abs(n2[2] * n3[2]) > 1e-12:
        focal2 = -((n2[0] * n3[0] - (n2[0] * n3[2] + n2[2] * n3[0]) * u0 + n2[2] * n3[2] * u0 * u0)
                   + (n2[1] * n3[1] - (n2[1] * n3[2] + n2[2] * n3[1]) * v0 + n2[2] * n3[2] * v0 * v0)) / (n2[2] * n3[2])
        if np.isfinite(focal2) and focal2 > 0 and 0.25 * diagonal <= np.sqrt(focal2) <= 4 * diagonal:
            focal = float(np.sqrt(focal2))
    inverse = np.linalg.inv(np.array([[focal, 0, u0], [0, focal, v0], [0, 0, 1]]))
    a, b = inverse @ n2, inverse @ n3
    return float(np.sqrt(np.dot(a, a) / np.dot(b, b)))


def _framed_by_paper(lab: np.ndarray, quad: np.ndarray) -> bool:
    """Whether the outline is square to the frame with only an even, plain, light band around it: the
    picture inside the white border of a print that fills the frame. Cropping there would cut the
    border off a clean scan; a print lying on a table is rarely square to the frame and centred."""
    height, width = lab.shape[:2]
    for i in range(4):
        dx, dy = quad[(i + 1) % 4] - quad[i]
        if min(abs(np.degrees(np.arctan2(dy, dx))) % 90, 90 - abs(np.degrees(np.arctan2(dy, dx))) % 90) > 2.5:
            return False
    tl, tr, br, bl = quad
    bands = np.array([(tl[0] + bl[0]) / 2 / width, 1 - (tr[0] + br[0]) / 2 / width, (tl[1] + tr[1]) / 2 / height, 1 - (bl[1] + br[1]) / 2 / height])
    if bands.max() > 0.15:
        return False
    inside = np.zeros((height, width), np.uint8)
    cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 255)
    outside = cv2.erode(255 - inside, np.ones((5, 5), np.uint8)) > 0  # not the blurred edge itself
    outside[:2], outside[-2:], outside[:, :2], outside[:, -2:] = False, False, False, False  # nor a scanner lid's line
    if outside.sum() < 20:
        return False
    band = lab[outside]
    lightness, chroma = band[:, 0], np.hypot(band[:, 1], band[:, 2])
    return bool(np.median(lightness) >= 60 and np.median(chroma) <= 25
                and np.percentile(np.abs(lightness - np.median(lightness)), 90) <= 10)


def _choose(outlines: list[tuple[float, np.ndarray]], diagonal: float) -> tuple[float, np.ndarray]:
    """The best-supported outline, or one nearly as well supported that surrounds it on all four sides
    by a band of similar width: the print with its white border around the picture that was found
    first. An outline wider on one or two sides only has taken in a stripe of the table instead."""
    # Outlines that several candidates refined to are grouped; agreement breaks near-ties.
    groups: list[list] = []
    for score, quad in outlines:
        for group in groups:
            if np.abs(group[1] - quad).max() <= 0.005 * diagonal:
                group[0], group[2] = max(group[0], score), group[2] + 1
                break
        else:
            groups.append([score, quad, 1])
    groups.sort(key=lambda group: -(group[0] + 0.01 * min(group[2], 5)))
    outlines = [(score, quad) for score, quad, _ in groups]
    best = outlines[0]
    for score, quad in outlines[1:]:
        if score < best[0] - 0.08:
            break
        bands = _bands(best[1], quad)
        if bands.min() >= 0.004 * diagonal and bands.max() <= 2.5 * bands.min() and bands.max() <= 0.1 * diagonal:
            best = (score, quad)
    return best


def _choose_faint(lab: np.ndarray, outlines: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray] | None:
    """The best outline again, where a side is faint (a light print on a light table): the likeliest
    outlines re-measured in place, counting steps down to a few times the picture's own noise. Only
    confirms a side where it is (it may move by a pixel or two), never looks for another."""
    gradient = np.linalg.norm(np.stack([cv2.Sobel(lab[..., c], cv2.CV_32F, 1, 0) for c in range(3)]
                                       + [cv2.Sobel(lab[..., c], cv2.CV_32F, 0, 1) for c in range(3)]), axis=0) / 8
    least_step = max(FAINT_STEP, FAINT_NOISE * float(np.median(gradient)))  # a textured table raises it
    diagonal = float(np.hypot(*lab.shape[:2]))
    confirmed = []
    for score, quad in sorted(outlines, key=lambda outline: -outline[0])[:3]:
        if score < 0.3:
            break
        refined = _refine(lab, quad, least_step, reaches=(0.005,))
        if refined is not None and np.abs(refined[0] - quad).max() <= 0.005 * diagonal:
            confirmed.append((refined[1] * _shape_plausibility(refined[0], lab.shape[:2]) * paper_sides_factor(lab, refined[0]), refined[0]))
    return _choose(confirmed, diagonal) if confirmed else None


def _bands(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """How far each side of ``outer`` lies outside the same side of ``inner`` (both ordered TL, TR, BR,
    BL), at the inner side's middle, in pixels; negative where it lies inside."""
    widths = []
    for i in range(4):
        a, b = outer[i], outer[(i + 1) % 4]
        direction = (b - a) / np.linalg.norm(b - a)
        outward = np.array([direction[1], -direction[0]])
        middle = (inner[i] + inner[(i + 1) % 4]) / 2
        widths.append(float(np.dot(a - middle, outward)))
    return np.array(widths)


def _uncropped(corners, confidence: float, reason: str) -> PrintDetection:
    return PrintDetection(corners, confidence, False, None, "", reason)


def _area(quad: np.ndarray) -> float:
    return float(abs(cv2.contourArea(quad.astype(np.float32))))


def _quad_from_contour(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for share in (0.02, 0.03, 0.045, 0.065, 0.09):
        approx = cv2.approxPolyDP(hull, share * perimeter, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float64)
        if len(approx) < 4:
            break
    # A blob whose hull will not reduce to four points (a thumb over a corner): its tightest rotated box.
    return cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float64)


def _candidates(rgb: np.ndarray) -> list[np.ndarray]:
    """Rough four-corner outlines of large regions: from edges and from colour segmentations."""
    height, width = rgb.shape[:2]
    total = height * width
    blurred = cv2.GaussianBlur(rgb, (0, 0), 2.0)
    lab = cv2.cvtColor(blurred, cv2.COLOR_RGB2Lab)
    hsv = cv2.cvtColor(blurred, cv2.COLOR_RGB2HSV)
    masks = []
    grey = lab[..., 0]
    for channel in (grey, hsv[..., 1]):
        level, _ = cv2.threshold(channel, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        masks += [channel > level, channel <= level]
    # Distance from the background: the outer ring of the picture is mostly not the print.
    ring = np.concatenate([lab[:4].reshape(-1, 3), lab[-4:].reshape(-1, 3), lab[:, :4].reshape(-1, 3), lab[:, -4:].reshape(-1, 3)]).astype(np.float32)
    distance = np.linalg.norm(lab.astype(np.float32) - np.median(ring, axis=0), axis=2)
    ring_spread = np.percentile(np.linalg.norm(ring - np.median(ring, axis=0), axis=1), 90)
    distance_u8 = np.clip(distance, 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(distance_u8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    masks.append(distance > max(level, ring_spread * 1.2))
    masks.append(_grabcut_foreground(rgb))
    # Two edge maps: every clear edge, and only the sharpest (a hand-held print is in focus, the room
    # behind it is not, and its soft edges would join the print's outline into one shapeless contour).
    edges, sharp = np.zeros((height, width), np.uint8), np.zeros((height, width), np.uint8)
    for channel in (grey, lab[..., 1], lab[..., 2]):
        gradient = cv2.magnitude(cv2.Sobel(channel, cv2.CV_32F, 1, 0), cv2.Sobel(channel, cv2.CV_32F, 0, 1))
        high = max(float(np.percentile(gradient, 90)), 20.0)
        edges |= cv2.Canny(channel, high / 2, high)
        strong = max(float(np.percentile(gradient, 97)), 40.0)
        sharp |= cv2.Canny(channel, strong / 1.5, strong)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    sharp = cv2.dilate(sharp, np.ones((3, 3), np.uint8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, width // 100) | 1,) * 2)
    regions = [cv2.morphologyEx(cv2.morphologyEx(m.astype(np.uint8) * 255, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel) for m in masks]
    candidates = []
    for source, mode in [(edges, cv2.RETR_LIST), (sharp, cv2.RETR_LIST)] + [(region, cv2.RETR_EXTERNAL) for region in regions]:
        contours, _ = cv2.findContours(source, mode, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:6]:
            hull_area = cv2.contourArea(cv2.convexHull(contour))
            if MIN_AREA * total <= hull_area <= 0.97 * total:
                quad = _quad_from_contour(contour)
                if quad is not None:
                    candidates.append(quad)
    candidates += _segment_quads(lab[..., 0])
    # Near-duplicates refine to the same outline: keep one of each.
    unique: list[np.ndarray] = []
    for quad in candidates:
        try:
            ordered = order_corners(quad).astype(np.float64)
        except ValueError:
            continue
        if all(np.abs(ordered - other).max() > 0.01 * max(width, height) for other in unique):
            unique.append(ordered)
    return unique[:28]


def _segment_quads(grey: np.ndarray, keep: int = 4) -> list[np.ndarray]:
    """Outlines made of four straight line segments (LSD, Grompone von Gioi et al. 2012): two nearly
    parallel pairs crossing each other, the best covered first. A hand-held print's sides are the
    sharpest long lines in the picture even where its outline joins a blurred room into one region."""
    height, width = grey.shape
    diagonal = float(np.hypot(height, width))
    found = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(grey)[0]
    if found is None:
        return []
    segments = found.reshape(-1, 4).astype(np.float64)
    lengths = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    order = np.argsort(-lengths)
    order = order[lengths[order] >= 0.06 * diagonal][:24]
    segments, lengths = segments[order], lengths[order]
    if len(segments) < 4:
        return []
    angles = np.arctan2(segments[:, 3] - segments[:, 1], segments[:, 2] - segments[:, 0]) % np.pi
    middles = (segments[:, :2] + segments[:, 2:]) / 2
    directions = np.c_[np.cos(angles), np.sin(angles)]
    pairs = []
    for i in range(len(segments)):
        for j in range(i + 1, len(segments)):
            turn = abs(angles[i] - angles[j])
            if min(turn, np.pi - turn) > np.deg2rad(25):
                continue
            offset = middles[j] - middles[i]
            gap = abs(float(directions[i][0] * offset[1] - directions[i][1] * offset[0]))  # across the lines
            if gap >= 0.15 * diagonal:  # opposite sides of something large
                pairs.append((i, j))
    quads = []
    for n, (i, j) in enumerate(pairs):
        for k, m in pairs[n + 1:]:
            if len({i, j, k, m}) < 4:
                continue
            turn = abs(angles[i] - angles[k])
            if min(turn, np.pi - turn) < np.deg2rad(50):  # the two pairs must cross
                continue
            corners = [intersect(middles[a], directions[a], middles[b], directions[b]) for a, b in ((i, k), (k, j), (j, m), (m, i))]
            if any(corner is None for corner in corners):
                continue
            quad = np.array(corners)
            if (quad < -0.02 * diagonal).any() or (quad[:, 0] > width * 1.02).any() or (quad[:, 1] > height * 1.02).any():
                continue
            area = _area(quad)
            if area < MIN_AREA * height * width or not cv2.isContourConvex(quad.astype(np.float32)):
                continue
            perimeter = cv2.arcLength(quad.astype(np.float32), True)
            quads.append((float(lengths[[i, j, k, m]].sum() / perimeter), quad))
    quads.sort(key=lambda item: -item[0])
    return [quad for _, quad in quads[:keep]]


def _grabcut_foreground(rgb: np.ndarray) -> np.ndarray:
    """GrabCut's foreground with the picture's outer ring as background, on a small copy: a print
    against a patterned sheet or a room, where no single channel separates them."""
    height, width = rgb.shape[:2]
    scale = 160 / max(height, width)
    small = cv2.resize(rgb, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=cv2.INTER_AREA)
    mask = np.zeros(small.shape[:2], np.uint8)
    ring = max(2, round(0.02 * max(small.shape)))
    rectangle = (ring, ring, small.shape[1] - 2 * ring, small.shape[0] - 2 * ring)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means starts at random: fix it, the same picture gives the same answer
    try:
        cv2.grabCut(small, mask, rectangle, background, foreground, 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.zeros((height, width), bool)
    chosen = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8) * 255
    return cv2.resize(chosen, (width, height), interpolation=cv2.INTER_LINEAR) > 127


def _side_steps(lab: np.ndarray, a: np.ndarray, b: np.ndarray, reach: float, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along the side a→b of a clockwise (on screen) outline, at ``samples`` points between 8 % and
    92 % of its length (the corners may be rounded), the colour step's strength at each whole-pixel
    offset in [-reach, reach] along the outward normal. Returns the points, the outward normal, and
    the strengths [samples, offsets]."""
    points, normal, profile = side_profiles(lab, a, b, np.linspace(0.08, 0.92, samples), np.arange(-reach, reach + 1, 1.0))
    step = np.zeros(profile.shape[:2], np.float32)
    step[:, 1:-1] = np.linalg.norm(profile[:, 2:] - profile[:, :-2], axis=2) / 2
    # Lab from float RGB: L is 0..100, a and b about ±100; weigh them alike.
    return points, normal, step


def _fit_side(lab: np.ndarray, a: np.ndarray, b: np.ndarray, reach: float, least_step: float = STEP) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A line (point, direction) along the side a→b through the steps that most sample points share
    (RANSAC over pairs of steps), the nearest of nearly equally supported lines; and the share of
    sample points with a step on it."""
    length = float(np.linalg.norm(b - a))
    if length < 8:
        return None
    samples = int(np.clip(length / 4, 12, 120))
    points, normal, step = _side_steps(lab, a, b, reach, samples)
    offsets = np.arange(-reach, reach + 1, 1.0)
    peaks = (step >= least_step) & (step >= np.roll(step, 1, axis=1)) & (step > np.roll(step, -1, axis=1))
    peaks[:, [0, -1]] = False
    rows, columns = np.nonzero(peaks)
    if len(rows) < 2:
        return None
    # Candidate lines through two steps at different sample points, as an offset per sample point.
    rng = np.random.default_rng(0)  # deterministic: the same picture always gives the same answer
    first, second = rng.integers(len(rows), size=(2, 400))
    keep = rows[first] != rows[second]
    first, second = first[keep], second[keep]
    slope = (columns[second] - columns[first]) / (rows[second] - rows[first])
    predicted = columns[first][:, None] + slope[:, None] * (np.arange(samples)[None, :] - rows[first][:, None])
    nearest = np.clip(np.rint(predicted).astype(int), 0, len(offsets) - 1)
    hits = np.zeros(predicted.shape, bool)
    for shift in (-1, 0, 1):
        index = np.clip(nearest + shift, 0, len(offsets) - 1)
        hits |= peaks[np.arange(samples)[None, :], index] & (np.abs(index - predicted) <= 1.5)
    hits &= (predicted >= 0) & (predicted <= len(offsets) - 1)
    counts = hits.sum(axis=1)
    if counts.size == 0:
        return None
    # Of the lines nearly as well supported as the best, the one nearest the outline being refined:
    # not a parallel grain line of the table nor the picture's edge inside the print's white border
    # (which of the print's outlines is wanted is decided between whole outlines, the largest wins).
    good = counts >= 0.8 * counts.max()
    centre = (len(offsets) - 1) / 2
    choice = int(np.flatnonzero(good)[np.argmin(np.abs(predicted[good].mean(axis=1) - centre))])
    inliers = np.flatnonzero(hits[choice])
    if len(inliers) < max(6, samples // 5):
        return None
    found = []
    for i in inliers:  # the step's sub-pixel position: a parabola through the peak and its neighbours
        j = int(np.clip(np.rint(predicted[choice, i]), 1, len(offsets) - 2))
        j = max((j - 1, j, j + 1), key=lambda k: step[i, k] if 0 < k < len(offsets) - 1 else -1)
        left, middle, right = step[i, j - 1], step[i, j], step[i, j + 1]
        curvature = left - 2 * middle + right
        delta = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        found.append(points[i] + normal * (offsets[j] + float(np.clip(delta, -0.5, 0.5))))
    line = cv2.fitLine(np.array(found, np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    direction, origin = line[:2].astype(np.float64), line[2:].astype(np.float64)
    if np.dot(direction, b - a) < 0:
        direction = -direction
    return origin, direction, len(inliers) / samples


def _refine(lab: np.ndarray, quad: np.ndarray, least_step: float = STEP, reaches: tuple[float, ...] = (0.02, 0.01, 0.005)) -> tuple[np.ndarray, float] | None:
    """The quad snapped onto straight colour steps, and the weakest side's support (0..1)."""
    diagonal = float(np.hypot(*lab.shape[:2]))
    current = quad
    support = 0.0
    for reach in (share * diagonal for share in reaches):
        lines = []
        for i in range(4):
            fitted = _fit_side(lab, current[i], current[(i + 1) % 4], max(3.0, round(reach)), least_step)
            if fitted is None:
                return None
            lines.append(fitted)
        corners = []
        for i in range(4):
            corner = intersect(lines[i - 1][0], lines[i - 1][1], lines[i][0], lines[i][1])
            if corner is None:
                return None
            corners.append(corner)
        try:
            current = order_corners(np.array(corners)).astype(np.float64)
        except ValueError:
            return None
        support = min(line[2] for line in lines)
    return current, support


def _shape_plausibility(quad: np.ndarray, shape: tuple[int, int]) -> float:
    """1 for a print-like outline; less for tiny ones, sharp or flat angles, and very long thin ones."""
    height, width = shape
    area = _area(quad) / (height * width)
    if area < MIN_AREA:
        return 0.0
    factor = 1.0
    for i in range(4):
        u, v = quad[i - 1] - quad[i], quad[(i + 1) % 4] - quad[i]
        angle = np.degrees(np.arccos(np.clip(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1)))
        if not 50 <= angle <= 130:
            factor *= 0.3
    w, h = side_lengths(quad)
    if max(w, h) / min(w, h) > 3:
        factor *= 0.3
    return factor
