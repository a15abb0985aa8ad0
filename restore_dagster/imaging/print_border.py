"""Is each side of a print's outline the paper's edge against the background? Fix it when it is not.

A print's outline found by colour steps can stop at the wrong step: the picture's edge inside the
print's white border (on one side, or on all four where the border is hardly lighter than a grey
sheet), or the edge of something behind the print (a coloured block in the room) past one side.
Both leave a mark in the colours next to the side:

- just outside a side that stopped at the picture's edge lies paper: light, nearly colourless, the
  colour of the border just inside the other sides (or, all four stopped there, the same colour
  outside all four). Following that paper outwards to where it ends finds the print's real edge,
  at an even distance (a border is printed even) — :func:`complete_border`;
- just inside a side that went past the print lies background, not the paper the other three sides
  have just inside them — :func:`paper_sides_factor` lowers such an outline's score, so that an
  outline whose four sides all have paper inside wins.

Colours are compared in Lab (L 0..100) on the detection's smoothed copy.
"""
from __future__ import annotations

import cv2
import numpy as np

# Paper: light and nearly colourless (a yellowed or shaded border included), in Lab units.
PAPER_LIGHTNESS = 38.0
PAPER_CHROMA = 20.0
PAPER_MIN_B = -5.0
PAPER_MAX_A = 12.0
# Two bands are the same paper when their colour (a, b) is this close and their lightness within this
# ratio: the light falls unevenly across a print, a cast shadow darkens one side.
SAME_PAPER_AB = 5.0
SAME_PAPER_LIGHTNESS = 1.7
SAME_PLACE_LIGHTNESS = 1.15  # either side of one side: the same light falls on both
# Where paper ends: the colour differs from the paper's by this much (Lab ΔE) over a few pixels.
PAPER_ENDS = 3.0
BORDER_REACH = 0.08  # the widest border followed outwards, as a share of the picture's diagonal
NEAR = np.arange(2.0, 6.0)  # the band next to a side: 2..5 pixels from it, past the step's blur


