"""Benchmark the plain-PyTorch DDColor (large and tiny); prints a markdown table for BENCHMARKS.md.

Per variant, in a fresh process (so that its peak memory is its own): load the checkpoint, colourise
a photo once as a warm-up, then ``--repeats`` timed colorize_ddcolor calls at ``--input-size``.

    flock /tmp/bench.lock python bench/bench_ddcolor.py --device cpu --threads 2
    python bench/bench_ddcolor.py --device cuda

Without ``--weights-dir`` (a folder holding the official ``ddcolor_modelscope.pth`` /
``ddcolor_paper_tiny.pth``) it uses the tests' deterministic stand-in weights, which have the
official shapes and so cost the same; they are generated once into ``--standin-dir``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import gib, peak_memory, run_child, size, standin_once, synchronize  # noqa: E402

PHOTO = REPO / "restore_dagster_tests" / "fixtures" / "ddcolor" / "input_gray.png"
OFFICIAL_FILES = {"large": "ddcolor_modelscope.pth", "tiny": "ddcolor_paper_tiny.pth"}


def weights_path(variant: str, args: argparse.Namespace) -> Path:
    if args.weights_dir:
        path = Path(args.weights_dir) / OFFICIAL_FILES[variant]
        if not path.is_file():
            raise SystemExit(f"{path}: not found (--weights-dir must hold {OFFICIAL_FILES[variant]})")
        return path
    return standin_once(Path(args.standin_dir) / f"standin_{OFFICIAL_FILES[variant]}",
                        lambda partial: write_standin(variant, partial))


def write_standin(variant: str, path: Path) -> Path:
    import torch

    from restore_dagster_tests.models.ddcolor_standin import ddcolor_manifest, ddcolor_standin

    torch.save({"params": ddcolor_standin(ddcolor_manifest(variant))}, path)  # the official files' layout
    return path


def child(variant: str, path: Path, args: argparse.Namespace) -> None:
    """One variant in this (fresh) process; prints a JSON line of its timings and peak memory."""
    import torch
    from PIL import Image

    from restore_dagster.models.ddcolor import colorize_ddcolor, load_ddcolor
    from restore_dagster.models.device import resolve_device

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    image = Image.open(PHOTO).convert("L").resize(args.size, Image.Resampling.BICUBIC)
    start = time.perf_counter()
    model = load_ddcolor(variant, path, device=device)
    synchronize(device)
    load_seconds = time.perf_counter() - start
    colorize_ddcolor(image, model, args.input_size)  # warm-up: kernel choice, allocator growth
    seconds, cpu_seconds = [], []
    for _ in range(args.repeats):
        synchronize(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        colorize_ddcolor(image, model, args.input_size)
        synchronize(device)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    print(json.dumps({"load_seconds": load_seconds, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "device": str(device),
                      "parameters": sum(p.numel() for p in model.parameters()), **peak_memory(device)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["large", "tiny"], choices=sorted(OFFICIAL_FILES))
    parser.add_argument("--input-size", type=int, default=512)
    parser.add_argument("--size", type=size, default=(640, 427), help="photo size, WxH")
    parser.add_argument("--weights-dir", default=None, help="folder with the official checkpoints")
    parser.add_argument("--standin-dir", default=str(Path(tempfile.gettempdir()) / "restore_dagster_ddcolor_bench"),
                        help="where stand-in weights are generated once (when no --weights-dir)")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "WEIGHTS"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args)
        return
    import torch

    rows = []
    for variant in args.variants:
        path = weights_path(variant, args)
        result = run_child(__file__, ["--child", variant, str(path), "--device", args.device, "--threads",
                                      str(args.threads), "--repeats", str(args.repeats), "--input-size",
                                      str(args.input_size), "--size", f"{args.size[0]}x{args.size[1]}"], variant)
        seconds = result["seconds"]
        peak = (f"{gib(result['cuda_peak_bytes'])} allocated" if result["cuda_peak_bytes"] is not None else
                f"{gib(max(result['vm_hwm_bytes'] or 0, result['ru_maxrss_bytes']))} RSS")
        rows.append(f"| {variant} ({result['parameters'] / 1e6:.0f} M parameters) | {args.input_size} "
                    f"| {min(seconds):.2f} s / {statistics.median(seconds):.2f} s | {min(result['cpu_seconds']):.1f} s "
                    f"| {result['load_seconds']:.1f} s "
                    f"| {peak} |")
    weights = "official weights" if args.weights_dir else "stand-in weights (official shapes)"
    print(f"{datetime.date.today()}, torch {torch.__version__}, {args.device}"
          f"{f', {args.threads} threads' if args.device == 'cpu' else ''}, {weights}, a {args.size[0]}×{args.size[1]} "
          f"grey photo; time: best / median of {args.repeats} colorize_ddcolor calls after a warm-up; peak: the "
          "fresh process's (load + warm-up + calls). CPU time: the process's, all threads, of the fastest call "
          "(on a shared machine the wall time can be many times the CPU time / threads).\n")
    print("| DDColor | input size | colorize (wall) | CPU time | load | peak memory |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
