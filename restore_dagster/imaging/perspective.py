"""Four corners of a print → a straight rectangle.

Shared by automatic print detection and the owner's manual framing, so both straighten a print the
same way: corners are ``(x, y)`` pixel positions on the upright scan (after EXIF orientation), in
any order; the result is the quadrilateral's content warped onto a ``width × height`` rectangle.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np
from PIL import Image

Corners = Sequence[Sequence[float]]


def order_corners(corners: Corners) -> np.ndarray:
    """The four points as a float32 ``[4, 2]`` array in the order top-left, top-right, bottom-right,
    bottom-left; raises ``ValueError`` unless they form a convex quadrilateral with some area.

    Sorting by angle around the centre (not by x+y) keeps the order right for a print lying at 45°.
    """
    points = np.asarray(corners, dtype=np.float64)
    if points.shape != (4, 2) or not np.isfinite(points).all():
        raise ValueError(f"corners must be four finite (x, y) points, not {np.asarray(corners).tolist()!r}")
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ring = points[np.argsort(angles)]  # clockwise on screen (y points down), starting anywhere
    start = int(np.argmin(ring.sum(axis=1)))  # the corner nearest the image's top-left
    ring = np.roll(ring, -start, axis=0)
    edges = np.roll(ring, -1, axis=0) - ring
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not (turns > 0).all():
        raise ValueError(f"corners {points.round(1).tolist()} do not form a convex quadrilateral")
    area = 0.5 * abs(float(np.dot(ring[:, 0], np.roll(ring[:, 1], -1)) - np.dot(ring[:, 1], np.roll(ring[:, 0], -1))))
    if area < 16:
        raise ValueError(f"corners {points.round(1).tolist()} enclose almost no area ({area:.1f} px²)")
    return ring.astype(np.float32)


def side_lengths(corners: Corners) -> tuple[float, float]:
    """Mean width and mean height of the ordered quadrilateral (opposite sides averaged): the size a
    straightened print has when nothing better (an aspect estimate from the perspective) is known."""
    tl, tr, br, bl = order_corners(corners).astype(np.float64)
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    return float(width), float(height)


def warp_quad(image: Image.Image, corners: Corners, size: Iterable[int] | None = None) -> Image.Image:
    """The quadrilateral's content on a ``size = (width, height)`` rectangle (default: its mean side
    lengths), bicubic, edges replicated rather than black so a corner slightly outside the scan
    leaves no dark wedge. The input is never changed; the output has the input's mode (L, RGB)."""
    source = order_corners(corners)
    width, height = (int(round(v)) for v in (size if size is not None else side_lengths(corners)))
    if width < 1 or height < 1:
        raise ValueError(f"output size must be at least 1×1, not {width}×{height}")
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    # Pixel centres: OpenCV maps pixel (0, 0)'s centre at 0, so the rectangle's edges are at -0.5 and
    # width-0.5; shifting both sides by half a pixel maps the quad's outline onto the output's outline.
    matrix = cv2.getPerspectiveTransform(source - 0.5, target - 0.5)
    pixels = np.asarray(image)
    warped = cv2.warpPerspective(pixels, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(warped)  # 2-D stays L, 3-channel stays RGB
