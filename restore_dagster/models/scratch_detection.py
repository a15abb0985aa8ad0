"""BOPBTL's scratch detector: a UNet that marks scratches, cracks and tears on an old print (no Dagster).

"Bringing Old Photos Back to Life" (Microsoft, MIT licence), ``Global/detection.py`` and
``Global/detection_models/{networks,antialiasing}.py``: ``UNet(in_channels=1, out_channels=1,
depth=4, conv_num=2, wf=6, padding=True, batch_norm=True, up_mode="upsample", with_tanh=False,
antialiasing=True)``; every padding is reflection padding, every activation LeakyReLU(0.2), and the
downsampling is a 3×3 conv + batch norm followed by a fixed [1, 2, 1]⊗[1, 2, 1] blur at stride 2.

The pipeline is the reference's ``--input_size full_size`` (what its ``run.py --with_scratch`` uses):
the RGB scan is resized (bicubic) to sides rounded to multiples of 16, turned into PIL's L, scaled to
-1..1, bilinearly squeezed so its shorter side is 256 (the network always sees about 256×384), and
the sigmoid of the network's output is brought back to the rounded size by nearest neighbour.

Where rounding changed the size (a side that is not a multiple of 16), this module then brings the
rounded-size probabilities to the scan's own size with bilinear interpolation (align_corners=False)
and thresholds there. Bilinear rather than nearest because the two sizes differ by under 8 pixels per
side: nearest would drop or double whole rows and columns of the mask (a scratch one pixel off), while
bilinear shifts no line and only blends across the sub-pixel offset. The network's own output is
never resized straight to the scan's size: that would skip the reference's rounded-size step.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from restore_dagster.models.checkpoints import check_state_dict, read_state_dict
from restore_dagster.models.device import resolve_device

DEFAULT_THRESHOLD = 0.4  # detection.py:153, ``P >= 0.4``
NETWORK_SHORT_SIDE = 256  # detection.py:51, scale_tensor's default_scale
MULTIPLE = 16  # four stride-2 downsamplings
_SLOPE = 0.2


def _conv_bn_act(channels_in: int, channels_out: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(channels_in, channels_out, 3), nn.BatchNorm2d(channels_out),
            nn.LeakyReLU(_SLOPE)]


class BlurDownsample(nn.Module):
    """antialiasing.Downsample(pad_type="reflect", filt_size=3, stride=2): a fixed blur at stride 2."""

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        blur = taps[:, None] * taps[None, :]
        self.register_buffer("filt", (blur / blur.sum())[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


class ConvBlock(nn.Module):
    """UNetConvBlock with conv_num=2: (pad, conv 3×3, BN, LeakyReLU) twice; keys block.1/2 and block.5/6."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.block = nn.Sequential(*_conv_bn_act(channels_in, channels_out), *_conv_bn_act(channels_out, channels_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class UpBlock(nn.Module):
    """UNetUpBlock(up_mode="upsample"): bilinear ×2, pad, conv to half the channels; concat the skip; ConvBlock."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                nn.ReflectionPad2d(1), nn.Conv2d(channels_in, channels_out, 3))
        self.conv_block = ConvBlock(channels_in, channels_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # The reference centre-crops the skip to the upsampled size; with padding=True they are equal.
        return self.conv_block(torch.cat([self.up(x), skip], dim=1))


class ScratchUNet(nn.Module):
    """networks.UNet as detection.py builds it; input [N, 1, H, W] in -1..1 (H, W multiples of 16), output logits."""

    def __init__(self, depth: int = 4, width_log2: int = 6):
        super().__init__()
        channels = 2**width_log2
        self.first = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(1, channels, 7), nn.LeakyReLU(_SLOPE))
        self.down_path = nn.ModuleList()  # registered first: the checkpoint's key order
        self.down_sample = nn.ModuleList()
        for i in range(depth):
            self.down_sample.append(nn.Sequential(*_conv_bn_act(channels, channels), BlurDownsample(channels)))
            self.down_path.append(ConvBlock(channels, 2 ** (width_log2 + 1 + i)))
            channels = 2 ** (width_log2 + 1 + i)
        self.up_path = nn.ModuleList()
        for _ in range(depth):
            self.up_path.append(UpBlock(channels, channels // 2))
            channels //= 2
        self.last = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, 1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x)
        skips = []
        for down_sample, down_path in zip(self.down_sample, self.down_path):
            skips.append(x)  # before downsampling (networks.py:109-116)
            x = down_path(down_sample(x))
        for up, skip in zip(self.up_path, reversed(skips)):
            x = up(x, skip)
        return self.last(x)


def load_detector(weights_path: str | os.PathLike, device: str | torch.device | None = None) -> ScratchUNet:
    """The official ``FT_Epoch_latest.pt`` (its ``model_state``) in an eval-mode UNet on ``device``.

    Strict: every key of the reference's model must be there with its shape and nothing else
    (``num_batches_tracked`` may be absent: unused in eval, and the reference's loader fills it in).
    Read without running pickled code (``checkpoints.read_state_dict``).
    """
    path = Path(weights_path)
    state = read_state_dict(path, under="model_state", what="BOPBTL scratch-detection")
    model = ScratchUNet()
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = tensor.clone()
    check_state_dict(expected, state, path, "BOPBTL scratch-detection")
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False).to(resolve_device(device))


def rounded_size(width: int, height: int) -> tuple[int, int]:
    """detection.py's full_size sides: each rounded (half to even) to a multiple of 16, at least 16."""
    return (max(MULTIPLE, int(round(width / MULTIPLE) * MULTIPLE)),
            max(MULTIPLE, int(round(height / MULTIPLE) * MULTIPLE)))


def network_size(width: int, height: int) -> tuple[int, int]:
    """scale_tensor's size (width, height): the shorter side 256, the longer in proportion, multiples of 16."""
    if height < width:
        short, long = height, width
    else:
        short, long = width, height
    long_scaled = int(round(long / short * NETWORK_SHORT_SIDE / MULTIPLE) * MULTIPLE)
    return (long_scaled, NETWORK_SHORT_SIDE) if height < width else (NETWORK_SHORT_SIDE, long_scaled)


def network_input(image: Image.Image) -> tuple[torch.Tensor, tuple[int, int]]:
    """The network's input [1, 1, h', w'] for ``image`` and the rounded (full_size) size it came from."""
    rgb = image.convert("RGB")
    size = rounded_size(*rgb.size)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.BICUBIC)
    grey = torch.from_numpy(np.asarray(rgb.convert("L"), dtype=np.uint8).copy())
    x = (grey.float().div_(255.0).sub_(0.5).div_(0.5))[None, None]
    width, height = network_size(*size)
    return F.interpolate(x, [height, width], mode="bilinear", align_corners=False), size


