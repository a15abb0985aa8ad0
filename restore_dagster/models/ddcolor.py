"""DDColor's colourisation network in plain PyTorch: build, load official weights, colourise.

DDColor (Kang et al., "DDColor: Towards Photo-Realistic Image Colorization via Dual Decoders",
ICCV 2023; piddnad/DDColor, Apache-2.0 since 2024-01-13) predicts the Lab chroma (a, b) of a grey
image: a ConvNeXt encoder, a U-Net-style pixel decoder, and a colour decoder whose learned queries
attend to three of the pixel decoder's scales. Two architectures carry the four official weights:

- "large": ConvNeXt-L (``ddcolor_modelscope.pth``, ``ddcolor_paper.pth``, ``ddcolor_artistic.pth``);
- "tiny": ConvNeXt-T (``ddcolor_paper_tiny.pth``).

:func:`load_ddcolor` reads an official ``.pth`` safely and strictly; :func:`colorize_ddcolor` is the
reference's ``ColorizationPipeline.process`` (``ddcolor/pipeline.py:88-127`` at 2adb63f).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .checkpoints import CheckpointError, check_state_dict, read_state_dict  # CheckpointError: re-exported
from .ddcolor_layers import ImageEncoder, MultiScaleColorDecoder, PixelShuffleUpsample, UnetBlockWide
from .deoldify_layers import SpectralNormConv, fold_normalisations, use_inference_convs
from . import colour_merge
from .device import resolve_device
from .device_resize import uses_device

# variant -> (ConvNeXt depths, dims), ddcolor/model.py:77-80.
VARIANTS = {
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
}
# The ConvNeXt classifier of checkpoints trained before 1a190e2: unused at inference, and the only
# keys a strict load may drop (ModelScope's copy still defines it; spandrel pops the same two).
UNUSED_KEYS = ("encoder.arch.head_cls.weight", "encoder.arch.head_cls.bias")

# The network downsamples by 32; the pipeline stretches the photo to a square of this side.
STRIDE = 32
DEFAULT_INPUT_SIZE = 512
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 64, 2048
# Rows converted back from Lab per step: bounds the float32 temporaries for a large scan.
_LAB_BAND_ROWS = 512

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DuelDecoder(nn.Module):
    """``ddcolor/model.py`` ``DuelDecoder`` (sic): the pixel decoder and the colour decoder."""

    def __init__(self, dims: tuple[int, ...], nf: int = 512, num_queries: int = 100):
        super().__init__()
        c0, c1, c2, c3 = dims
        self.layers = nn.ModuleList([
            UnetBlockWide(c3, c2, nf),
            UnetBlockWide(nf, c1, nf),
            UnetBlockWide(nf, c0, nf // 2),
        ])
        self.last_shuf = PixelShuffleUpsample(nf // 2, nf // 2, 4, batchnorm=False)
        self.color_decoder = MultiScaleColorDecoder([nf, nf, nf // 2], num_queries=num_queries)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        out0 = self.layers[0](features[3], features[2])
        out1 = self.layers[1](out0, features[1])
        out2 = self.layers[2](out1, features[0])
        return self.color_decoder([out0, out1, out2], self.last_shuf(out2))


class DDColor(nn.Module):
    """DDColor as the official weights were trained (``num_output_channels=2``, ``last_norm='Spectral'``,
    ``do_normalize=False``, 100 queries, 3 scales, 9 decoder layers).

    Maps ``[N, 3, H, W]`` RGB in [0, 1] (H, W multiples of 32) to ``[N, 2, H, W]``: a, b in Lab units.
    """

    def __init__(self, variant: str, num_queries: int = 100):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown DDColor variant {variant!r}; expected one of {sorted(VARIANTS)}")
        depths, dims = VARIANTS[variant]
        self.variant = variant
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.encoder = ImageEncoder(depths, dims)
        self.decoder = DuelDecoder(dims, num_queries=num_queries)
        self.refine_net = nn.Sequential(nn.Sequential(SpectralNormConv(num_queries + 3, 2, 1, bias=True)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"DDColor expects [N, 3, H, W] RGB input, got {list(x.shape)}")
        if x.shape[-2] % STRIDE or x.shape[-1] % STRIDE:
            raise ValueError(f"DDColor needs height and width that are multiples of {STRIDE}, got {list(x.shape[-2:])}")
        x = (x - self.mean) / self.std
        colour_maps = self.decoder(self.encoder(x))
        return self.refine_net(torch.cat([colour_maps, x], dim=1))


def load_ddcolor(variant: str, weights_path: str | os.PathLike, device: str | torch.device | None = None) -> DDColor:
    """An official DDColor checkpoint, loaded strictly and safely, ready for inference.

    The file is ``{"params": state_dict}`` (basicsr's ``save_network``) or a bare state_dict, read by
    :mod:`.safe_checkpoint` (a pickle that names code is refused, nothing in it runs). Every key of
    the architecture must be there with its shape, and nothing else except :data:`UNUSED_KEYS` (the
    reference loads with ``strict=False`` and would silently keep random weights for a wrong file).
    Spectral norms are folded into plain convolutions. Returns an eval-mode module without gradients,
    float32, on ``device`` (default: CUDA, else MPS, else CPU).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown DDColor variant {variant!r}; expected one of {sorted(VARIANTS)}")
    path = Path(weights_path)
    state = read_state_dict(path, under="params", or_bare=True, what="DDColor")
    for key in UNUSED_KEYS:
        state.pop(key, None)
    return ddcolor_from_state_dict(variant, state, device=device, path=path)


def ddcolor_from_state_dict(variant: str, state: dict[str, torch.Tensor], *, device: str | torch.device | None = None,
                            path: Path | None = None) -> DDColor:
    """A DDColor ready for inference from an already read state_dict (taken over, not copied)."""
    with torch.device("meta"):
        model = DDColor(variant)
    check_state_dict(model.state_dict(), state, path or Path("<state_dict>"), f"DDColor {variant!r}")
    model.load_state_dict(state, strict=True, assign=True)
    del state
    model.eval()
    with torch.no_grad():
        fold_normalisations(model)
        use_inference_convs(model)
    return model.requires_grad_(False).to(device=resolve_device(device), dtype=torch.float32)


def colorize_ddcolor(image: Image.Image, model: nn.Module, input_size: int = DEFAULT_INPUT_SIZE) -> Image.Image:
    """Colourise ``image`` (L, RGB or RGBA; alpha is dropped) as DDColor's pipeline does; RGB, same size.

    The network sees the photo's lightness stretched to an ``input_size`` square (a multiple of 32);
    its a, b are stretched back to the photo's size (nearest) under the photo's own L, so the output
    keeps every detail of the scan. OpenCV's float32 Lab conversions, as in the reference.
    """
    _check_input_size(input_size)
    if image.width == 0 or image.height == 0:
        raise ValueError(f"cannot colourise an empty image ({image.width}×{image.height} pixels)")
    # The reference reads the photo with cv2.imread (BGR) and divides in float64 before rounding to float32.
    rgb8 = np.asarray(image.convert("RGB"))
    bgr = (rgb8[..., ::-1] / 255.0).astype(np.float32)
    ab = predict_ab(model, model_input(bgr, input_size))
    device = next(model.parameters()).device
    if uses_device(device):  # the full-size Lab merge on the GPU: within 2 levels of OpenCV's (colour_merge)
        with torch.inference_mode():
            merged = colour_merge.lab_merge(torch.from_numpy(rgb8.copy()).to(device).permute(2, 0, 1), ab[0].to(device))
            return Image.fromarray(merged.permute(1, 2, 0).cpu().numpy())
    return Image.fromarray(lab_to_rgb8(bgr, ab))


def _check_input_size(input_size: int) -> None:
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size % STRIDE or not (
            MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE):
        raise ValueError(f"input_size must be a multiple of {STRIDE} from {MIN_INPUT_SIZE} to {MAX_INPUT_SIZE}, "
                         f"got {input_size!r}")


def model_input(bgr: np.ndarray, input_size: int) -> torch.Tensor:
    """Steps 3-5 (``pipeline.py:100-112``): the photo (float32 BGR in [0, 1]) stretched to a square
    (bilinear), reduced to its L, made grey RGB again: ``[1, 3, S, S]`` float32, not normalised."""
    resized = cv2.resize(bgr, (input_size, input_size))
    lightness = cv2.cvtColor(resized, cv2.COLOR_BGR2Lab)[:, :, :1]
    grey_lab = np.concatenate((lightness, np.zeros_like(lightness), np.zeros_like(lightness)), axis=-1)
    grey_rgb = cv2.cvtColor(grey_lab, cv2.COLOR_LAB2RGB)
    return torch.from_numpy(grey_rgb.transpose(2, 0, 1).copy()).unsqueeze(0)


def predict_ab(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Step 6: the model's ``[1, 2, S, S]`` a, b on the CPU, run on the model's device."""
    parameter = next(model.parameters())
    with torch.inference_mode():
        return model(x.to(device=parameter.device, dtype=parameter.dtype)).float().cpu()


def lab_to_rgb8(bgr: np.ndarray, ab: torch.Tensor) -> np.ndarray:
    """Steps 2 and 7-9: the photo's own L with ``ab`` stretched to its size (PyTorch's nearest), back to
    8-bit RGB (OpenCV clamps to [0, 1]; rounding half to even, as NumPy's ``round``).

    Done in bands of rows, which gives the same pixels (every step is per pixel once the nearest
    source rows and columns are known) with bounded temporaries for a large scan.
    """
    height, width = bgr.shape[:2]
    rows = _nearest_sources(ab.shape[-2], height)
    cols = _nearest_sources(ab.shape[-1], width)
    ab_hwc = ab[0].permute(1, 2, 0).numpy()
    out = np.empty((height, width, 3), np.uint8)
    for first in range(0, height, _LAB_BAND_ROWS):
        band = slice(first, min(first + _LAB_BAND_ROWS, height))
        lightness = cv2.cvtColor(bgr[band], cv2.COLOR_BGR2Lab)[:, :, :1]
        lab = np.concatenate((lightness, ab_hwc[rows[band]][:, cols]), axis=-1)
        bgr8 = (cv2.cvtColor(lab, cv2.COLOR_LAB2BGR) * 255.0).round().astype(np.uint8)
        out[band] = bgr8[..., ::-1]
    return out


def _nearest_sources(source: int, target: int) -> np.ndarray:
    """For each of ``target`` positions, the source index ``F.interpolate(mode='nearest')`` reads.

    Taken from interpolate itself (on the indices), so it is PyTorch's legacy rule to the last bit:
    ``min(floor(dst · float32(source/target)), source − 1)``.
    """
    indices = torch.arange(source, dtype=torch.float64).view(1, 1, source)
    return F.interpolate(indices, size=target).view(-1).numpy().astype(np.intp)
