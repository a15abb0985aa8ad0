"""The building blocks of LaMa's "big-lama" generator (Fast Fourier Convolutions), in plain PyTorch.

Written from advimman/lama ``saicinpainting/training/modules/ffc.py`` (commit 786f593) for the one
configuration big-lama uses (``configs/training/big-lama.yaml``): no LFU branch, no gating, no
spectral position encoding, stride 1 inside the spectral transforms. Module names are those of the
reference, so that ``state_dict()`` keys equal the checkpoint's (without its ``generator.`` prefix);
branches the configuration switches off (``nn.Identity`` in the reference) hold no parameters and
are simply left out here.

Features travel as a pair ``(local, global)``; ``global`` is the int 0 where a layer has no global
channels, as in the reference (its sums then add nothing).
"""

from __future__ import annotations

import torch
from torch import nn

Pair = tuple[torch.Tensor, "torch.Tensor | int"]


def _add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b, into ``a`` (a fresh intermediate) when no gradient is recorded: saves a map's memory traffic."""
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        return a + b
    return a.add_(b)


class FourierUnit(nn.Module):
    """A 1×1 convolution in the frequency domain: rfft2 → conv + BN + ReLU → irfft2 (ffc.py:49-113).

    The complex spectrum of each channel becomes two real channels, interleaved (2c = real part,
    2c+1 = imaginary part, the reference's ``stack(-1).permute(0, 1, 4, 2, 3).view``); the
    checkpoint's ``conv_layer`` weights are ordered that way.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv_layer = nn.Conv2d(in_channels * 2, out_channels * 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels * 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
        # [B, C, H, W/2+1, 2] → [B, C, 2, H, W/2+1] → [B, 2C, H, W/2+1]: real and imaginary interleaved.
        parts = torch.stack((spectrum.real, spectrum.imag), dim=-1).permute(0, 1, 4, 2, 3).contiguous()
        del spectrum
        parts = parts.view(batch, -1, *parts.shape[3:])
        parts = self.relu(self.bn(self.conv_layer(parts)))
        parts = parts.view(batch, -1, 2, *parts.shape[2:]).permute(0, 1, 3, 4, 2).contiguous()
        spectrum = torch.complex(parts[..., 0], parts[..., 1])
        del parts
        return torch.fft.irfftn(spectrum, s=(height, width), dim=(-2, -1), norm="ortho")


class SpectralTransform(nn.Module):
    """conv2(y + FourierUnit(y)), y = ReLU(BN(conv1(x))), channels halved inside (ffc.py:116-163)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        hidden = out_channels // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.fu = FourierUnit(hidden, hidden)
        self.conv2 = nn.Conv2d(hidden, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        return self.conv2(_add(self.fu(y), y))


class FFC(nn.Module):
    """The four paths local→local, local→global, global→local, global→global (ffc.py:166-225)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, ratio_gin: float,
                 ratio_gout: float, stride: int = 1, padding: int = 0):
        super().__init__()
        in_g = int(in_channels * ratio_gin)
        in_l = in_channels - in_g
        out_g = int(out_channels * ratio_gout)
        out_l = out_channels - out_g
        self.local_out, self.global_out = out_l, out_g

        def conv(cin: int, cout: int) -> nn.Conv2d | None:
            if cin == 0 or cout == 0:
                return None
            return nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False, padding_mode="reflect")

        self.convl2l = conv(in_l, out_l)
        self.convl2g = conv(in_l, out_g)
        self.convg2l = conv(in_g, out_l)
        self.convg2g = SpectralTransform(in_g, out_g) if in_g and out_g else None
        if stride != 1 and self.convg2g is not None:
            raise ValueError("big-lama's spectral transforms all have stride 1")

    def forward(self, x: Pair | torch.Tensor) -> Pair:
        x_l, x_g = x if isinstance(x, tuple) else (x, 0)
        out_l: torch.Tensor | int = 0
        out_g: torch.Tensor | int = 0
        # Summation order as in the reference: convl2l(x_l) + convg2l(x_g); convl2g(x_l) + convg2g(x_g).
        if self.local_out:
            out_l = self.convl2l(x_l)
            if self.convg2l is not None:
                out_l = _add(out_l, self.convg2l(x_g))
        if self.global_out:
            out_g = self.convl2g(x_l)
            if self.convg2g is not None:
                out_g = _add(out_g, self.convg2g(x_g))
        return out_l, out_g


class FFC_BN_ACT(nn.Module):  # noqa: N801 - the reference's name, kept so the keys read the same
    """FFC, then BatchNorm and ReLU on each of its outputs (ffc.py:228-255)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, ratio_gin: float,
                 ratio_gout: float, stride: int = 1, padding: int = 0):
        super().__init__()
        self.ffc = FFC(in_channels, out_channels, kernel_size, ratio_gin, ratio_gout, stride, padding)
        self.bn_l = nn.BatchNorm2d(self.ffc.local_out) if self.ffc.local_out else None
        self.bn_g = nn.BatchNorm2d(self.ffc.global_out) if self.ffc.global_out else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Pair | torch.Tensor) -> Pair:
        x_l, x_g = self.ffc(x)
        # bn_* are None once fold_batchnorms() moved them into the convolutions.
        if self.ffc.local_out:
            x_l = self.act(x_l if self.bn_l is None else self.bn_l(x_l))
        if self.ffc.global_out:
            x_g = self.act(x_g if self.bn_g is None else self.bn_g(x_g))
        return x_l, x_g


