"""Device selection and memory helpers shared by the models (no Dagster here).

Kept deliberately small: which device to run on, which dtype to compute in there, how much memory
a tiled model may use, and how to recognise and recover from running out of it.
"""

from __future__ import annotations

import gc

import torch

# On the CPU the budget is fixed rather than a share of free RAM alone: other stages (and other
# photos in the same run process) live in the same process, and tiles beyond a few hundred pixels
# buy no speed there (they fall out of cache).
CPU_BUDGET_BYTES = 512 * 1024**2
CPU_BUDGET_FRACTION = 0.25
# On an accelerator, leave room for the other models a GPU resource keeps loaded.
ACCELERATOR_BUDGET_FRACTION = 0.5
# MPS reports no free memory; assume a modest fixed budget.
FALLBACK_BUDGET_BYTES = 1024**3


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: the one asked for, else CUDA, else MPS, else the CPU.

    A bare ``"cuda"`` becomes ``cuda:<current index>`` so that equal devices compare (and cache) equal.
    """
    if device is None:
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device} was asked for, but this PyTorch build has no usable CUDA")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    return device


def inference_dtype(device: torch.device) -> torch.dtype:
    """fp16 on CUDA (tensor cores, half the memory); fp32 elsewhere (CPU fp16 convs are slow, MPS is unreliable)."""
    return torch.float16 if device.type == "cuda" else torch.float32


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory free for new allocations on ``device``, or None where the platform does not say."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # Blocks cached by PyTorch's allocator are free for us too.
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type == "cpu":
        return _mem_available_from_proc()
    return None


def memory_budget_bytes(device: torch.device) -> int:
    """How many bytes one model call's working tensors may take on ``device``."""
    free = free_memory_bytes(device)
    if device.type == "cpu":
        if free is None:
            return CPU_BUDGET_BYTES
        return int(min(CPU_BUDGET_BYTES, free * CPU_BUDGET_FRACTION))
    if free is None:
        return FALLBACK_BUDGET_BYTES
    return int(free * ACCELERATOR_BUDGET_FRACTION)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for every way PyTorch and NumPy report an allocation failure (CUDA, MPS, CPU)."""
    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    if isinstance(exc, RuntimeError):
        message = str(exc).lower()
        # cuDNN/cuBLAS report a failed workspace allocation as *_STATUS_ALLOC_FAILED.
        return any(sign in message for sign in ("out of memory", "can't allocate memory", "alloc_failed"))
    return False


def release_memory(device: torch.device) -> None:
    """Drop unreferenced tensors and hand cached accelerator memory back (after an OOM, between photos)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def _mem_available_from_proc() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
