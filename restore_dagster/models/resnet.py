"""ResNet encoders (resnet34, resnet101) in plain PyTorch, named like torchvision's.

DeOldify's generators use torchvision's ResNet without its pooling and classifier head, as an
``nn.Sequential`` of its children: ``0`` conv1, ``1`` bn1, ``2`` relu, ``3`` maxpool, ``4``-``7``
layer1-layer4. The module names here reproduce that layout exactly, so a checkpoint's
``layers.0.*`` keys load into :func:`resnet_encoder` without renaming. torchvision itself is not
used: it has no build that imports alongside the CPU torch this project pins.
"""

from __future__ import annotations

import torch
from torch import nn

# Positions, inside the encoder Sequential, of the children whose outputs the U-Net decoder reads
# (the last child before each halving of the resolution): relu (1/2), layer1 (1/4), layer2 (1/8),
# layer3 (1/16). fastai finds them by probing sizes; they are fixed for every ResNet.
SKIP_INDICES = (2, 4, 5, 6)

# Stages per architecture: (block type, blocks in layer1..layer4).
_ARCHITECTURES = {
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
}


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def fold_batchnorm_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Return ``conv`` rewritten in place so that it computes ``bn(conv(x))`` (eval-mode BN).

    Works in place on the weight so that folding a large encoder needs no second copy of it.
    """
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
        if conv.bias is None:
            conv.bias = nn.Parameter(shift.clone(), requires_grad=conv.weight.requires_grad)
        else:
            conv.bias.mul_(scale).add_(shift)
    return conv


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (resnet18/34)."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)

    def fold_batchnorms(self) -> None:
        self.conv1 = fold_batchnorm_into_conv(self.conv1, self.bn1)
        self.conv2 = fold_batchnorm_into_conv(self.conv2, self.bn2)
        self.bn1 = self.bn2 = nn.Identity()
        _fold_downsample(self)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride, as torchvision does), 1×1 expand ×4 (resnet50+)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)

    def fold_batchnorms(self) -> None:
        self.conv1 = fold_batchnorm_into_conv(self.conv1, self.bn1)
        self.conv2 = fold_batchnorm_into_conv(self.conv2, self.bn2)
        self.conv3 = fold_batchnorm_into_conv(self.conv3, self.bn3)
        self.bn1 = self.bn2 = self.bn3 = nn.Identity()
        _fold_downsample(self)


def _fold_downsample(block: BasicBlock | Bottleneck) -> None:
    if block.downsample is not None:
        conv, bn = block.downsample[0], block.downsample[1]
        block.downsample = nn.Sequential(fold_batchnorm_into_conv(conv, bn))


def _stage(block: type[BasicBlock] | type[Bottleneck], in_channels: int, planes: int, blocks: int,
           stride: int) -> tuple[nn.Sequential, int]:
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(_conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))
    layers = [block(in_channels, planes, stride, downsample)]
    layers += [block(out_channels, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers), out_channels


def resnet_encoder(arch: str) -> nn.Sequential:
    """The body of torchvision's ``arch`` ("resnet34" or "resnet101"): everything before avgpool.

    The returned Sequential carries ``skip_channels`` (channels of the outputs at
    :data:`SKIP_INDICES`) and ``out_channels`` (channels of its final output).
    """
    if arch not in _ARCHITECTURES:
        raise ValueError(f"unknown ResNet architecture {arch!r}; expected one of {sorted(_ARCHITECTURES)}")
    block_kind, depths = _ARCHITECTURES[arch]
    block = BasicBlock if block_kind == "basic" else Bottleneck
    children: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2, padding=1),
    ]
    channels = 64
    stage_channels = []
    for planes, blocks, stride in zip((64, 128, 256, 512), depths, (1, 2, 2, 2)):
        stage, channels = _stage(block, channels, planes, blocks, stride)
        children.append(stage)
        stage_channels.append(channels)
    encoder = nn.Sequential(*children)
    encoder.skip_channels = (64, *stage_channels[:3])
    encoder.out_channels = stage_channels[3]
    return encoder


def fold_encoder_batchnorms(encoder: nn.Sequential) -> None:
    """Fold every batch norm of an eval-mode encoder into the convolution before it, in place.

    The stem's batch norm becomes an identity so the Sequential keeps its indices (and the skip
    output of index 2, the ReLU, stays where the decoder expects it).
    """
    encoder[0] = fold_batchnorm_into_conv(encoder[0], encoder[1])
    encoder[1] = nn.Identity()
    for stage in encoder[4:8]:
        for block in stage:
            block.fold_batchnorms()
