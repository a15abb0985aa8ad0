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


def grainy_photo(photo: Path, width: int, height: int, grain: float = 6.0, seed: int = 1):
    """``photo`` stretched (bicubic) to ``width``×``height`` with film grain, so the scan is not smooth."""
    import numpy as np
    from PIL import Image

    base = np.asarray(Image.open(photo).convert("RGB").resize((width, height), Image.Resampling.BICUBIC), np.int16)
    noise = np.random.default_rng(seed).normal(0, grain, (height, width, 1)).astype(np.int16)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def standin_once(path: Path, write: Callable[[Path], Path]) -> Path:
    """Stand-in weights at ``path``, written by ``write`` the first time only (atomically: a killed
    run never leaves half a file there)."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path.with_suffix(".partial")).replace(path)
    return path


def peak_memory(device: torch.device) -> dict[str, int | None]:
    """This process's peak memory for a child's JSON line: VmHWM, ru_maxrss and the CUDA peak."""
    import resource

    import torch

    return {
        "vm_hwm_bytes": vm_hwm_bytes(),
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "cuda_peak_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
    }


def run_child(script: str, arguments: list[str], label: str) -> dict:
    """Run ``script`` with ``arguments`` in a fresh Python process; its last stdout line, as JSON."""
    import json
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{label} failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def rss_verdict(result: dict, target: int | None) -> str:
    """The RSS-target cell: "–" without a target, else "< target: yes/NO" for the higher of the two peaks."""
    if target is None:
        return "–"
    peak = max(result["vm_hwm_bytes"] or 0, result["ru_maxrss_bytes"])
    return "< " + gib(target) + (": yes" if peak < target else ": NO")


def synthetic_print(width: int, height: int, seed: int, sepia: bool = False):
    """A black-and-white print (a PIL image): shapes, a vignette, film grain, a little fog so that
    tone has work; with ``sepia`` a toned print in RGB, else greyscale."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shapes = 90 * np.sin(x / (37 + seed)) * np.cos(y / (23 + seed)) + 40 * np.sin((x + 2 * y) / 91)
    vignette = 1 - 0.35 * (((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2)
    grey = 40 + (128 + shapes) * vignette * 0.7 + rng.normal(0, 7, (height, width))
    if not sepia:
        return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    rgb = np.stack([grey * 1.0, grey * 0.93, grey * 0.8], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
