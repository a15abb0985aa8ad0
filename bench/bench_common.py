"""Helpers the benchmark scripts share: CUDA timing with memory checks, peak-RSS readings, sizes."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: bench_viewer measures a process without it
    import torch


def synchronize(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def proc_status_bytes(field: str) -> int | None:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``...) in bytes; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def vm_hwm_bytes() -> int | None:
    """This process's own peak RSS (Linux), which unlike ru_maxrss starts afresh at exec."""
    return proc_status_bytes("VmHWM")


def gib(nbytes: int | None) -> str:
    return "n/a" if nbytes is None else f"{nbytes / 1024**3:.2f} GiB"


def cuda_timings(call: Callable[[], object], repeats: int, device: torch.device) -> tuple[list[float], int, list[int]]:
    """Times, the highest peak allocation of any call, and the bytes any call left allocated."""
    import torch

    call()  # warm-up: cuDNN algorithm choice, allocator growth
    seconds, peak, leaks = [], 0, []
    for _ in range(repeats):
        torch.cuda.synchronize(device)
        baseline = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        result = call()
        torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
        del result
        peak = max(peak, torch.cuda.max_memory_allocated(device) - baseline)
        left = torch.cuda.memory_allocated(device) - baseline
        if left:
            leaks.append(left)
    return seconds, peak, leaks


def size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)