def rounded_probabilities(image: Image.Image, detector: nn.Module) -> torch.Tensor:
    """sigmoid(network), back at the rounded size by nearest: the reference's ``P`` ([1, 1, h, w], CPU)."""
    x, (width, height) = network_input(image)
    parameter = next(detector.parameters())
    with torch.inference_mode():
        logits = detector(x.to(device=parameter.device, dtype=parameter.dtype))
        probabilities = torch.sigmoid(logits.float()).cpu()
    return F.interpolate(probabilities, [height, width], mode="nearest")


def scratch_probabilities(image: Image.Image, detector: nn.Module) -> np.ndarray:
    """Per pixel of ``image``, the probability (0..1, float32, H×W) that it is a scratch or crack."""
    if image.width == 0 or image.height == 0:
        raise ValueError(f"cannot look for scratches in an empty image ({image.width}×{image.height} pixels)")
    probabilities = rounded_probabilities(image, detector)
    if tuple(probabilities.shape[-2:]) != (image.height, image.width):  # see the module docstring
        probabilities = F.interpolate(probabilities, [image.height, image.width], mode="bilinear", align_corners=False)
    return probabilities[0, 0].numpy().astype(np.float32, copy=False)


def detect_scratches(image: Image.Image, detector: nn.Module, threshold: float = DEFAULT_THRESHOLD) -> Image.Image:
    """The scratch mask of ``image``: mode "L", 255 where the probability reaches ``threshold``, else 0."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
    mask = scratch_probabilities(image, detector) >= threshold
    return Image.fromarray(mask.astype(np.uint8) * 255, "L")
