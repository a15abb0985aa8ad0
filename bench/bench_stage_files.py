"""Encode and decode time and size of one 4K stage image in each lossless format considered.

A stage file is written once per photo and stage and read by the next stage: at 4K (3840×2560,
29 MB of pixels) the format's cost is paid three times a photo on the pipeline's critical path.
Candidates: PNG at zlib levels 1 (the stage files' level), 0 (stored) and 6 (Pillow's default),
uncompressed TIFF and BMP (Pillow writes both, viewers open both), and a header-checked ``.npy``
(what np.save writes; read with allow_pickle=False). Decoding goes through the pipeline's own
``decode_stage_file`` (the checks every stage file gets) for the image formats.

The picture is photo-like: smooth shapes with film grain (σ 6 levels) at 4K, which is what the
upscaler hands the colouriser; a flat synthetic image would flatter PNG.
"""
from __future__ import annotations

import argparse
import datetime
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from restore_dagster.imaging import decode_stage_file  # noqa: E402


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([
        120 + 70 * np.sin(x / 311) * np.cos(y / 197) + 30 * np.sin((x + y) / 53),
        110 + 60 * np.cos(x / 257) + 25 * np.sin(y / 41),
        100 + 50 * np.sin((x - y) / 401) + 20 * np.cos(x / 29),
    ], -1)
    grain = rng.normal(0, 6, (height, width, 1)).astype(np.float32)  # film grain is mostly luminance
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB")


def encoders() -> dict:
    def pil(fmt: str, **options):
        def encode(image: Image.Image) -> bytes:
            buffer = io.BytesIO()
            image.save(buffer, fmt, **options)
            return buffer.getvalue()
        return encode

    def npy(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(image), allow_pickle=False)
        return buffer.getvalue()

    return {
        "PNG level 1 (stage files now)": (pil("PNG", compress_level=1), "png"),
        "PNG level 0 (stored)": (pil("PNG", compress_level=0), "png"),
        "PNG level 6 (Pillow default)": (pil("PNG", compress_level=6), "png"),
        "TIFF uncompressed": (pil("TIFF", compression="raw"), "tif"),
        "BMP": (pil("BMP"), "bmp"),
        "NPY (allow_pickle=False)": (npy, "npy"),
    }


def decode(path: Path) -> Image.Image:
    if path.suffix == ".npy":
        return Image.fromarray(np.load(path, allow_pickle=False))
    return decode_stage_file(path)


def best_of(call, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="3840x2560")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    image = photo_like(width, height)
    pixels = np.asarray(image)
    print(f"# stage files, {width}x{height} RGB, best of {args.repeats}; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    print("| format | encode s | write+fsync s | decode s | MB | lossless |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, (encode, extension) in encoders().items():
            encode_s, data = best_of(lambda: encode(image), args.repeats)
            path = Path(folder) / f"stage.{extension}"

            def write() -> None:
                with open(path, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
            write_s, _ = best_of(write, args.repeats)
            decode_s, decoded = best_of(lambda: decode(path), args.repeats)
            same = np.array_equal(np.asarray(decoded), pixels)
            print(f"| {name} | {encode_s:.3f} | {write_s:.3f} | {decode_s:.3f} | {len(data) / 1e6:.1f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
