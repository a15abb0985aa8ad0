"""Benchmark the plain-PyTorch DeOldify generators; prints markdown tables for BENCHMARKS.md.

CPU (time of one colorize call, load time, peak RSS of a fresh process that loads and colourises
once, FLOP/s against a large matmul):

    flock /tmp/bench.lock python bench/bench_deoldify.py --device cpu --threads 2

CUDA (per-photo time in fp32 and fp16, peak device memory, memory back at baseline after every
call, fp16-vs-fp32 agreement):

    python bench/bench_deoldify.py --device cuda

Without ``--weights-dir`` (a folder holding the official ``ColorizeArtistic_gen.pth`` /
``ColorizeStable_gen.pth``) it uses the deterministic stand-in weights of the tests, which have the
official shapes and so cost the same; they are generated once into ``--standin-dir``.
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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import cuda_timings, gib, size, synchronize, vm_hwm_bytes  # noqa: E402
from bench_matmul import matmul_flops  # noqa: E402

from restore_dagster.models.deoldify import colorize, load_generator  # noqa: E402
from restore_dagster.models.deoldify_layers import SelfAttention  # noqa: E402
from restore_dagster.models.device import resolve_device  # noqa: E402

FIXTURES = REPO / "restore_dagster_tests" / "fixtures" / "deoldify"
PHOTO = FIXTURES / "input_gray.png"
OFFICIAL_FILES = {"artistic": "ColorizeArtistic_gen.pth", "stable": "ColorizeStable_gen.pth"}
# The project's targets on the 2-core CPU at render factor 35: half the reference's time, and RSS.
TARGETS = {"artistic": (8.5, 2 * 1024**3), "stable": (6.5, 3 * 1024**3)}


def sample_image(width: int, height: int) -> Image.Image:
    """The fixture's grey photo stretched to ``width × height``: real photo content at any size."""
    return Image.open(PHOTO).convert("L").resize((width, height), Image.Resampling.BICUBIC)


def weights_path(kind: str, args: argparse.Namespace) -> Path:
    """The official file from --weights-dir, or the stand-in file (made in a child process once)."""
    if args.weights_dir:
        path = Path(args.weights_dir) / OFFICIAL_FILES[kind]
        if not path.is_file():
            raise SystemExit(f"{path}: not found (--weights-dir must hold {OFFICIAL_FILES[kind]})")
        return path
    path = Path(args.standin_dir) / f"standin_{OFFICIAL_FILES[kind]}"
    if not path.is_file():
        # A child, so that the parent stays small: see measure_rss.
        _run_child(["--make-standin", kind, str(path)])
    return path