class FFCResnetBlock(nn.Module):
    """Two FFC_BN_ACT (3×3, reflect padding 1) with a residual connection on both streams (ffc.py:258-292)."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.conv1 = FFC_BN_ACT(channels, channels, 3, ratio, ratio, padding=1)
        self.conv2 = FFC_BN_ACT(channels, channels, 3, ratio, ratio, padding=1)

    def forward(self, x: Pair) -> Pair:
        id_l, id_g = x
        x_l, x_g = self.conv2(self.conv1(x))
        return _add(x_l, id_l), _add(x_g, id_g)


class ConcatTupleLayer(nn.Module):
    """``cat([local, global], 1)``, local first (ffc.py:295-302)."""

    def forward(self, x: Pair) -> torch.Tensor:
        x_l, x_g = x
        if not torch.is_tensor(x_g):
            return x_l
        return torch.cat((x_l, x_g), dim=1)


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _fold_into(conv: nn.Module, scale: torch.Tensor, shift: torch.Tensor | None, transposed: bool = False) -> None:
    """conv's output · scale (+ shift), folded into its weight and bias."""
    shape = (1, -1, 1, 1) if transposed else (-1, 1, 1, 1)
    conv.weight = nn.Parameter(conv.weight * scale.reshape(shape), requires_grad=False)
    if shift is not None:
        bias = shift if conv.bias is None else conv.bias * scale + shift
        conv.bias = nn.Parameter(bias, requires_grad=False)


@torch.no_grad()
def fold_batchnorms(model: nn.Module) -> nn.Module:
    """Move every eval-mode batch norm into the linear layer before it, in place.

    BN(sum of convolutions) = sum of convolutions with scaled weights, plus a shift given to one
    of them; in a spectral transform the global path's last linear layer is its ``conv2``. The
    module's state_dict then no longer has the checkpoint's keys (the normalisations are gone).
    """
    if model.training:
        raise ValueError("fold_batchnorms needs an eval-mode model (batch norms use running statistics)")
    for module in list(model.modules()):
        if isinstance(module, FFC_BN_ACT):
            ffc = module.ffc
            if module.bn_l is not None:
                scale, shift = _bn_affine(module.bn_l)
                _fold_into(ffc.convl2l, scale, shift)
                if ffc.convg2l is not None:
                    _fold_into(ffc.convg2l, scale, None)
                module.bn_l = None
            if module.bn_g is not None:
                scale, shift = _bn_affine(module.bn_g)
                _fold_into(ffc.convl2g, scale, shift)
                if ffc.convg2g is not None:
                    _fold_into(ffc.convg2g.conv2, scale, None)
                module.bn_g = None
        elif isinstance(module, SpectralTransform):
            _fold_into(module.conv1[0], *_bn_affine(module.conv1[1]))
            module.conv1[1] = nn.Identity()
        elif isinstance(module, FourierUnit):
            _fold_into(module.conv_layer, *_bn_affine(module.bn))
            module.bn = nn.Identity()
        elif isinstance(module, nn.Sequential):
            for index in range(len(module) - 1):
                first, second = module[index], module[index + 1]
                if isinstance(first, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(second, nn.BatchNorm2d):
                    _fold_into(first, *_bn_affine(second), transposed=isinstance(first, nn.ConvTranspose2d))
                    module[index + 1] = nn.Identity()
    return model
