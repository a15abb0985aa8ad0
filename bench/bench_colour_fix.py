"""The colour fix by hand: how long a tap's preview and a replay take on a 4K picture, and how well the
flood fill finds a synthetic dress.

    python bench/bench_colour_fix.py [--width 3840] [--height 2880] [--repeats 3]

The picture is the tests' scene (restore_dagster_tests/imaging/test_colour_fix.py): a wall, a dress
with shaded folds, an arm of the dress's grey drawn with a thin outline, a floor, film grain; at the
size ``upscaled`` makes by default (3840 on the long side). Reported (best of ``--repeats``):

- first tap: the upscaled PNG decoded, its working luminance made, the region segmented and encoded
  as the preview PNG (what the web route does when the luminance is not cached yet);
- next taps: segmentation and preview PNG only (the luminance is cached per photo);
- replay of one and of five fixes: what ``colorized`` adds to a photo with fixes (segment again,
  feathered mask, chroma replaced) after its colouriser;
- the region's intersection over union with the true dress (the arm and the outline excluded), at
  three grain levels;
- peak RSS of the process.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_common import gib, vm_hwm_bytes  # noqa: E402
from restore_dagster import colour_fixes  # noqa: E402
from restore_dagster.imaging import colour_fix as cf  # noqa: E402
from restore_dagster.imaging import decode_stage_file  # noqa: E402
from restore_dagster.viewer.colour_fix_edits import region_png  # noqa: E402
from restore_dagster_tests.imaging.colour_fix_scene import scene  # noqa: E402

TAP, TOLERANCE = (0.45, 0.8), cf.DEFAULT_TOLERANCE


def best(call, repeats: int) -> tuple[str, object]:
    """The best wall time of ``repeats`` calls, with the CPU time of that call (on a loaded machine
    the CPU time is the closer estimate of an idle one's wall time: these calls use one core, OpenCV
    aside); and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    wall, cpu = min(times)
    return f"{wall:.2f} s wall, {cpu:.2f} s CPU", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=3840)
    parser.add_argument("--height", type=int, default=2880)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = (args.width, args.height)
    rgb, dress, _ = scene(size=size, grain=6.0)
    folder = tempfile.TemporaryDirectory()
    upscaled = Path(folder.name) / "upscaled.png"
    Image.fromarray(rgb).save(upscaled, "PNG", compress_level=1)  # as stage files are written
    print(f"picture {size[0]}×{size[1]} ({upscaled.stat().st_size / 1e6:.1f} MB PNG), working size {cf.working_size(size)}")

    def first_tap():
        luminance = cf.working_luminance(decode_stage_file(upscaled))
        return luminance, region_png(cf.segment(luminance, *TAP, TOLERANCE).mask)

    seconds, (luminance, _) = best(first_tap, args.repeats)
    print(f"first tap (decode + luminance + segment + preview PNG): {seconds}")
    seconds, _ = best(lambda: region_png(cf.segment(luminance, *TAP, TOLERANCE).mask), args.repeats)
    print(f"next taps (segment + preview PNG): {seconds}")

    image = Image.fromarray(rgb)
    fixes = [colour_fixes.make_fix(luminance, *TAP, TOLERANCE, colour)[0]
             for colour in ("#2b4f9e", "#b3262e", "#4f7d3a", "#d9822b", "#6b3f8f")]
    seconds, one = best(lambda: colour_fixes.replay(image, luminance, fixes[:1]), args.repeats)
    print(f"replay of 1 fix ({100 * fixes[0].area:.1f}% of the picture): {seconds}, applied {len(one.applied)}")
    seconds, five = best(lambda: colour_fixes.replay(image, luminance, fixes), args.repeats)
    print(f"replay of 5 fixes (the same area, each coloured in turn): {seconds}, applied {len(five.applied)}")

    import cv2

    for grain in (3.0, 6.0, 12.0):
        pixels, truth, _ = scene(size=size, grain=grain)
        work = cf.working_luminance(Image.fromarray(pixels))
        truth_w = cv2.resize(truth.astype(np.uint8), (work.shape[1], work.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
        region = cf.segment(work, *TAP, TOLERANCE)
        print(f"grain σ {grain:4.1f}: region {100 * region.area:5.1f}% of the picture, IoU with the dress {cf.overlap(region.mask, truth_w):.3f}")
    print(f"peak RSS {gib(vm_hwm_bytes())}")


if __name__ == "__main__":
    main()
