"""Splitting flatbed sheets into their prints: every print found, none merged or split, corner error.

    python bench/bench_sheet_split.py [--sheets 60] [--dpi 200] [--seed 0] [--save-failures DIR]

Each generated sheet is an A4 scanner bed (portrait or landscape) under a near-white lid, with lid
noise, a faint lighting gradient, dust and a hair; on it 2 to 6 prints of common sizes (3.5×5, 4×6,
5×7 inches, 3.5×3.5 square, 35×45 mm passport), each rotated up to ±6°, in rows with gaps of 2 to
12 mm between neighbours and some laid against the glass's edge. The pictures are scikit-image's
photographs (the `demo` extra), cropped to the print's shape, some darkened (night), some washed out
towards white (overexposed, faded), some grey or sepia; half the prints have a white paper border of
3 to 6 mm in an off-white a few levels from the lid's. Every print casts the thin shadow a flatbed
lamp draws along a print's edge (1–2 pixels, 8–35 levels, on the side away from the lamp). The sheet
is slightly blurred, noised and saved as JPEG quality 90, as a scanner's software would.

Ground truth: each print's four corners (pixel-edge coordinates). A detected print matches a true one
when their quadrilaterals overlap by IoU ≥ 0.8. Reported: prints found (matched), merged (one
detection over two prints), split (two detections on one print), extra detections, sheets with any
error, mean and worst corner error as a fraction of the print's diagonal, sheets refused with an
error, and time per sheet.
"""
from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from restore_dagster.imaging.sheet_split import SheetSplitError, find_prints

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "hubble_deep_field", "immunohistochemistry", "moon", "page")
FORMATS_INCHES = ((3.5, 5.0), (4.0, 6.0), (5.0, 7.0), (3.5, 3.5), (35 / 25.4, 45 / 25.4))
A4_INCHES = (8.27, 11.69)


@dataclass
class Sheet:
    image: Image.Image
    corners: list[np.ndarray]  # per print, TL TR BR BL


