"""Dense matmul FLOP/s on this machine: the yardstick for how efficiently a model uses the hardware.

    flock /tmp/bench.lock python bench/bench_matmul.py --device cpu --threads 2
    python bench/bench_matmul.py --device cuda          # fp16 and fp32 (TF32 off)

Other benches import ``matmul_flops(device, dtype)`` and report model FLOP/s as a share of it.
"""

from __future__ import annotations

import argparse
import time

import torch

# Big enough to reach the BLAS/cuBLAS plateau, small enough to finish in seconds.
_DEFAULT_SIZE = {"cpu": 2048, "cuda": 8192, "mps": 4096}


def matmul_flops(device: str | torch.device, dtype: torch.dtype, size: int | None = None, repeats: int = 5) -> float:
    """Best achieved FLOP/s of an ``n×n @ n×n`` matmul (2·n³ FLOPs) over ``repeats`` timed runs."""
    device = torch.device(device)
    n = size or _DEFAULT_SIZE.get(device.type, 2048)
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    # Enough back-to-back products per timing that launch overhead and clock ramp-up do not count.
    inner = 20 if device.type == "cuda" else 3
    best = float("inf")
    with torch.inference_mode():
        torch.matmul(a, b)  # warm-up: library initialisation, kernel selection
        for _ in range(repeats):
            _synchronize(device)
            start = time.perf_counter()
            for _ in range(inner):
                torch.matmul(a, b)
            _synchronize(device)
            best = min(best, (time.perf_counter() - start) / inner)
    return 2 * n**3 / best


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--size", type=int, default=None, help="matrix side (default: per device)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtypes = [torch.float32] if device.type == "cpu" else [torch.float16, torch.float32]
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 row means real fp32
    print("| device | threads | dtype | n | best TFLOP/s |")
    print("|---|---|---|---|---|")
    for dtype in dtypes:
        n = args.size or _DEFAULT_SIZE.get(device.type, 2048)
        flops = matmul_flops(device, dtype, n, args.repeats)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        print(f"| {name} | {torch.get_num_threads()} | {str(dtype).removeprefix('torch.')} | {n} | {flops / 1e12:.3f} |")


if __name__ == "__main__":
    main()
