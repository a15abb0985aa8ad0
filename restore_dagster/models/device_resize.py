"""Pillow's resize (Lanczos, bicubic, bilinear) on a torch device: the same taps, the same weights.

On a GPU the host spends longer resizing a 4K photo with Pillow (0.3–0.5 s for a Lanczos pass) than
the network spends upscaling it, and the pixels are on the device already or a 30 MB copy away.
``torch.nn.functional.interpolate`` has no Lanczos and its antialiased bicubic is not Pillow's
Lanczos (up to several levels apart on film grain), so the pipeline's Lanczos would change where a
GPU is in use. Instead this computes Pillow's own separable filter: for every output column (then
row) the same input taps with the same weights as ``Resample.c``'s ``precompute_coeffs``, in the same
22-bit fixed point (``normalize_coeffs_8bpc``), the horizontal pass first and clipped to 8 bits
before the vertical one, as Pillow does: the same pixels as Pillow's (tested on the CPU, where the
torch path is run on CPU tensors), in integer arithmetic that any device computes exactly.

``resize_rgb`` decides where: on a CUDA (or MPS) device through torch, on the CPU through Pillow
itself, which is exact and as fast there.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

# Resample.c's fixed point for 8-bit images: 32 bits less 8 for the sample and 2 for headroom.
_PRECISION_BITS = 32 - 8 - 2

# Pillow's filters: (support at scale 1, the kernel). Resample.c's bilinear_filter, bicubic_filter
# (a = -0.5) and lanczos_filter (sinc windowed by sinc, 3 lobes).
_BICUBIC_A = -0.5


def _bilinear(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _bicubic(x: np.ndarray) -> np.ndarray:
    a, x = _BICUBIC_A, np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _sinc(x: np.ndarray) -> np.ndarray:
    angle = np.where(x == 0.0, 1.0, x) * np.pi
    return np.where(x == 0.0, 1.0, np.sin(angle) / angle)


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where((x >= -3.0) & (x < 3.0), _sinc(x) * _sinc(x / 3.0), 0.0)


FILTERS = {
    Image.Resampling.BILINEAR: (1.0, _bilinear),
    Image.Resampling.BICUBIC: (2.0, _bicubic),
    Image.Resampling.LANCZOS: (3.0, _lanczos),
}


@lru_cache(maxsize=32)
def pil_coefficients(in_size: int, out_size: int, resample: Image.Resampling) -> tuple[np.ndarray, np.ndarray]:
    """(taps, weights), each out_size × k: the input index and fixed-point weight of every tap of every
    output pixel, as Resample.c's precompute_coeffs and normalize_coeffs_8bpc over the whole image
    (taps past the edge get 0)."""
    support_1, kernel = FILTERS[resample]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = support_1 * filterscale
    inverse = 1.0 / filterscale  # Pillow multiplies by this rather than dividing: the same doubles
    k = int(math.ceil(support)) * 2 + 1
    taps = np.zeros((out_size, k), np.int64)
    weights = np.zeros((out_size, k), np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)  # C's (int): truncation, then clamped like Pillow
        xmax = min(int(center + support + 0.5), in_size) - xmin
        positions = np.arange(xmax)
        w = kernel((positions + xmin - center + 0.5) * inverse)
        total = w.sum()
        if total != 0.0:
            w = w / total
        taps[xx, :xmax] = positions + xmin
        weights[xx, :xmax] = w
    # normalize_coeffs_8bpc: each weight to 22-bit fixed point, rounded away from zero.
    fixed = np.where(weights < 0, weights * (1 << _PRECISION_BITS) - 0.5, weights * (1 << _PRECISION_BITS) + 0.5)
    return taps, np.trunc(fixed).astype(np.int64)


def _resample_rows(x: torch.Tensor, out_size: int, resample: Image.Resampling) -> torch.Tensor:
    """One separable pass along the rows axis (-2) of a contiguous int64 C×H×W tensor of levels, in
    Pillow's integer arithmetic: out[:, i] = clip((Σ_k w[i,k] · x[:, tap[i,k]] + half) >> 22). Whole
    rows are gathered (contiguous copies), a few taps at a time (k ≤ 2·ceil(3·scale)+1), never a
    dense H×H matrix."""
    taps, weights = pil_coefficients(x.shape[-2], out_size, resample)
    index = torch.from_numpy(taps).to(x.device)
    w = torch.from_numpy(weights).to(x.device)
    out = torch.full((x.shape[0], out_size, x.shape[-1]), 1 << (_PRECISION_BITS - 1), device=x.device, dtype=torch.int64)
    for column in range(index.shape[1]):
        out.add_(x.index_select(-2, index[:, column]) * w[:, column].view(-1, 1))
    return (out >> _PRECISION_BITS).clamp_(0, 255)


def resize_chw(image: torch.Tensor, size: tuple[int, int], resample: Image.Resampling = Image.Resampling.LANCZOS) -> torch.Tensor:
    """A C×H×W uint8 tensor resized to ``size`` (width, height) as Pillow would, on the tensor's device.

    Pillow skips a pass whose axis keeps its size, and runs the horizontal one first.
    """
    if image.dtype != torch.uint8 or image.dim() != 3:
        raise ValueError(f"resize_chw wants a C×H×W uint8 tensor, got {tuple(image.shape)} {image.dtype}")
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"cannot resize to {width}×{height}")
    x = image.to(torch.int64)
    if width != x.shape[-1]:  # columns as rows, so that every tap gathers contiguous memory
        x = _resample_rows(x.transpose(-1, -2).contiguous(), width, resample).transpose(-1, -2).contiguous()
    if height != x.shape[-2]:
        x = _resample_rows(x, height, resample)
    return x.to(torch.uint8)


def uses_device(device: str | torch.device | None) -> bool:
    """Whether resizes and colour merges run through torch on ``device`` rather than Pillow/OpenCV on the host."""
    return device is not None and torch.device(device).type in ("cuda", "mps")


def resize_rgb(rgb: np.ndarray, size: tuple[int, int], device: str | torch.device | None,
               resample: Image.Resampling = Image.Resampling.LANCZOS) -> np.ndarray:
    """An H×W×3 uint8 array resized to ``size`` (width, height): on an accelerator through torch
    (within 1 level of Pillow), on the CPU by Pillow itself."""
    if not uses_device(device):
        return np.asarray(Image.fromarray(rgb).resize(size, resample))
    tensor = torch.from_numpy(np.ascontiguousarray(rgb)).to(device, non_blocking=True).permute(2, 0, 1)
    return resize_chw(tensor, size, resample).permute(1, 2, 0).cpu().numpy()