def _picture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    from skimage import data

    photo = getattr(data, PHOTOS[rng.integers(len(PHOTOS))])()
    if photo.ndim == 2:
        photo = np.stack([photo] * 3, axis=2)
    photo = photo[..., :3]
    # Crop to the print's aspect, then resize.
    ph, pw = photo.shape[:2]
    target = width / height
    if pw / ph > target:
        cut = int(ph * target)
        photo = photo[:, (pw - cut) // 2:(pw - cut) // 2 + cut]
    else:
        cut = int(pw / target)
        photo = photo[(ph - cut) // 2:(ph - cut) // 2 + cut]
    pixels = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    look = rng.random()
    if look < 0.2:  # a night scene: dark everywhere
        pixels = 255 * (pixels / 255) ** 2.2 * 0.5
    elif look < 0.4:  # overexposed or faded: washed out towards white, up to the lid's brightness
        pixels = 255 - (255 - pixels) * rng.uniform(0.25, 0.45)
    elif look < 0.6:  # black and white, some sepia
        grey = pixels.mean(axis=2, keepdims=True)
        tint = np.array([1.0, 0.9, 0.72]) if rng.random() < 0.5 else np.ones(3)
        pixels = grey * tint
    return np.clip(pixels, 0, 255)


def _print_image(rng: np.random.Generator, width: int, height: int, dpi: int) -> np.ndarray:
    canvas = np.empty((height, width, 3), np.float32)
    if rng.random() < 0.5:  # white border
        border = int(rng.uniform(3, 6) / 25.4 * dpi)
        paper = rng.uniform(228, 244) + np.array([1.5, 0.5, -2.0])
        canvas[:] = paper
        canvas[border:height - border, border:width - border] = _picture(rng, width - 2 * border, height - 2 * border)
    else:
        canvas[:] = _picture(rng, width, height)
    return canvas


def make_sheet(rng: np.random.Generator, dpi: int, count: int) -> Sheet:
    short, long = (round(v * dpi) for v in A4_INCHES)
    landscape = rng.random() < 0.5
    width, height = (long, short) if landscape else (short, long)
    # Lay the prints out in rows: as many per row as fit, gaps of 2–12 mm, the first row and column
    # sometimes against the glass's edge. Formats too big for this many prints on A4 are not drawn.
    fitting = [f for f in FORMATS_INCHES if f[0] * f[1] * count <= 0.5 * A4_INCHES[0] * A4_INCHES[1]]
    for _ in range(1000):
        sizes = []
        for _ in range(count):
            w_in, h_in = fitting[rng.integers(len(fitting))]
            if rng.random() < 0.5:
                w_in, h_in = h_in, w_in
            sizes.append((round(w_in * dpi), round(h_in * dpi)))
        placements = _layout(rng, sizes, width, height, dpi)
        if placements is not None:
            break
    else:
        raise RuntimeError(f"no layout of {count} prints fits")
    lid_level = rng.uniform(248, 254)
    lid = np.array([lid_level, lid_level, lid_level - rng.uniform(0, 2)], np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    gradient = rng.uniform(-3, 3) * (xx / width - 0.5) + rng.uniform(-3, 3) * (yy / height - 0.5)
    sheet = np.broadcast_to(lid, (height, width, 3)) + gradient[..., None]
    sheet = np.ascontiguousarray(sheet, dtype=np.float32)
    del yy, xx, gradient
    truths = []
    for (pw, ph), (cx, cy) in zip(sizes, placements):
        angle = np.deg2rad(rng.uniform(-6, 6))
        picture = _print_image(rng, pw, ph, dpi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        # Pixel-edge coordinates: the print's rectangle [0, pw] × [0, ph], centred on (cx, cy).
        rect = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64) - [pw / 2, ph / 2]
        truths.append(rect @ rotation.T + [cx, cy])
        # The affine map of pixel centres (edge coordinate − 0.5) for warpAffine.
        matrix = np.hstack([rotation, (np.array([cx, cy]) - rotation @ [pw / 2, ph / 2] - 0.5 + rotation @ [0.5, 0.5])[:, None]])
        warped = cv2.warpAffine(picture, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Linear interpolation of ones with a zero border is 0.5 exactly on the print's edge.
        coverage = cv2.warpAffine(np.ones((ph, pw), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        shift = np.float32([[1, 0, rng.uniform(0.8, 1.8)], [0, 1, rng.uniform(0.8, 1.8)]])
        shadow = cv2.GaussianBlur(cv2.warpAffine(coverage, shift, (width, height)), (0, 0), 0.8)
        shadow = np.clip(shadow - coverage, 0, 1) * rng.uniform(8, 35)
        sheet = sheet - shadow[..., None]
        sheet = sheet * (1 - coverage[..., None]) + warped * coverage[..., None]

    for _ in range(int(rng.integers(3, 12))):  # dust on the glass
        x, y = int(rng.integers(width)), int(rng.integers(height))
        cv2.circle(sheet, (x, y), int(rng.integers(1, 3)), tuple(float(v) for v in lid - rng.uniform(40, 120)), -1)
    x, y = int(rng.integers(width)), int(rng.integers(height))
    hair = np.array([[x + t * 60, y + 25 * np.sin(t * 3)] for t in np.linspace(0, 1, 12)], np.int32)
    cv2.polylines(sheet, [hair], False, tuple(float(v) for v in lid - 90), 1)
    sheet = cv2.GaussianBlur(sheet, (0, 0), 0.6)
    sheet = sheet + rng.normal(0, 1.8, sheet.shape).astype(np.float32)
    image = Image.fromarray(np.clip(np.rint(sheet), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return Sheet(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), truths)


def _layout(rng, sizes, width, height, dpi):
    """Centres for the prints, in rows, with random gaps; None when they do not fit."""
    margin_mm = lambda low, high: rng.uniform(low, high) / 25.4 * dpi  # noqa: E731
    slack = 0.06  # room for the rotation: a 6° turn widens a print by up to ~10 % of its other side
    centres = []
    y = margin_mm(0, 6)
    index = 0
    while index < len(sizes):
        x = margin_mm(0, 6)
        row_height = 0
        row_start = index
        while index < len(sizes):
            pw, ph = sizes[index]
            grow_w, grow_h = pw + slack * ph, ph + slack * pw
            if x + grow_w > width and index > row_start:
                break
            if x + grow_w > width:
                return None
            centres.append((x + grow_w / 2, y + grow_h / 2))
            row_height = max(row_height, grow_h)
            x += grow_w + margin_mm(2, 12)
            index += 1
        y += row_height + margin_mm(2, 12)
        if y > height + 1:
            return None
    # Nudge each row's prints down a little at random so rows are not perfectly aligned.
    return [(cx, cy + rng.uniform(0, 2) / 25.4 * dpi) for cx, cy in centres]


def _iou(first: np.ndarray, second: np.ndarray) -> float:
    a = first.astype(np.float32)
    b = second.astype(np.float32)
    area_a, area_b = cv2.contourArea(a), cv2.contourArea(b)
    inter, _ = cv2.intersectConvexConvex(a, b)
    return float(inter / (area_a + area_b - inter)) if inter > 0 else 0.0


def evaluate(sheet: Sheet, found: list[np.ndarray]) -> dict:
    matches = [[j for j, quad in enumerate(found) if _iou(truth, quad) >= 0.8] for truth in sheet.corners]
    overlapping = [[i for i, truth in enumerate(sheet.corners) if _iou(truth, quad) > 0.05] for quad in found]
    errors = []
    for truth, matched in zip(sheet.corners, matches):
        if len(matched) == 1:
            quad = found[matched[0]]
            diagonal = np.linalg.norm(truth[2] - truth[0])
            errors.append(float(np.linalg.norm(quad - truth, axis=1).mean() / diagonal))
    return {
        "prints": len(sheet.corners),
        "found": sum(1 for m in matches if len(m) == 1),
        "split": sum(1 for truth in sheet.corners if sum(1 for q in found if _iou(truth, q) > 0.05) > 1),
        "merged": sum(1 for o in overlapping if len(o) > 1),
        "extra": sum(1 for o in overlapping if not o),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sheets", type=int, default=60)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-failures", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    totals = {"prints": 0, "found": 0, "split": 0, "merged": 0, "extra": 0}
    errors, seconds, bad_sheets, refused = [], [], 0, []
    for number in range(args.sheets):
        count = 2 + number % 5
        sheet = make_sheet(rng, args.dpi, count)
        start = time.perf_counter()
        try:
            found = [np.array(q) for q in find_prints(sheet.image)]
        except SheetSplitError as exc:
            found = []
            refused.append(f"sheet {number}: {exc}")
        seconds.append(time.perf_counter() - start)
        result = evaluate(sheet, found)
        for key in totals:
            totals[key] += result[key]
        errors.extend(result["errors"])
        wrong = result["found"] != result["prints"] or result["split"] or result["merged"] or result["extra"]
        bad_sheets += bool(wrong)
        if wrong and args.save_failures:
            args.save_failures.mkdir(parents=True, exist_ok=True)
            sheet.image.save(args.save_failures / f"sheet-{number:03d}.jpg")
            print(f"sheet {number}: {result['prints']} prints, found {result['found']}, split {result['split']}, "
                  f"merged {result['merged']}, extra {result['extra']}, detections {len(found)}")
    errors_arr = np.array(errors) if errors else np.array([np.nan])
    print(f"sheets: {args.sheets} at {args.dpi} dpi (2–6 prints each), seed {args.seed}")
    print(f"prints: {totals['prints']}, found {totals['found']} ({totals['found'] / totals['prints']:.1%}), "
          f"merged {totals['merged']}, split {totals['split']}, extra detections {totals['extra']}")
    print(f"sheets with any error: {bad_sheets}; refused with an error: {len(refused)}")
    for line in refused:
        print("  " + line)
    print(f"corner error / diagonal: mean {np.nanmean(errors_arr):.3%}, median {np.nanmedian(errors_arr):.3%}, "
          f"worst {np.nanmax(errors_arr):.3%}")
    print(f"time per sheet: median {np.median(seconds):.2f} s, worst {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
