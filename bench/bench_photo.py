"""One photo through both models as the pipeline runs them: 4K upscale, then colourise at 4K.

Times `waifu2x.upscale_to(long_side=3840)` and `deoldify.colorize(render_factor=35)` per photo on
the chosen device (models loaded once beforehand, as the GPU resource keeps them for a run), and on
CUDA the peak device memory and whether allocated memory is back at its baseline after each photo.
DeOldify runs with the deterministic stand-in weights (official shapes, so the same cost) unless
--weights points at an official checkpoint.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from restore_dagster.models import deoldify, waifu2x  # noqa: E402
from restore_dagster.models.device import release_memory, resolve_device  # noqa: E402


def standin_checkpoint(kind: str) -> Path:
    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict

    path = Path(tempfile.gettempdir()) / f"restore_dagster_bench_{kind}.pth"
    if not path.exists():
        manifest = load_manifest(ROOT / "restore_dagster_tests" / "fixtures" / "deoldify" / f"manifest_{kind}.json")
        torch.save(standin_state_dict(manifest), path)
    return path


def scan(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    grey = 128 + 60 * np.sin(x / 37) * np.cos(y / 23) + rng.normal(0, 12, (height, width))
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default=None)
    parser.add_argument("--kind", default="artistic", choices=["artistic", "stable"])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--dtype", default=None, choices=["float16", "float32"], help="DeOldify dtype (default: the library's)")
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--size", default="1000x667")
    args = parser.parse_args()
    device = resolve_device(args.device)
    width, height = map(int, args.size.split("x"))
    cuda = device.type == "cuda"

    dtype = getattr(torch, args.dtype) if args.dtype else None
    generator = deoldify.load_generator(args.kind, args.weights or standin_checkpoint(args.kind), device, dtype=dtype)
    models = {}

    def upphoto(level):
        if level not in models:
            models[level] = waifu2x.load_upphoto(level, device)
        return models[level]

    photo = scan(width, height)
    # Warm-up: loads both waifu2x networks, picks cuDNN algorithms and allocates cuBLAS workspaces,
    # which stay allocated for the process; the baseline is taken after it.
    deoldify.colorize(waifu2x.upscale_to(photo, 3840, 1, model=upphoto), generator, render_factor=35)
    release_memory(device)
    if cuda:
        torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated(device) if cuda else 0
    rows = []
    for i in range(args.photos):
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        big = waifu2x.upscale_to(photo, 3840, 1, model=upphoto)
        if cuda:
            torch.cuda.synchronize()
        upscaled = time.perf_counter()
        coloured = deoldify.colorize(big, generator, render_factor=35)
        if cuda:
            torch.cuda.synchronize()
        done = time.perf_counter()
        del big, coloured
        release_memory(device)
        peak = (torch.cuda.max_memory_allocated(device) - baseline) / 2**20 if cuda else 0
        back = (torch.cuda.memory_allocated(device) - baseline) if cuda else 0
        rows.append((upscaled - start, done - upscaled, done - start, peak, back))
    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"### One photo, {width}×{height} grey scan → 3840 long side → DeOldify {args.kind} rf35 on {name}\n")
    print(f"{datetime.date.today()}, torch {torch.__version__}, DeOldify dtype {next(generator.parameters()).dtype}, "
          f"waifu2x {'fp16' if cuda else 'fp32'}; models loaded once (load not counted).\n")
    print("| photo | upscale_to 3840 | colorize at 4K | total | peak allocated above models | allocated back to baseline |")
    print("|---|---|---|---|---|---|")
    for i, (up, col, total, peak, back) in enumerate(rows, 1):
        print(f"| {i} | {up:.2f} s | {col:.2f} s | {total:.2f} s | {peak:.0f} MiB | {'yes' if not back else f'NO: {back:+d} B'} |")


if __name__ == "__main__":
    main()