def make_standin(kind: str, path: Path) -> None:
    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict  # noqa: PLC0415

    state = standin_state_dict(load_manifest(FIXTURES / f"manifest_{kind}.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial, _use_new_zipfile_serialization=False)  # the official files' format
    partial.replace(path)
    print(json.dumps({"written": str(path)}))


def count_flops(model: nn.Module, side: int, device: torch.device, dtype: torch.dtype) -> float:
    """2 × multiply-adds of one forward pass at ``side × side``: convolutions, linear layers and the
    self-attention's two matrix products, with the full-resolution tail in one band (the work
    DeOldify defines, without the few context rows that banding recomputes)."""
    macs = 0

    def conv_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            kernel = int(np.prod(module.kernel_size))
            macs += output.numel() * module.in_channels // module.groups * kernel
        elif isinstance(module, nn.Linear):
            macs += output.numel() * module.in_features
        elif isinstance(module, SelfAttention):
            batch, channels = inputs[0].shape[:2]
            positions = inputs[0][0, 0].numel()
            macs += batch * positions * positions * (channels // 8 + channels)

    handles = [m.register_forward_hook(conv_hook) for m in model.modules()]
    band, model.tail_band_rows = model.tail_band_rows, side
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, side, side, device=device, dtype=dtype))
    finally:
        model.tail_band_rows = band
        for handle in handles:
            handle.remove()
    return 2.0 * macs


def timings(call: Callable[[], object], repeats: int, device: torch.device) -> list[float]:
    call()  # warm-up: kernel selection, allocator growth, NNPACK workspace
    seconds = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def fmt(seconds: list[float]) -> str:
    return f"{min(seconds):.2f} s / {statistics.median(seconds):.2f} s"


# ---------------------------------------------------------------------------------------------
# CPU


def bench_cpu(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    paths = {kind: weights_path(kind, args) for kind in args.kinds}
    # First, while this process is still small: Linux carries the parent's peak RSS into a child's
    # ru_maxrss across fork/exec, so a big parent would inflate the child's number.
    rss = {} if args.skip_rss else {kind: measure_rss(kind, paths[kind], args) for kind in args.kinds}
    device = torch.device("cpu")
    matmul = matmul_flops(device, torch.float32)
    image = sample_image(*args.size)
    side = args.render_factor * 16

    print(f"### DeOldify on CPU ({_cpu_name()}, {args.threads} threads)\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, {_weights_label(args)}, a {args.size[0]}×{args.size[1]} "
          f"grey photo at render factor {args.render_factor} ({side}×{side}), float32. Time: best / median of "
          f"{args.repeats} colorize calls after a warm-up. Shared 2-core machine: other work may have run at the "
          f"same time, so the best run is the fairest number.\n")
    print("| generator | colorize | target | load (warm cache) | GFLOP/s | share of matmul "
          "| fresh process: peak RSS (ru_maxrss / VmHWM) | RSS target | its load + colorize |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.kinds:
        start = time.perf_counter()
        model = load_generator(kind, paths[kind], device=device)
        load_seconds = time.perf_counter() - start
        seconds = timings(lambda model=model: colorize(image, model, args.render_factor), args.repeats, device)
        flops = count_flops(model, side, device, torch.float32) / min(seconds)
        time_target, rss_target = TARGETS[kind]
        time_cell = f"≤ {time_target} s: {'yes' if min(seconds) <= time_target else 'NO'}"
        if kind in rss:
            child = rss[kind]
            peak = max(child["ru_maxrss_bytes"], child["vm_hwm_bytes"] or 0)
            rss_cells = (f"{gib(child['ru_maxrss_bytes'])} / {gib(child['vm_hwm_bytes'])}",
                         f"< {gib(rss_target)}: {'yes' if peak < rss_target else 'NO'}",
                         f"{child['load_seconds']:.1f} s + {child['colorize_seconds']:.1f} s")
        else:
            rss_cells = ("skipped", "", "")
        print(f"| {kind} | {fmt(seconds)} | {time_cell} | {load_seconds:.1f} s | {flops / 1e9:.0f} "
              f"| {flops / matmul:.0%} | {' | '.join(rss_cells)} |")
        del model
    print(f"\nFLOPs: 2 × multiply-adds of convolutions, linear layers and attention products at {side}×{side}, "
          f"as DeOldify defines them; fp32 matmul (2048³, {args.threads} threads): {matmul / 1e9:.0f} GFLOP/s. "
          f"The 3×3 convolutions run as Winograd F(6×6, 3×3) (NNPACK), which needs ~5× fewer multiplications, "
          f"so the effective rate can exceed the matmul's.\n")


def measure_rss(kind: str, path: Path, args: argparse.Namespace) -> dict:
    """Peak RSS of loading and one colorize call in a fresh interpreter."""
    return _run_child(["--rss-child", kind, str(path), "--threads", str(args.threads),
                       "--size", f"{args.size[0]}x{args.size[1]}", "--render-factor", str(args.render_factor)])


def rss_child(kind: str, path: Path, args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    image = sample_image(*args.size)
    start = time.perf_counter()
    model = load_generator(kind, path, device="cpu")
    loaded = time.perf_counter()
    result = colorize(image, model, args.render_factor)
    done = time.perf_counter()
    assert result.size == image.size
    print(json.dumps({"ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "vm_hwm_bytes": vm_hwm_bytes(), "load_seconds": loaded - start,
                      "colorize_seconds": done - loaded}))


def _run_child(arguments: list[str]) -> dict:
    completed = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"child {arguments} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _weights_label(args: argparse.Namespace) -> str:
    return "official weights" if args.weights_dir else "stand-in weights (official shapes)"


# ---------------------------------------------------------------------------------------------
# CUDA


def bench_cuda(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    if device.type != "cuda":
        raise SystemExit(f"--device {args.device} is not a CUDA device")
    paths = {kind: weights_path(kind, args) for kind in args.kinds}
    image = sample_image(*args.size)
    side = args.render_factor * 16
    matmul = {dtype: matmul_flops(device, dtype) for dtype in (torch.float16, torch.float32)}

    print(f"### DeOldify on {torch.cuda.get_device_name(device)}\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, {_weights_label(args)}, a {args.size[0]}×{args.size[1]} "
          f"grey photo at render factor {args.render_factor} ({side}×{side}). Time: best / median of {args.repeats} "
          f"colorize calls after a warm-up, torch.cuda.synchronize() around each; model loaded beforehand. "
          f"Peak: highest max_memory_allocated above the pre-call baseline. cuDNN TF32 for float32 "
          f"convolutions: {'on' if torch.backends.cudnn.allow_tf32 else 'off'} (torch's default is on).\n")
    print("| generator | dtype | load | colorize | GFLOP/s (share of matmul) | peak allocated "
          "| allocated after = before | max diff vs fp32 (grey levels) |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.kinds:
        outputs: dict[torch.dtype, np.ndarray] = {}
        for dtype in (torch.float32, torch.float16):
            torch.cuda.synchronize(device)
            start = time.perf_counter()
            model = load_generator(kind, paths[kind], device=device, dtype=dtype)
            torch.cuda.synchronize(device)
            load_seconds = time.perf_counter() - start
            seconds, peak, leaks = cuda_timings(lambda model=model: colorize(image, model, args.render_factor),
                                                args.repeats, device)
            flops = count_flops(model, side, device, dtype) / min(seconds)
            outputs[dtype] = np.asarray(colorize(image, model, args.render_factor), np.int16)
            diff = "–" if dtype == torch.float32 else str(int(np.abs(outputs[dtype] - outputs[torch.float32]).max()))
            print(f"| {kind} | {str(dtype).removeprefix('torch.')} | {load_seconds:.1f} s | {fmt(seconds)} "
                  f"| {flops / 1e9:.0f} ({flops / matmul[dtype]:.0%}) | {peak / 1024**2:.0f} MiB "
                  f"| {'yes' if not leaks else 'NO: ' + ', '.join(f'+{b} B' for b in leaks)} | {diff} |")
            del model
            torch.cuda.empty_cache()
    print(f"\nMatmul: fp16 {matmul[torch.float16] / 1e12:.1f} TFLOP/s, fp32 {matmul[torch.float32] / 1e12:.1f} TFLOP/s "
          f"(bench_matmul defaults).")


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=["artistic", "stable"], choices=sorted(OFFICIAL_FILES))
    parser.add_argument("--render-factor", type=int, default=35)
    parser.add_argument("--size", type=size, default=(640, 427), help="photo size, WxH")
    parser.add_argument("--weights-dir", default=None, help="folder with the official checkpoints")
    parser.add_argument("--standin-dir", default=str(Path(tempfile.gettempdir()) / "restore_dagster_deoldify_bench"),
                        help="where stand-in weights are generated once (when no --weights-dir)")
    parser.add_argument("--skip-rss", action="store_true", help="CPU: skip the fresh-process peak-RSS runs")
    parser.add_argument("--rss-child", nargs=2, metavar=("KIND", "WEIGHTS"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--make-standin", nargs=2, metavar=("KIND", "PATH"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_standin:
        make_standin(args.make_standin[0], Path(args.make_standin[1]))
    elif args.rss_child:
        rss_child(args.rss_child[0], Path(args.rss_child[1]), args)
    elif torch.device(args.device).type == "cuda":
        bench_cuda(args)
    else:
        bench_cpu(args)


if __name__ == "__main__":
    main()
