"""Print detection on synthetic phone pictures of one print, and false crops on clean scans.

    python bench/bench_print_detection.py [--count 200] [--clean 200] [--size 960x720] [--seed 0]

The pictures come from ``restore_dagster_tests/imaging/phone_prints.py``: scikit-image's photographs
(the ``demo``/``bench`` extra) printed (4x6, 5x7, 3.5x5, 8x10, square; white border or not; square,
rounded or deckled corners), placed in 3-D before a phone camera (tilted and turned up to 25°) on a
wooden table, a bed sheet, a table top, or held in front of a room with a thumb over the edge, with
drop and cast shadows, a lighting gradient, vignetting, blur, noise and JPEG; the print's corners
are known. Clean scans are the same photographs as a scanner crops them (the print fills the
picture, sometimes its white border, a slight tilt or a dark lid line at one edge).

Reported:
- found: the print cropped with a mean corner error ≤ 1 % of the print's diagonal (target ≥ 95 %);
- mean corner error over the cropped prints, as a share of the print's diagonal (target ≤ 1 %);
- wrong crops: cropped with a larger error (a crop in the wrong place is worse than none);
- aspect: the straightened print's width/height against the truth (median relative error), and how
  often the snapped format is the right one;
- clean scans cropped at all (target ≤ 1 %), and prints filling the frame cropped at all;
- time per picture.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]  # run from a checkout, installed or not

from bench_common import size  # noqa: E402

from restore_dagster.imaging.perspective import order_corners  # noqa: E402
from restore_dagster.imaging.print_detection import detect_print  # noqa: E402
from restore_dagster_tests.imaging.phone_prints import bench_photographs as photographs  # noqa: E402
from restore_dagster_tests.imaging.phone_prints import clean_scan, phone_picture  # noqa: E402


def corner_error(found, truth) -> float:
    """Mean distance between matching corners, as a share of the true print's diagonal."""
    ordered, expected = order_corners(found).astype(np.float64), order_corners(truth).astype(np.float64)
    diagonal = (np.linalg.norm(expected[2] - expected[0]) + np.linalg.norm(expected[3] - expected[1])) / 2
    return float(np.linalg.norm(ordered - expected, axis=1).mean() / diagonal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--clean", type=int, default=200)
    parser.add_argument("--size", type=size, default=(960, 720))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    pictures = photographs()
    errors, wrong, missed, aspect_errors, seconds = [], [], [], [], []
    by_scene: Counter = Counter()
    found_by_scene: Counter = Counter()
    snapped_right = 0
    for index in range(args.count):
        seed = args.seed * 100_000 + index
        shot = phone_picture(pictures[index % len(pictures)], seed, size=args.size)
        start = time.perf_counter()
        detection = detect_print(shot.image)
        seconds.append(time.perf_counter() - start)
        by_scene[shot.scene] += 1
        if not detection.cropped:
            missed.append(seed)
            if args.verbose:
                print(f"missed {seed} {shot.scene}: {detection.reason}", flush=True)
            continue
        error = corner_error(detection.corners, shot.corners)
        if error > 0.01:
            wrong.append((seed, error))
            if args.verbose:
                print(f"wrong {seed} {shot.scene}: error {error:.3%} confidence {detection.confidence}", flush=True)
            continue
        errors.append(error)
        found_by_scene[shot.scene] += 1
        width, height = detection.size
        aspect_errors.append(abs(width / height / shot.aspect - 1))
        snapped_right += detection.aspect_name == shot.format_name
    clean_cropped, full_cropped = [], []
    for index in range(args.clean):
        seed = args.seed * 100_000 + 50_000 + index
        scan = clean_scan(pictures[index % len(pictures)], seed, long_side=max(args.size))
        start = time.perf_counter()
        if detect_print(scan).cropped:
            clean_cropped.append(seed)
        seconds.append(time.perf_counter() - start)
        # A phone picture taken so close that the print fills the frame: the print's middle only.
        shot = phone_picture(pictures[index % len(pictures)], seed, size=args.size, fill=(1.4, 1.6))
        if detect_print(shot.image).cropped:
            full_cropped.append(seed)
    count = max(args.count, 1)
    if args.count:
        print(f"phone pictures: {args.count} at {args.size[0]}x{args.size[1]} (scenes: {dict(sorted(by_scene.items()))})")
        print(f"found (corner error <= 1% of the print's diagonal): {len(errors)}/{args.count} = {len(errors) / count:.1%}"
              f" (per scene: {', '.join(f'{k} {found_by_scene[k]}/{v}' for k, v in sorted(by_scene.items()))})")
        print(f"not cropped: {len(missed)} {missed[:20]}")
        print(f"cropped in the wrong place (error > 1%): {len(wrong)} {[seed for seed, _ in wrong[:20]]}")
        every = errors + [error for _, error in wrong]
        if every:
            print(f"mean corner error over every crop, wrong ones included: {statistics.mean(every):.3%}")
    if errors:
        print(f"mean corner error of those: {statistics.mean(errors):.3%} of the diagonal (median {statistics.median(errors):.3%}, max {max(errors):.3%})")
        print(f"aspect ratio: median error {statistics.median(aspect_errors):.2%}, 95th percentile "
              f"{np.percentile(aspect_errors, 95):.2%}; right print format named {snapped_right}/{len(errors)}")
    if args.clean:
        print(f"clean scans cropped: {len(clean_cropped)}/{args.clean} = {len(clean_cropped) / max(args.clean, 1):.1%} {clean_cropped[:20]}")
        print(f"prints filling the frame cropped: {len(full_cropped)}/{args.clean} {full_cropped[:20]}")
    print(f"time per picture: median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s")


if __name__ == "__main__":
    main()
