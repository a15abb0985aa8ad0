"""Benchmark LaMa inpainting (restore_dagster.models.lama); prints a markdown table for BENCHMARKS.md.

Each scan size runs in a fresh process (so peak RSS is that of loading the generator and inpainting
one scan): a photo stretched to the size with a synthetic scratch mask (long thin curved lines and
round specks, ~1-2 % of the pixels), load time, inpainting time (best of ``--repeats`` after a
warm-up), the plan (scale, crops, pixels through the network) and peak RSS (VmHWM / ru_maxrss).

    flock /tmp/bench.lock python bench/bench_lama.py --device cpu --threads 2
    python bench/bench_lama.py --device cuda

Stand-in weights of the official shapes (the cost of the real ones) are generated once into
``--standin-dir`` unless ``--weights`` names the official ``best.ckpt``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import gib, grainy_photo, peak_memory, rss_verdict, run_child, size, standin_once, synchronize  # noqa: E402

from restore_dagster.models.device import resolve_device  # noqa: E402
from restore_dagster.models.lama import inpaint, load_inpainter  # noqa: E402
from restore_dagster.models.lama_crops import (  # noqa: E402
    DEFAULT_CONTEXT,
    DEFAULT_CPU_WORK_PIXELS,
    DEFAULT_CROP_PIXELS,
    crop_area,
    plan,
)

PHOTO = REPO / "restore_dagster_tests" / "fixtures" / "lama" / "input_rgb.png"
# The targets on the 2-core CPU (detection + inpainting; this measures the inpainting part).
TARGETS = {(2000, 1500): (15.0, 3 * 1024**3), (6000, 4000): (None, 4 * 1024**3)}


def scan(width: int, height: int) -> Image.Image:
    """The fixture photo stretched to the size, with film grain so crops are not flat."""
    return grainy_photo(PHOTO, width, height)


def scratch_mask(width: int, height: int, seed: int = 0) -> Image.Image:
    """Six long thin slightly curved scratches (1-3 px at 2000 px wide) and round specks (r 1-4 px),
    scaled with the image: ~0.9 % of a 2000×1500 scan, ~1.8 % of a 6000×4000 one."""
    rng = np.random.default_rng(seed)
    factor = max(1, round(width / 2000))
    mask = np.zeros((height, width), np.uint8)
    for _ in range(6):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.3, 0.9) * max(width, height)
        t = np.linspace(-0.5, 0.5, 200)
        bend = rng.uniform(-0.05, 0.05) * length * (1 - 4 * t**2)
        xs = x0 + np.cos(angle) * t * length - np.sin(angle) * bend
        ys = y0 + np.sin(angle) * t * length + np.cos(angle) * bend
        cv2.polylines(mask, [np.stack([xs, ys], 1).astype(np.int32)], False, 255, int(rng.integers(1, 4)) * factor)
    count = int(150 * (width / 2000) ** 2)
    for x, y, r in zip(rng.integers(0, width, count), rng.integers(0, height, count), rng.integers(1, 5, count)):
        cv2.circle(mask, (int(x), int(y)), int(r) * factor, 255, -1)
    return Image.fromarray(mask)


def weights_path(args: argparse.Namespace) -> Path:
    if args.weights:
        return Path(args.weights)
    from restore_dagster_tests.models.lama_standin import write_lightning_checkpoint  # noqa: PLC0415

    return standin_once(Path(args.standin_dir) / "standin_best.ckpt", write_lightning_checkpoint)


def child(args: argparse.Namespace) -> None:
    """One scan size in this (fresh) process; prints one JSON line."""
    torch.set_num_threads(args.threads)
    width, height = args.size
    image, mask = scan(width, height), scratch_mask(width, height)
    device = resolve_device(args.device)
    start = time.perf_counter()
    model = load_inpainter(Path(args.child), device=device)
    synchronize(device)
    loaded = time.perf_counter() - start
    # --work-pixels: the library's default (800,000 on the CPU, none elsewhere), a number, or 0 = none.
    work = {} if args.work_pixels is None else {"work_pixels": args.work_pixels or None}
    seconds = []
    for _ in range(args.repeats + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        result = inpaint(image, mask, model, **work)
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    hole = np.asarray(mask) > 0
    unchanged = bool((np.asarray(result)[~hole] == np.asarray(image)[~hole]).all())
    budget = work["work_pixels"] if work else (DEFAULT_CPU_WORK_PIXELS if device.type == "cpu" else None)
    chosen = plan(hole, crop_pixels=DEFAULT_CROP_PIXELS, context=DEFAULT_CONTEXT, work_pixels=budget)
    print(json.dumps({
        "size": [width, height], "coverage": float(hole.mean()), "load_seconds": loaded,
        "first_seconds": seconds[0], "best_seconds": min(seconds[1:]), "scale": chosen.scale,
        "crops": len(chosen.crops), "network_pixels": crop_area(chosen.crops), "unchanged_outside": unchanged,
        **peak_memory(device),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", type=size, nargs="+", default=[(2000, 1500), (6000, 4000)])
    parser.add_argument("--work-pixels", type=int, default=None,
                        help="inpaint()'s work budget (default: the library's; 0: none, full resolution)")
    parser.add_argument("--weights", default=None, help="the official big-lama/models/best.ckpt")
    parser.add_argument("--standin-dir", default=str(Path(tempfile.gettempdir()) / "restore_dagster_lama_bench"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=size, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    weights = weights_path(args)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"### LaMa inpainting on {name}\n")
    if args.work_pixels is None:
        budget = f"work budget {DEFAULT_CPU_WORK_PIXELS:,} px" if device.type == "cpu" else "no work budget"
    else:
        budget = f"work budget {args.work_pixels:,} px" if args.work_pixels else "no work budget (full resolution)"
    print(f"{datetime.date.today()}, torch {torch.__version__}, "
          f"{'official' if args.weights else 'stand-in'} weights, float32, crop budget {DEFAULT_CROP_PIXELS:,} px, "
          f"context {DEFAULT_CONTEXT} px, {budget}. Each size in a fresh "
          f"process; time: best of {args.repeats} after a warm-up. Shared machine: other work may have run "
          f"at the same time.\n")
    print("| scan | holes | plan | load | inpaint (first / best) | target | peak RSS (VmHWM / ru_maxrss) "
          "| RSS target | CUDA peak | only holes changed |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for width, height in args.sizes:
        r = run_child(__file__, ["--child", str(weights), "--size", f"{width}x{height}", "--device", args.device,
                                 "--threads", str(args.threads), "--repeats", str(args.repeats),
                                 *([] if args.work_pixels is None else ["--work-pixels", str(args.work_pixels)])],
                      f"{width}×{height}")
        time_target, rss_target = TARGETS.get((width, height), (None, None))
        print(f"| {width}×{height} | {r['coverage']:.2%} | scale {r['scale']:.2f}, {r['crops']} crop(s), "
              f"{r['network_pixels'] / 1e6:.2f} Mpx | {r['load_seconds']:.1f} s | {r['first_seconds']:.2f} s / "
              f"**{r['best_seconds']:.2f} s** | {'–' if time_target is None or device.type != 'cpu' else f'< {time_target:.0f} s with detection'} "
              f"| {gib(r['vm_hwm_bytes'])} / {gib(r['ru_maxrss_bytes'])} "
              f"| {rss_verdict(r, rss_target)} "
              f"| {'–' if r['cuda_peak_bytes'] is None else gib(r['cuda_peak_bytes'])} | {'yes' if r['unchanged_outside'] else 'NO'} |")


if __name__ == "__main__":
    main()