def side_profiles(lab: np.ndarray, a: np.ndarray, b: np.ndarray, ts: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Lab colours across the side a→b of a clockwise (on screen) outline: at the points ``ts``
    (shares of its length), at each of ``offsets`` pixels along the outward normal (negative: inside).
    Returns the points, the outward normal, and the colours [points, offsets, 3]."""
    direction = (b - a) / np.linalg.norm(b - a)
    normal = np.array([direction[1], -direction[0]])  # outward for a clockwise (on screen) outline
    points = a + np.outer(ts, b - a)
    xs = (points[:, 0:1] + offsets[None, :] * normal[0] - 0.5).astype(np.float32)  # edge → centre coordinates
    ys = (points[:, 1:2] + offsets[None, :] * normal[1] - 0.5).astype(np.float32)
    return points, normal, cv2.remap(lab, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def intersect(p1, d1, p2, d2) -> np.ndarray | None:
    """Where the line through p1 along d1 meets the one through p2 along d2; None when parallel."""
    matrix = np.array([d1, -d2]).T
    if abs(np.linalg.det(matrix)) < 1e-6:
        return None
    t = np.linalg.solve(matrix, p2 - p1)
    return p1 + t[0] * d1


def _is_paper(colour: np.ndarray) -> bool:
    # White to yellowed: never bluish (b < 0 is a blue cast: a sheet, a wall), nor pink or green.
    return bool(colour[0] >= PAPER_LIGHTNESS and np.hypot(colour[1], colour[2]) <= PAPER_CHROMA
                and colour[2] >= PAPER_MIN_B and abs(colour[1]) <= PAPER_MAX_A)


def _same_paper(one: np.ndarray, other: np.ndarray, lightness: float = SAME_PAPER_LIGHTNESS) -> bool:
    return (_is_paper(one) and _is_paper(other) and float(np.hypot(*(one[1:] - other[1:]))) <= SAME_PAPER_AB
            and max(one[0], other[0]) <= lightness * min(one[0], other[0]))


def _clearly_not(colour: np.ndarray, papers: list[np.ndarray]) -> bool:
    """Whether ``colour`` is another colour than each of ``papers``, twice as far as :func:`_same_paper`
    allows (a side is not judged on a threshold's edge). Colour only: a grey picture's light sky
    inside three sides and a dark coat inside the fourth is no sign of a wrong side."""
    return all(float(np.hypot(*(colour[1:] - paper[1:]))) > 2 * SAME_PAPER_AB for paper in papers)


def _bands(lab: np.ndarray, quad: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per side, the median colour just inside and just outside it, over its middle 70 % (away from
    rounded corners; a thumb on the side is outvoted)."""
    inside, outside = [], []
    ts = np.linspace(0.15, 0.85, 24)
    for i in range(4):
        _, _, colours = side_profiles(lab, quad[i], quad[(i + 1) % 4], ts, np.concatenate([-NEAR[::-1], NEAR]))
        inside.append(np.median(colours[:, :len(NEAR)].reshape(-1, 3), axis=0))
        outside.append(np.median(colours[:, len(NEAR):].reshape(-1, 3), axis=0))
    return inside, outside


def _paper_edge(lab: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, bool] | None:
    """Follow the paper outside the side a→b outwards to where it ends: the line there (point,
    direction), the border's width in pixels, the share of points along the side that agree with the
    line, and whether the paper is lighter than what lies beyond it. None when the paper does not end
    at a straight line within reach."""
    diagonal = float(np.hypot(*lab.shape[:2]))
    offsets = np.arange(2.0, max(12.0, BORDER_REACH * diagonal))
    points, normal, colours = side_profiles(lab, a, b, np.linspace(0.1, 0.9, 40), offsets)
    # Per point its own paper (the light varies along a side), 3..6 pixels out: past the blur of the
    # picture's edge, inside the narrowest border.
    paper = np.median(colours[:, 1:5], axis=1)
    difference = np.linalg.norm(colours - paper[:, None], axis=2)
    # The paper ends where the difference stays above the threshold for four pixels running.
    away = np.lib.stride_tricks.sliding_window_view(difference > PAPER_ENDS, 4, axis=1).all(axis=2)
    away[:, :2] = False
    found, ends = away.any(axis=1), away.argmax(axis=1)
    if found.sum() < 0.5 * len(points):
        return None
    edges, sharp, lighter = [], [], []
    for i in np.flatnonzero(found):  # the edge: half-way up the step from paper to what lies beyond
        k = ends[i]
        beyond = float(np.median(difference[i, k + 2:k + 8])) if k + 2 < len(offsets) else float(difference[i, k])
        j = k
        while j > 0 and difference[i, j - 1] >= beyond / 2:
            j -= 1
        before, after = difference[i, j - 1] if j > 0 else 0.0, difference[i, j]
        share = (beyond / 2 - before) / (after - before) if after > before else 0.0
        edges.append(points[i] + normal * (offsets[j] - 1 + float(np.clip(share, 0, 1))))
        # Paper's edge is a cut: a few pixels from paper to beyond. A shadow's edge is a slow ramp.
        sharp.append(difference[i, max(j - 3, 0)] <= 0.4 * beyond and difference[i, min(j + 3, len(offsets) - 1)] >= 0.6 * beyond)
        lighter.append(paper[i, 0] > float(np.median(colours[i, k + 2:k + 8, 0])) if k + 2 < len(offsets) else False)
    edges = np.array(edges)
    distances = (edges - points[found]) @ normal
    width = float(np.median(distances))
    agree = (np.abs(distances - width) <= max(2.0, 0.25 * width)) & np.array(sharp)
    if agree.sum() < 0.5 * len(points):
        return None
    line = cv2.fitLine(edges[agree].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    direction, origin = line[:2].astype(np.float64), line[2:].astype(np.float64)
    side = (b - a) / np.linalg.norm(b - a)
    if abs(float(np.dot(direction, side))) < np.cos(np.deg2rad(6)):  # a border's outer edge runs along its inner one
        return None
    return origin, direction, width, float(agree.sum() / len(points)), bool(np.mean(np.array(lighter)[agree]) > 0.5)


def complete_border(lab: np.ndarray, quad: np.ndarray, support: float) -> tuple[np.ndarray, float]:
    """The outline moved out to the paper's edge on the sides where it stopped at the picture's edge
    inside a white border; ``quad`` and ``support`` unchanged where no side did."""
    inside, outside = _bands(lab, quad)
    paper_inside = [_is_paper(colour) for colour in inside]
    sides = []
    for i in range(4):
        if not _is_paper(outside[i]) or _same_paper(inside[i], outside[i], SAME_PLACE_LIGHTNESS):
            continue  # background outside, or paper on both sides: not a border's inner edge
        if paper_inside[i] and outside[i][0] < inside[i][0]:
            continue  # paper inside, something darker outside: the paper's edge already (a grey table)
        # The same paper is just inside another side (found at the print's edge there), or just
        # outside another side that has the picture inside (found at the picture's edge there too).
        evidence = sum(1 for j in range(4) if j != i and (_same_paper(inside[j], outside[i]) if paper_inside[j]
                                                          else _same_paper(outside[j], outside[i])))
        if evidence >= 2:
            sides.append(i)
    # With no paper inside any side there is no border found to go on from: the picture's edge was
    # found all round, and every side must then find the paper's end, at similar widths.
    all_four = not any(paper_inside)
    if not sides or (all_four and len(sides) < 4):
        return quad, support
    lines = [(quad[i], quad[(i + 1) % 4] - quad[i]) for i in range(4)]
    widths, shares = [], []
    for i in sides:
        edge = _paper_edge(lab, quad[i], quad[(i + 1) % 4])
        if edge is None or (all_four and not edge[4]):
            # All four moved out needs the most evidence: paper lighter than the table all round
            # (a coloured sheet's own band, a drop shadow's edge are not a border).
            if all_four:
                return quad, support
            continue
        lines[i] = (edge[0], edge[1])
        widths.append(edge[2])
        shares.append(edge[3])
    if not widths or (all_four and max(widths) > 2.5 * min(widths)):  # a printed border is even
        return quad, support
    corners = []
    for i in range(4):
        corner = intersect(lines[i - 1][0], lines[i - 1][1], lines[i][0], lines[i][1])
        if corner is None:
            return quad, support
        corners.append(corner)
    # A moved side stands on two parallel lines: the picture's edge it was found at (its support is
    # the outline's) and the paper's end (the share of points that agree with it); both count.
    return np.array(corners), min(support, *[(support + share) / 2 for share in shares])


def paper_sides_factor(lab: np.ndarray, quad: np.ndarray, moved: bool = False) -> float:
    """1, or less for an outline whose sides have the same paper just inside on three sides but not
    on the fourth: that side went past the print onto something behind it. An outline ``moved`` out
    to a border's edge on some sides also scores less when another side still has lighter paper just
    outside it: the border was completed only part of the way round."""
    inside, outside = _bands(lab, quad)
    if moved and any(_is_paper(outside[i]) and not _same_paper(inside[i], outside[i], SAME_PLACE_LIGHTNESS)
                     and not (_is_paper(inside[i]) and outside[i][0] < inside[i][0]) for i in range(4)):
        return 0.6
    for i in range(4):
        others = [inside[j] for j in range(4) if j != i]
        if all(_same_paper(one, other) for k, one in enumerate(others) for other in others[k + 1:]) and _clearly_not(inside[i], others):
            return 0.6
    return 1.0
