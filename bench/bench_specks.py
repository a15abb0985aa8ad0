"""Precision and recall of the speck detector on clean photographs with synthetic dust and hairs.

    python bench/bench_specks.py [--long-side 2000] [--seed 0]

The photographs are scikit-image's samples, a bench-only dependency (``pip install -e '.[bench]'``;
``make install`` already has it through the ``demo`` extra, and ``make bench`` runs this script), enlarged to a
scan-like size bilinearly (soft like a scan; Lanczos or bicubic would add dark ringing lines along
edges that no scanner makes and that read as hairs) and given film grain; on each, dust (dark and bright discs of radius 0.5
to 3.5 pixels, soft-edged, of varied contrast) and short hairs (curved strokes 1–2 pixels wide, 10 to
45 long) are drawn at known random places, a third of them on textured parts of the picture. The
truth mask is every pixel the damage changed by 8 or more grey levels.

Reported per photo and in total:
- per speck: recall = damage marks with at least one detected pixel / all marks; precision = detected
  regions touching a damage mark / all detected regions;
- per pixel (the detector's 1-pixel growth allowed for): recall = truth pixels detected, precision =
  detected pixels within 2 pixels of the truth;
- time per megapixel.
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from PIL import Image, ImageDraw

from restore_dagster.imaging.specks import detect_specks

PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "moon", "cat", "immunohistochemistry")


def clean_scan(name: str, long_side: int, rng: np.random.Generator) -> np.ndarray:
    from skimage import data

    picture = Image.fromarray(getattr(data, name)()).convert("RGB")
    scale = long_side / max(picture.size)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BILINEAR)
    grain = rng.normal(0, 3.0, (picture.height, picture.width, 1))
    return np.clip(np.asarray(picture, dtype=np.float32) + grain, 0, 255)


def textured(pixels: np.ndarray) -> np.ndarray:
    """Where the picture itself has detail: local standard deviation of luma over 15 pixels above 12."""
    luma = pixels.mean(axis=2)
    mean = cv2.blur(luma, (15, 15))
    return np.sqrt(np.maximum(cv2.blur(luma * luma, (15, 15)) - mean * mean, 0)) > 12


def add_damage(pixels: np.ndarray, rng: np.random.Generator, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The damaged scan and one boolean mask per damage mark."""
    height, width = pixels.shape[:2]
    texture = np.argwhere(textured(pixels))
    damaged = pixels.copy()
    marks = []
    for index in range(count):
        if index % 3 == 0 and len(texture):
            y, x = texture[rng.integers(len(texture))]
        else:
            y, x = rng.integers(8, height - 8), rng.integers(8, width - 8)
        layer = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(layer)
        if index % 5 == 4:  # a hair
            length, angle = rng.uniform(10, 45), rng.uniform(0, np.pi)
            bend = rng.uniform(-0.6, 0.6)
            points = [(x + t * length * np.cos(angle + bend * t), y + t * length * np.sin(angle + bend * t))
                      for t in np.linspace(0, 1, 8)]
            draw.line(points, fill=255, width=int(rng.integers(1, 3)))
        else:
            radius = rng.uniform(0.5, 3.5)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
        alpha = np.asarray(layer.filter(_SOFTEN), dtype=np.float32)[..., None] / 255.0
        tone = 255.0 if rng.random() < 0.35 else 0.0  # dust prints white, hairs and lint mostly dark
        strength = rng.uniform(0.6, 1.0)
        before = damaged.copy()
        damaged = damaged * (1 - strength * alpha) + tone * strength * alpha
        marks.append(np.abs(damaged - before).max(axis=2) >= 8)
    return damaged, marks


_SOFTEN = None  # set in main (ImageFilter import kept local to the script's use)


def score(detected: np.ndarray, marks: list[np.ndarray]) -> dict[str, float]:
    truth = np.zeros_like(detected)
    for mark in marks:
        truth |= mark
    found = sum(bool((detected & mark).any()) for mark in marks)
    count, labels = cv2.connectedComponents(detected.astype(np.uint8), connectivity=8)
    touching = len(np.unique(labels[detected & truth]))
    near_truth = cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return {
        "marks": len(marks),
        "found": found,
        "regions": count - 1,
        "true_regions": touching,
        "truth_px": int(truth.sum()),
        "truth_px_found": int((truth & detected).sum()),
        "detected_px": int(detected.sum()),
        "detected_px_near": int((detected & near_truth).sum()),
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def main() -> None:
    global _SOFTEN
    from PIL import ImageFilter

    _SOFTEN = ImageFilter.GaussianBlur(0.6)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-side", type=int, default=2000)
    parser.add_argument("--marks", type=int, default=60, help="damage marks per photo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    totals: dict[str, float] = {}
    seconds = megapixels = 0.0
    print("| photo | size | speck recall | speck precision | pixel recall | pixel precision | s/MP |")
    print("|---|---|---|---|---|---|---|")
    for name in PHOTOS:
        clean = clean_scan(name, args.long_side, rng)
        damaged, marks = add_damage(clean, rng, args.marks)
        image = Image.fromarray(np.clip(damaged, 0, 255).astype(np.uint8), "RGB")
        start = time.perf_counter()
        detected = np.asarray(detect_specks(image)) > 0
        elapsed = time.perf_counter() - start
        mp = image.width * image.height / 1e6
        seconds, megapixels = seconds + elapsed, megapixels + mp
        s = score(detected, marks)
        for key, value in s.items():
            totals[key] = totals.get(key, 0) + value
        print(f"| {name} | {image.width}×{image.height} | {ratio(s['found'], s['marks'])} | "
              f"{ratio(s['true_regions'], s['regions'])} | {ratio(s['truth_px_found'], s['truth_px'])} | "
              f"{ratio(s['detected_px_near'], s['detected_px'])} | {elapsed / mp:.2f} |")
    t = totals
    print(f"| **all** | | **{ratio(t['found'], t['marks'])}** | **{ratio(t['true_regions'], t['regions'])}** | "
          f"**{ratio(t['truth_px_found'], t['truth_px'])}** | **{ratio(t['detected_px_near'], t['detected_px'])}** | "
          f"**{seconds / megapixels:.2f}** |")


if __name__ == "__main__":
    main()
