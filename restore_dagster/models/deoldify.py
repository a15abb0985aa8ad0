"""DeOldify's colourisation generators in plain PyTorch: build, load official weights, colourise.

Two generators exist (jantic/DeOldify, ``deoldify/generators.py``):

- "artistic": ``DynamicUnetDeep`` on a resnet34 encoder, nf_factor 1.5 (``ColorizeArtistic_gen.pth``);
- "stable": ``DynamicUnetWide`` on a resnet101 encoder, nf_factor 2 (``ColorizeStable_gen.pth``).

Both are fastai v1 U-Nets built with spectral norm, blur, self-attention and ``y_range=(-3, 3)``.
:func:`build_generator` reproduces their modules with the checkpoints' exact state_dict keys;
:func:`load_generator` reads a checkpoint safely and folds every normalisation into plain
convolutions for inference; :func:`colorize` is DeOldify's ``ColorizerFilter`` pipeline.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch import nn

from .deoldify_layers import (
    DenseMerge,
    PixelShuffleUpsample,
    ResidualBlock,
    SigmoidRange,
    UnetBlockDeep,
    UnetBlockWide,
    conv_block,
    fastai_batchnorm,
    fold_normalisations,
    use_inference_convs,
)
from . import colour_merge
from .checkpoints import CheckpointError, check_state_dict
from .device import resolve_device
from .device_resize import resize_chw, uses_device
from .resnet import SKIP_INDICES, fold_encoder_batchnorms, resnet_encoder

# kind -> (encoder, decoder, nf_factor), as in DeOldify's gen_inference_deep / gen_inference_wide.
GENERATORS = {
    "artistic": ("resnet34", "deep", 1.5),
    "stable": ("resnet101", "wide", 2),
}

# DeOldify renders on a square of render_factor × 16 pixels.
RENDER_BASE = 16
MIN_RENDER_FACTOR, MAX_RENDER_FACTOR = 7, 64

# Pixels per band of the generator's full-resolution tail: 64 rows at render factor 35 (560 px),
# which keeps its maps and NNPACK's workspace under ~100 MB each.
TAIL_BAND_PIXELS = 64 * 560

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DeOldifyGenerator(nn.Module):
    """fastai's ``DynamicUnetDeep``/``DynamicUnetWide`` as used by DeOldify, with fixed wiring.

    ``layers`` holds, at the same indices as the checkpoints: 0 encoder, 1 BatchNorm, 2 ReLU,
    3 middle convs, 4-7 U-Net blocks, 8 final ×2 upsampling, 9 dense merge with the input,
    10 residual block, 11 1×1 conv to RGB, 12 sigmoid range. fastai wires the skips with forward
    hooks on the encoder; here the forward pass reads them directly.
    """

    # Rows per band of the full-resolution tail (None: about TAIL_BAND_PIXELS pixels per band).
    tail_band_rows: int | None = None

    def __init__(self, encoder: nn.Sequential, decoder: str, nf_factor: float):
        super().__init__()
        channels = encoder.out_channels
        layers: list[nn.Module] = [
            encoder,
            fastai_batchnorm(channels),
            nn.ReLU(inplace=True),
            nn.Sequential(conv_block(channels, channels * 2, batchnorm=True),
                          conv_block(channels * 2, channels, batchnorm=True)),
        ]
        skips = list(reversed(encoder.skip_channels))
        for i, skip_channels in enumerate(skips):
            final = i == len(skips) - 1
            # fastai puts self-attention on the third block from the end (the 1/8 scale).
            attention = i == len(skips) - 3
            if decoder == "deep":
                block = UnetBlockDeep(channels, skip_channels, final_div=not final, nf_factor=nf_factor,
                                      self_attention=attention)
            else:
                width = int(512 * nf_factor)
                block = UnetBlockWide(channels, skip_channels, width // 2 if final else width,
                                      self_attention=attention)
            layers.append(block)
            channels = block.out_channels
        merged = channels + 3
        layers += [
            PixelShuffleUpsample(channels, channels, norm="weight", batchnorm=False),
            DenseMerge(),
            ResidualBlock(merged),
            conv_block(merged, 3, 1, activation=False),
            SigmoidRange(-3.0, 3.0),
        ]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map a normalised ``[N, 3, H, W]`` image (H, W even) to ``[N, 3, H, W]`` in (-3, 3)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"DeOldify generator expects [N, 3, H, W] input, got {list(x.shape)}")
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(f"DeOldify generator needs even height and width, got {list(x.shape[-2:])}")
        layers = self.layers
        skips = []
        h = x
        for index, child in enumerate(layers[0]):
            h = child(h)
            if index in SKIP_INDICES:
                skips.append(h)
        h = layers[3](layers[2](layers[1](h)))
        for block in layers[4:8]:
            # pop() hands over the deepest remaining skip and drops our reference to it early.
            h = block(h, skips.pop())
        return self._full_resolution_tail(h, x)

    def _full_resolution_tail(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Layers 8-12 in horizontal bands of output rows.

        At full resolution these layers hold maps of ~300 channels (380 MB each at 560×560);
        band by band only a few rows of them exist at once. Each band recomputes the 2 rows of
        context on either side that the residual block's two 3×3 convolutions read, so the
        result equals the unbanded computation.
        """
        layers = self.layers
        height, width = x.shape[-2:]
        band = self.tail_band_rows or max(8, TAIL_BAND_PIXELS // width)
        out = x.new_empty(x.shape[0], 3, height, width)
        for first in range(0, height, band):
            stop = min(first + band, height)
            top, bottom = max(first - 2, 0), min(stop + 2, height)
            merged = layers[9](layers[8].forward_rows(h, top, bottom), x[..., top:bottom, :])
            rows = layers[10](merged)[..., first - top:stop - top, :]
            out[..., first:stop, :] = layers[12](layers[11](rows))
        return out


def build_generator(kind: str) -> DeOldifyGenerator:
    """An untrained generator whose state_dict keys, order, shapes and dtypes equal the checkpoint's.

    Under ``with torch.device("meta"):`` it allocates nothing, which :func:`load_generator` uses.
    """
    if kind not in GENERATORS:
        raise ValueError(f"unknown DeOldify generator {kind!r}; expected one of {sorted(GENERATORS)}")
    arch, decoder, nf_factor = GENERATORS[kind]
    return DeOldifyGenerator(resnet_encoder(arch), decoder, nf_factor)


def load_generator(kind: str, weights_path: str | os.PathLike, device: str | torch.device | None = None,
                   dtype: torch.dtype | None = None) -> DeOldifyGenerator:
    """Load an official DeOldify checkpoint strictly and prepare it for inference.

    Accepts a bare state_dict or a dict holding it under ``"model"`` (fastai's ``learn.save``), in
    the zip or the legacy (2019) format, read with ``weights_only=True``: a pickle that names any
    callable outside torch's tensor allow-list is refused. Spectral norm, weight norm, the encoder's
    batch norms and the attention ``gamma`` are folded into plain convolution weights, in place.

    Returns an eval-mode module without gradients on ``device`` (default: CUDA, else MPS, else
    CPU; see :func:`~restore_dagster.models.device.resolve_device`) in ``dtype``. The default is
    float32 everywhere: with the stand-in weights, float16 moves the render-factor-8 reference
    output by up to 3 grey levels, outside the 2 the tests allow. The returned module's state_dict
    no longer has the checkpoint's keys: use :func:`build_generator` for a module that does.
    """
    path = Path(weights_path)
    state_dict = _read_state_dict(path)
    with torch.device("meta"):
        model = build_generator(kind)
    check_state_dict(model.state_dict(), state_dict, path, f"DeOldify {kind!r} generator")
    model.load_state_dict(state_dict, strict=True, assign=True)
    del state_dict
    prepare_for_inference(model.eval())
    return model.to(device=resolve_device(device), dtype=dtype or torch.float32)


def prepare_for_inference(model: DeOldifyGenerator) -> DeOldifyGenerator:
    """Fold normalisations into plain conv weights, in place (same outputs, less work per call)."""
    if model.training:
        raise ValueError("prepare_for_inference needs an eval-mode generator (batch norms use running stats)")
    with torch.no_grad():
        fold_encoder_batchnorms(model.layers[0])
        fold_normalisations(model)
        use_inference_convs(model)
    return model.requires_grad_(False)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: DeOldify weights file not found (or not a regular file)")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if "Weights only" in message or "WeightsUnpickler" in message:
            reason = next((line.strip() for line in message.splitlines() if "WeightsUnpickler" in line), message)
            raise CheckpointError(
                f"{path}: refused to load: its pickle calls something other than plain tensors and "
                f"containers, which could run arbitrary code ({reason})"
            ) from None
        raise CheckpointError(f"{path}: unreadable checkpoint (truncated or corrupt pickle): {exc}") from exc
    except MemoryError:
        raise
    except Exception as exc:  # torch raises RuntimeError, EOFError, struct.error, KeyError... on bad files
        raise CheckpointError(
            f"{path}: unreadable checkpoint (truncated, corrupt or not a PyTorch file): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'}"
        ) from exc
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        loaded = loaded["model"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path}: does not hold a state_dict (a dict of tensors), bare or under 'model'")
    return loaded


def colorize(image: Image.Image, generator: nn.Module, render_factor: int = 35) -> Image.Image:
    """Colourise ``image`` as DeOldify's ``ColorizerFilter`` does; returns RGB of the same size.

    The generator sees a render_factor×16 square stretch of the image's luminance; its colours are
    stretched back to the original size and only their chroma (U, V) is kept, under the original's
    luminance (Y), so the output stays as sharp as the input. Runs on the generator's device.
    """
    if isinstance(render_factor, bool) or not isinstance(render_factor, int) or not (
            MIN_RENDER_FACTOR <= render_factor <= MAX_RENDER_FACTOR):
        raise ValueError(
            f"render_factor must be an integer from {MIN_RENDER_FACTOR} to {MAX_RENDER_FACTOR}, got {render_factor!r}"
        )
    if image.width == 0 or image.height == 0:
        raise ValueError(f"cannot colourise an empty image ({image.width}×{image.height} pixels)")
    original = image.convert("RGB")
    side = render_factor * RENDER_BASE
    device = next(generator.parameters()).device
    if uses_device(device):  # the resizes and the merge on the GPU too: the same pixels within 1 level
        return _colorize_on_device(original, generator, side, device)
    # DeOldify stretches the RGB image, then takes its luminance ('LA' → 'RGB' replicates L).
    grey = np.array(original.resize((side, side), Image.Resampling.BILINEAR).convert("L"))
    rendered = Image.fromarray(_predict_rgb(generator, grey))
    colour = np.asarray(rendered.resize(original.size, Image.Resampling.BILINEAR))
    return Image.fromarray(keep_luminance(np.asarray(original), colour))


def _colorize_on_device(original: Image.Image, generator: nn.Module, side: int, device: torch.device) -> Image.Image:
    """``colorize``'s steps with Pillow's bilinear resizes and OpenCV's YUV merge done by torch on the
    generator's device (device_resize, colour_merge): one upload and one download of the photo."""
    with torch.inference_mode():
        rgb = torch.from_numpy(np.array(original)).to(device).permute(2, 0, 1)
        grey = colour_merge.pil_grey(resize_chw(rgb, (side, side), Image.Resampling.BILINEAR))
        rendered = _predict_rgb_tensor(generator, grey)
        colour = resize_chw(rendered, original.size, Image.Resampling.BILINEAR)
        merged = colour_merge.keep_luminance(rgb, colour)
        return Image.fromarray(merged.permute(1, 2, 0).cpu().numpy())


def _predict_rgb(generator: nn.Module, grey: np.ndarray) -> np.ndarray:
    """Run the generator on a uint8 grey square; return its uint8 RGB prediction, like fastai."""
    with torch.inference_mode():
        out = _predict_rgb_tensor(generator, torch.from_numpy(grey)).cpu()
    return out.permute(1, 2, 0).contiguous().numpy()


def _predict_rgb_tensor(generator: nn.Module, grey: torch.Tensor) -> torch.Tensor:
    """The generator on an H×W uint8 grey square: its 3×H×W uint8 prediction, on its device."""
    parameter = next(generator.parameters())
    mean = torch.tensor(IMAGENET_MEAN, device=parameter.device).reshape(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=parameter.device).reshape(3, 1, 1)
    x = grey.to(parameter.device).float().div_(255)
    x = ((x.expand(3, *grey.shape) - mean) / std).unsqueeze(0)
    out = generator(x.to(dtype=parameter.dtype))[0].float()
    # fastai denormalises, clamps to [0, 1], scales by 255 and truncates to uint8.
    return (out * std + mean).clamp_(0, 1).mul_(255).to(torch.uint8)


def keep_luminance(original: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Y of ``original`` with U, V of ``colour`` (both uint8 RGB, same size), via OpenCV's YUV."""
    yuv = cv2.cvtColor(original, cv2.COLOR_RGB2YUV)
    yuv[..., 1:] = cv2.cvtColor(colour, cv2.COLOR_RGB2YUV)[..., 1:]
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB)
