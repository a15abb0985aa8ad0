"""Where to run LaMa on a large scan: crops around the holes, each within a pixel budget.

Strategy (bounded memory for any scan size, and work only where there is damage):

1. The whole padded image, when it has at most ``crop_pixels`` pixels: one crop, which is exactly
   the reference pipeline.
2. Otherwise the holes are grown by ``context`` pixels (a square dilation); each connected group of
   the grown mask gives a box (holes closer than 2·context share one), and boxes that overlap are
   merged until none do. Every hole pixel therefore lies in exactly one box (its ``core``), and the
   box includes ``context`` pixels of real surroundings on every side the image allows.
3. A box over the budget (a long scratch across the print, a huge mask) is cut into a grid of cores
   of at most ``side − 2·context`` pixels square (side = √crop_pixels); each core is run with
   ``context`` pixels around it and only its own hole pixels are taken back. Cores without holes
   are skipped.
4. Every crop is grown to multiples of 8 (the network's need) inside the padded image.
5. A work budget bounds the time: when the crops of step 2-3 add up to more than ``work_pixels``
   (scratches across the whole print, hundreds of specks), the image and its holes are scaled
   down (area averaging; a low-resolution pixel is a hole when any of its pixels is) until their
   crops fit, inpainted there, and the result is scaled back up (bicubic) for the hole pixels only.
   On the CPU the default budget keeps a 2000×1500 scan's inpainting near 8 s; on an accelerator
   there is none (full resolution always). :func:`plan` picks the scale.

LaMa's Fourier convolutions see the whole input, so a crop smaller than the image is not equal to
whole-image inpainting; the tests measure that difference (see test_lama.py). Memory follows the
largest crop, not the scan: a fresh process inpainting a 1024×768 crop peaks at 1.4 GiB RSS on the
CPU, weights and interpreter included (BENCHMARKS.md), so the default budget bounds it for any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .tiling import spans

# 1024×1024 pixels per network call; crops of holes get 128 pixels of surroundings per side.
DEFAULT_CROP_PIXELS = 1024 * 1024
DEFAULT_CONTEXT = 128
# Pixels through the network per image on the CPU: about 12 µs each on 2 cores (BENCHMARKS.md).
DEFAULT_CPU_WORK_PIXELS = 800_000

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


@dataclass(frozen=True)
class Crop:
    box: Box  # what the network sees (multiples of 8)
    core: Box  # whose hole pixels this crop paints (inside ``box``)


def plan_crops(hole: np.ndarray, *, crop_pixels: int, context: int, modulo: int = 8) -> list[Crop]:
    """Crops covering every True pixel of ``hole`` (H×W bool, H and W multiples of ``modulo``) once."""
    height, width = hole.shape
    if height % modulo or width % modulo:
        raise ValueError(f"plan_crops needs a padded mask (multiples of {modulo}), got {height}×{width}")
    if context < 0:
        raise ValueError(f"context must be at least 0 pixels, got {context}")
    side = int(crop_pixels**0.5)
    if side - 2 * context < modulo:
        raise ValueError(f"crop budget of {crop_pixels} pixels leaves no room inside {context} pixels of context")
    if not hole.any():
        return []
    whole = (0, height, 0, width)
    if height * width <= crop_pixels:
        return [Crop(whole, whole)]
    crops: list[Crop] = []
    for box in _hole_boxes(hole, context):
        y0, y1, x0, x1 = box
        if (y1 - y0) * (x1 - x0) <= crop_pixels:
            crops.append(Crop(_grow_to_modulo(box, height, width, modulo), box))
            continue
        tile = (side - 2 * context) // modulo * modulo
        for cy0, cy1 in spans(y1 - y0, tile):
            for cx0, cx1 in spans(x1 - x0, tile):
                core = (y0 + cy0, y0 + cy1, x0 + cx0, x0 + cx1)
                if not hole[core[0]:core[1], core[2]:core[3]].any():
                    continue
                around = (max(core[0] - context, 0), min(core[1] + context, height),
                          max(core[2] - context, 0), min(core[3] + context, width))
                crops.append(Crop(_grow_to_modulo(around, height, width, modulo), core))
    return crops


@dataclass(frozen=True)
class Plan:
    scale: float  # 1.0: full resolution; else the image is inpainted at size ``size``
    size: tuple[int, int]  # (width, height) the crops refer to, before padding
    hole: np.ndarray  # the padded hole map at that size
    crops: list[Crop]


def crop_area(crops: list[Crop]) -> int:
    return sum((c.box[1] - c.box[0]) * (c.box[3] - c.box[2]) for c in crops)


def plan(hole: np.ndarray, *, crop_pixels: int, context: int, work_pixels: int | None, modulo: int = 8) -> Plan:
    """Crops for the H×W bool ``hole`` map (unpadded), at full resolution if they fit ``work_pixels``.

    Otherwise the largest scale found (to ~3 %) whose crops fit: a few geometric steps down, then
    bisection. Planning costs a dilation and a labelling per try, small beside one network call.
    """
    height, width = hole.shape

    def at(scale: float) -> tuple[Plan, int]:
        size = (max(modulo, round(width * scale)), max(modulo, round(height * scale)))
        full = size == (width, height)
        small = hole if full else cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        padded = np.pad(small, ((0, -size[1] % modulo), (0, -size[0] % modulo)), mode="symmetric")
        crops = plan_crops(padded, crop_pixels=crop_pixels, context=context, modulo=modulo)
        return Plan(1.0 if full else scale, size, padded, crops), crop_area(crops)

    best, area = at(1.0)
    if work_pixels is None or area <= work_pixels:
        return best
    high, low = 1.0, min(1.0, (work_pixels / area) ** 0.5)
    while True:
        candidate, area = at(low)
        if area <= work_pixels or candidate.size == (modulo, modulo):
            best = candidate
            break
        high, low = low, low * 0.8
    while high / low > 1.03:
        middle = (high * low) ** 0.5
        candidate, area = at(middle)
        if area <= work_pixels:
            best, low = candidate, middle
        else:
            high = middle
    return best


def _hole_boxes(hole: np.ndarray, context: int) -> list[Box]:
    """Disjoint boxes, each a group of holes with ``context`` pixels around them (clipped to the image)."""
    grown = hole.astype(np.uint8)
    if context:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * context + 1, 2 * context + 1))
        grown = cv2.dilate(grown, kernel)
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(grown, connectivity=8)
    boxes = [
        (int(top), int(top + h), int(left), int(left + w))
        for left, top, w, h, _area in stats[1:count]
    ]
    return _merge_overlapping(boxes)


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Replace overlapping boxes by their union until no two overlap."""
    merged = True
    while merged:
        merged = False
        result: list[Box] = []
        for box in sorted(boxes):
            for i, other in enumerate(result):
                if box[0] < other[1] and other[0] < box[1] and box[2] < other[3] and other[2] < box[3]:
                    result[i] = (min(box[0], other[0]), max(box[1], other[1]),
                                 min(box[2], other[2]), max(box[3], other[3]))
                    merged = True
                    break
            else:
                result.append(box)
        boxes = result
    return boxes


def _grow_to_modulo(box: Box, height: int, width: int, modulo: int) -> Box:
    y0, y1 = _grow_span(box[0], box[1], height, modulo)
    x0, x1 = _grow_span(box[2], box[3], width, modulo)
    return (y0, y1, x0, x1)


def _grow_span(start: int, stop: int, length: int, modulo: int) -> tuple[int, int]:
    """[start, stop) grown to a multiple of ``modulo``: downwards/rightwards first, then back from the edge."""
    size = -(-(stop - start) // modulo) * modulo
    stop = min(start + size, length)
    return stop - size, stop
