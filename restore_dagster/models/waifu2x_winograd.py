"""Which way the CPU computes UpPhoto's wide 3×3 convolutions: oneDNN, or NNPACK's Winograd F(6×6, 3×3).

Neither wins everywhere (``bench/bench_waifu2x.py --conv-options``, BENCHMARKS.md): on a 2-core AMD
EPYC with AVX2 only, NNPACK's Winograd makes a whole 2× pass 1.3–1.8× faster than oneDNN; on an
Intel Sapphire Rapids, where oneDNN runs AVX-512 kernels and NNPACK has AVX2 ones only, the two tie.
The CPU's name or flags do not say which side a machine is on (a Zen 4 has AVX-512 and still gained
3× from NNPACK in DeOldify), so the process measures once: one conv5-shaped layer (128 → 128
channels) both ways, taking turns, the first time a CPU network is loaded, and keeps the answer for
the thread count it was measured with. Both ways are exact within 1 grey level of the reference
(tests run each way explicitly against the ncnn fixtures), so a probe misled by a busy machine can
only cost speed, never change a picture by more than that.

Only conv3–conv6 (32 to 128 input channels, 97% of the multiply-adds) go through NNPACK: with 3 or 16
input channels the Winograd transforms outweigh the saved multiplications (conv1–2 measured 3–4×
slower than oneDNN's channels-last kernels).
"""

from __future__ import annotations

import functools
import time

import torch
import torch.nn.functional as F

# NNPACK's availability and its give-up-once-it-fails state are shared with DeOldify's convolutions:
# a failing NNPACK is a property of the process's torch build, not of one model.
from restore_dagster.models.deoldify_layers import nnpack_conv2d, nnpack_usable

__all__ = ["FIRST_WINOGRAD_LAYER", "WINOGRAD_CPU_MAX_TILE", "winograd_conv3x3", "winograd_is_faster"]

FIRST_WINOGRAD_LAYER = 2  # index of conv3 in conv1..conv6
# NNPACK keeps getting faster per pixel with larger maps, unlike oneDNN whose best tile is 128-176
# px: measured on the AVX2 EPYC, a 320×213 pass took 0.84× the time with 224 px tiles as with
# 160 px ones (and 400 px was no better than 224). The activations of a 256 px tile stay under
# 250 MB (270² pixels × 384 live channels × 4 bytes × 2).
WINOGRAD_CPU_MAX_TILE = 256
# The probe: a conv5-shaped layer on a map big enough for NNPACK's 8×8 tiles to be representative
# (80² outputs: 6.7 × 6.7 of its tiles) and small enough to cost well under a second.
_PROBE_CHANNELS = 128
_PROBE_SIDE = 80
_PROBE_ROUNDS = 3
# NNPACK must win clearly: on a tie the long-standing oneDNN path stays.
_WINOGRAD_MUST_TAKE_AT_MOST = 0.9


def winograd_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor | None:
    """An unpadded 3×3 convolution by NNPACK, or None where NNPACK is unavailable or has failed
    (the caller then uses oneDNN). ``weight`` should be NCHW-contiguous; ``x`` is made so."""
    return nnpack_conv2d(x, weight.contiguous(), bias, [0, 0])


def winograd_is_faster() -> bool:
    """Whether NNPACK beats oneDNN on this CPU at the current thread count (measured once per count)."""
    return _probe(torch.get_num_threads())


@functools.cache
def _probe(threads: int) -> bool:
    if not nnpack_usable():
        return False
    generator = torch.Generator().manual_seed(0)
    side = _PROBE_SIDE + 2
    x = torch.rand(1, _PROBE_CHANNELS, side, side, generator=generator)
    weight = torch.randn(_PROBE_CHANNELS, _PROBE_CHANNELS, 3, 3, generator=generator) / 30
    bias = torch.zeros(_PROBE_CHANNELS)
    # oneDNN as the network runs it: channels-last activations and weights.
    x_last = x.contiguous(memory_format=torch.channels_last)
    weight_last = weight.contiguous(memory_format=torch.channels_last)
    ways = {
        "onednn": lambda: F.conv2d(x_last, weight_last, bias),
        "winograd": lambda: winograd_conv3x3(x, weight, bias),
    }
    best = dict.fromkeys(ways, float("inf"))
    with torch.inference_mode():
        if ways["winograd"]() is None:  # warm-up, which also finds a failing NNPACK
            return False
        ways["onednn"]()
        for _ in range(_PROBE_ROUNDS):  # taking turns, so that other load hits both alike
            for name, way in ways.items():
                start = time.perf_counter()
                way()
                best[name] = min(best[name], time.perf_counter() - start)
    return best["winograd"] <= best["onednn"] * _WINOGRAD_MUST_TAKE_AT_MOST
