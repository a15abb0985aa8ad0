"""Timings of the imaging helpers on a 4K restored photo: encode_smallest, load_scan, SSIM, previews.

    flock /tmp/bench.lock .venv/bin/python bench/bench_imaging.py --repeats 3
    python bench/bench_imaging.py --device cuda     # same CPU code, timed on the GPU machine's CPU

The helpers are Pillow/NumPy/OpenCV and never touch a GPU, so ``--device`` only labels where the
numbers came from (there is no CUDA memory to report). The test picture is scikit-image's
astronaut photograph enlarged to the target size with mild grain, so that the encoder has detail
to keep, like a waifu2x output of a real scan. Prints a markdown table of best and median times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from restore_dagster.imaging import (
    age_photo,
    before_after_preview,
    colourfulness,
    decode_stage_file,
    encode_png,
    encode_smallest,
    is_grey_image,
    load_scan,
    preview_data_uri,
    ssim,
)


def restored_photo(width: int, height: int) -> Image.Image:
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.LANCZOS)
    grain = np.random.default_rng(0).normal(0.0, 3.0, (height, width, 1))
    return Image.fromarray(np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8), "RGB")


def timed(function, repeats: int):
    """(best seconds, median seconds, last result) over ``repeats`` runs after one warm-up."""
    result = function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def describe(encoded) -> str:
    return f"{encoded.format} q{encoded.quality}, SSIM {encoded.ssim:.4f}, {len(encoded.data):,} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="label only: the helpers run on the CPU")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="3840x2560", help="restored picture size, WIDTHxHEIGHT")
    parser.add_argument("--threads", type=int, default=None, help="OpenCV threads (cv2.setNumThreads)")
    args = parser.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    width, height = (int(value) for value in args.size.lower().split("x"))
    picture = restored_photo(width, height)
    scan_picture = age_photo(picture.resize((width // 3, height // 3), Image.Resampling.BOX), seed=0)
    rows: list[tuple[str, str, float, float, str]] = []

    with tempfile.TemporaryDirectory() as folder:
        scan_path = Path(folder) / "scan.jpg"
        scan_picture.save(scan_path, quality=85)
        big_path = Path(folder) / "restored.jpg"
        picture.save(big_path, quality=92)
        stage_path = Path(folder) / "stage.png"
        damaged = Image.open(big_path).convert("RGB")
        size = f"{width}×{height}"
        small = f"{scan_picture.width}×{scan_picture.height}"

        def add(name, input_label, function, summary=lambda result: ""):
            best, median, result = timed(function, args.repeats)
            rows.append((name, input_label, best, median, summary(result)))

        add("encode_smallest (JPEG+WEBP, floor 0.97)", size, lambda: encode_smallest(picture), describe)
        add("encode_smallest (JPEG only)", size, lambda: encode_smallest(picture, formats=("JPEG",)), describe)
        add("encode_smallest (WEBP only)", size, lambda: encode_smallest(picture, formats=("WEBP",)), describe)
        # A stricter floor pushes the search into the middle of the quality range: the slow case.
        add("encode_smallest (JPEG+WEBP, floor 0.99)", size, lambda: encode_smallest(picture, ssim_floor=0.99), describe)
        add("load_scan (JPEG scan)", small, lambda: load_scan(scan_path), lambda scan: f"grey={scan.is_grey}, {scan.greyness:.2f}")
        add("load_scan (JPEG)", size, lambda: load_scan(big_path), lambda scan: f"grey={scan.is_grey}, {scan.greyness:.2f}")
        add("is_grey_image", size, lambda: is_grey_image(picture), lambda result: f"{result[0]}, {result[1]:.2f}")
        add("colourfulness", size, lambda: colourfulness(picture), lambda value: f"{value:.1f}")
        add("ssim (vs JPEG q92)", size, lambda: ssim(picture, damaged), lambda value: f"{value:.4f}")
        add("encode_png (stage file, level 1)", size, lambda: stage_path.write_bytes(encode_png(picture)), lambda n: f"{n:,} B")
        add("decode_stage_file (PNG)", size, lambda: decode_stage_file(stage_path))
        add("preview_data_uri", size, lambda: preview_data_uri(picture), lambda uri: f"{len(uri):,} chars")
        add("before_after_preview", f"{small} + {size}", lambda: before_after_preview(scan_picture, picture), lambda uri: f"{len(uri):,} chars")
        add("age_photo", small, lambda: age_photo(scan_picture, seed=1), lambda image: "")

    print(f"imaging helpers, device label {args.device} (CPU code; no CUDA memory to report), best and median of {args.repeats} runs after a warm-up, OpenCV threads {cv2.getNumThreads()}\n")
    print("| operation | input | best s | median s | result |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, input_label, best, median, summary in rows:
        print(f"| {name} | {input_label} | {best:.3f} | {median:.3f} | {summary} |")


if __name__ == "__main__":
    main()
