"""The web encoding's choices on grainy 4K photos, before and after the 1:1 detail floor (issue 12).

    flock /tmp/bench.lock .venv/bin/python bench/bench_compress.py            # faint and strong grain
    .venv/bin/python bench/bench_compress.py --grain 3 --repeats 3 --formats JPEG,WEBP,AVIF

The picture is scikit-image's astronaut enlarged to 3840×2560 with film-like grain (the tests'
``grainy_4k_scan``: clumped, midtone-weighted, ``--grain`` grey levels). For each grain strength it
prints one markdown row per search: which format and quality ``encode_smallest`` picks, its bytes
and time (best of ``--repeats``, wall and CPU seconds), its SSIM on a screen and the share of detail
it keeps at 1:1 (``imaging.fidelity``), and ``grain kept``, the tests' independent check (median
over 32×32 blocks of the grain amplitude left; blotches are near 0). "before" is the screen floor
alone (``detail_floor_1to1=0``), the choice the project made until now, timed with this code; the
search's cost is the same measure plus one detail score per candidate.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import cv2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from restore_dagster.imaging import encode_smallest  # noqa: E402
from restore_dagster_tests.imaging.helpers import grain_kept, grainy_4k_scan  # noqa: E402


def timed(function, repeats: int):
    """(best wall seconds, best CPU seconds, last result) over ``repeats`` runs, after one warm-up when
    more than one. CPU seconds (this process, all its threads) hold on a shared, busy machine, where
    wall time only says how busy it was; on an idle one wall time is at most the CPU time."""
    result = function() if repeats > 1 else None
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grain", default="3,6", help="grain amplitudes in grey levels, comma-separated")
    parser.add_argument("--formats", default="JPEG+WEBP,JPEG,WEBP,AVIF",
                        help="searches to run: comma-separated, each a '+'-joined set of formats")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--size", default="3840x2560", help="WIDTHxHEIGHT (the grain is added at this size)")
    parser.add_argument("--threads", type=int, default=None, help="OpenCV threads (cv2.setNumThreads)")
    args = parser.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    width, height = (int(value) for value in args.size.lower().split("x"))
    print("| grain | floor | formats | choice | bytes | wall s | CPU s | SSIM screen | detail 1:1 | grain kept |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for amplitude in (float(value) for value in args.grain.split(",")):
        picture = grainy_4k_scan(amplitude)
        if picture.size != (width, height):
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        for search in args.formats.split(","):
            formats = tuple(search.upper().split("+"))
            for label, floor in (("before (screen 0.97 only)", 0.0), ("after (+ detail 0.90 at 1:1)", 0.90)):
                wall, cpu, encoded = timed(
                    lambda: encode_smallest(picture, formats=formats, detail_floor_1to1=floor), args.repeats)
                kept = grain_kept(picture, decoded(encoded.data))
                print(f"| {amplitude:g} | {label} | {'+'.join(formats)} | {encoded.format} q{encoded.quality} | "
                      f"{len(encoded.data):,} | {wall:.2f} | {cpu:.2f} | {encoded.ssim:.4f} | "
                      f"{encoded.detail_1to1:.3f} | {kept:.2f} |", flush=True)


if __name__ == "__main__":
    main()
