"""Benchmark BOPBTL scratch detection (restore_dagster.models.scratch_detection); prints a markdown table.

Each scan size runs in a fresh process (so peak RSS is that of loading the detector and detecting on
one scan): the fixture's scratched print stretched to the size, load time, ``detect_scratches`` time
(best of ``--repeats`` after a warm-up) and peak RSS (VmHWM / ru_maxrss). The network itself always
sees a ~256-pixel short side (the reference's full_size pipeline), so the time beyond it is the
scan-sized work: the bicubic resize to multiples of 16, the grey conversion, and the probabilities
brought back to the scan's size.

    flock /tmp/bench.lock python bench/bench_scratch.py --device cpu --threads 2
    python bench/bench_scratch.py --device cuda

Stand-in weights of the official shapes (the cost of the real ones) are generated once into
``--standin-dir`` unless ``--weights`` names the official ``FT_Epoch_latest.pt``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import gib, grainy_photo, peak_memory, rss_verdict, run_child, size, standin_once, synchronize  # noqa: E402

from restore_dagster.models.device import resolve_device  # noqa: E402
from restore_dagster.models.scratch_detection import detect_scratches, load_detector, network_size, rounded_size  # noqa: E402

PHOTO = REPO / "restore_dagster_tests" / "fixtures" / "scratch_detection" / "input_scratched.png"
# The targets on the 2-core CPU (detection + inpainting; this measures the detection part).
TARGETS = {(2000, 1500): (15.0, 3 * 1024**3), (6000, 4000): (None, 4 * 1024**3)}


def scan(width: int, height: int) -> Image.Image:
    """The fixture's scratched print stretched to the size, with film grain so it is not smooth."""
    return grainy_photo(PHOTO, width, height)


def weights_path(args: argparse.Namespace) -> Path:
    if args.weights:
        return Path(args.weights)
    from restore_dagster_tests.models.scratch_standin import write_scratch_checkpoint  # noqa: PLC0415

    return standin_once(Path(args.standin_dir) / "standin_FT_Epoch_latest.pt", write_scratch_checkpoint)


def child(args: argparse.Namespace) -> None:
    """One scan size in this (fresh) process; prints one JSON line."""
    torch.set_num_threads(args.threads)
    width, height = args.size
    image = scan(width, height)
    device = resolve_device(args.device)
    start = time.perf_counter()
    model = load_detector(Path(args.child), device=device)
    synchronize(device)
    loaded = time.perf_counter() - start
    seconds = []
    for _ in range(args.repeats + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        mask = detect_scratches(image, model)
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({
        "size": [width, height], "rounded": list(rounded_size(width, height)),
        "network": list(network_size(*rounded_size(width, height))), "load_seconds": loaded,
        "first_seconds": seconds[0], "best_seconds": min(seconds[1:]),
        "coverage": float((np.asarray(mask) > 0).mean()), "mask_size": list(mask.size),
        **peak_memory(device),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=size, nargs="+", default=[(2000, 1500), (6000, 4000)])
    parser.add_argument("--weights", default=None, help="the official FT_Epoch_latest.pt")
    parser.add_argument("--standin-dir", default=str(Path(tempfile.gettempdir()) / "restore_dagster_scratch_bench"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=size, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    weights = weights_path(args)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"### Scratch detection on {name}\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, "
          f"{'official' if args.weights else 'stand-in'} weights, float32, full_size pipeline, threshold 0.4. "
          f"Each size in a fresh process; time: best of {args.repeats} after a warm-up. Shared machine: other "
          f"work may have run at the same time.\n")
    print("| scan | network input | load | detect (first / best) | target | peak RSS (VmHWM / ru_maxrss) "
          "| RSS target | CUDA peak |")
    print("|---|---|---|---|---|---|---|---|")
    for width, height in args.sizes:
        r = run_child(__file__, ["--child", str(weights), "--size", f"{width}x{height}", "--device", args.device,
                                 "--threads", str(args.threads), "--repeats", str(args.repeats)],
                      f"{width}×{height}")
        if r["mask_size"] != [width, height]:
            raise SystemExit(f"{width}×{height}: mask came back {r['mask_size']}")
        time_target, rss_target = TARGETS.get((width, height), (None, None))
        net_w, net_h = r["network"]
        print(f"| {width}×{height} | {net_w}×{net_h} | {r['load_seconds']:.1f} s | {r['first_seconds']:.2f} s / "
              f"**{r['best_seconds']:.2f} s** | "
              f"{'–' if time_target is None or device.type != 'cpu' else f'< {time_target:.0f} s with inpainting'} "
              f"| {gib(r['vm_hwm_bytes'])} / {gib(r['ru_maxrss_bytes'])} "
              f"| {rss_verdict(r, rss_target)} "
              f"| {'–' if r['cuda_peak_bytes'] is None else gib(r['cuda_peak_bytes'])} |")


if __name__ == "__main__":
    main()
