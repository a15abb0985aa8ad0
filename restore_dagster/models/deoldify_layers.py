"""The building blocks of DeOldify's U-Net decoders, in plain PyTorch.

Each block reproduces the forward pass of its fastai v1 / DeOldify counterpart (named in its
docstring) and registers its parameters under the same names and in the same order, so that a
checkpoint's state_dict loads with ``strict=True``. Spectral and weight normalisation are written
out as explicit parameters (``weight_orig``/``weight_u``/``weight_v``, ``weight_g``/``weight_v``)
instead of torch's hook-based wrappers; :func:`fold_normalisations` turns them into plain
convolutions once the weights are loaded.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn


class SpectralNormConv(nn.Module):
    """A Conv1d/Conv2d under ``torch.nn.utils.spectral_norm``, as evaluated in eval mode.

    In eval mode torch runs no power iteration: it divides ``weight_orig`` by
    ``sigma = u · (W v)``, with ``W`` the weight flattened to ``[out, -1]`` and the stored ``u``, ``v``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dims: int = 2,
                 bias: bool, padding: int | None = None):
        super().__init__()
        self.dims = dims
        self.padding = (kernel_size - 1) // 2 if padding is None else padding
        # Registration order decides state_dict order: torch's spectral_norm deletes `weight` and
        # re-adds it as `weight_orig` after the conv's own `bias`, then adds the u, v buffers.
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        kernel = (kernel_size,) * dims
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, *kernel))
        self.register_buffer("weight_u", torch.empty(out_channels))
        self.register_buffer("weight_v", torch.empty(in_channels * kernel_size**dims))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal weight and unit u, v from a short power iteration (fastai's init)."""
        with torch.no_grad():
            nn.init.kaiming_normal_(self.weight_orig)
            if self.bias is not None:
                self.bias.zero_()
            matrix = self.weight_orig.flatten(1)
            v = F.normalize(torch.randn(matrix.shape[1], device=matrix.device), dim=0)
            for _ in range(3):
                u = F.normalize(matrix @ v, dim=0)
                v = F.normalize(matrix.t() @ u, dim=0)
            self.weight_u.copy_(u)
            self.weight_v.copy_(v)

    def normalised_weight(self) -> torch.Tensor:
        sigma = torch.dot(self.weight_u, torch.mv(self.weight_orig.flatten(1), self.weight_v))
        return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = F.conv2d if self.dims == 2 else F.conv1d
        return conv(x, self.normalised_weight(), self.bias, padding=self.padding)

    def folded(self) -> nn.Module:
        """A plain convolution with the normalised weight, computed in place on ``weight_orig``."""
        with torch.no_grad():
            sigma = torch.dot(self.weight_u, torch.mv(self.weight_orig.flatten(1), self.weight_v))
            weight = self.weight_orig.div_(sigma)
        return _plain_conv(weight, self.bias, self.padding)


class WeightNormConv2d(nn.Module):
    """A Conv2d under ``torch.nn.utils.weight_norm`` (dim 0): ``weight = g · v / ‖v‖`` per output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, bias: bool = True):
        super().__init__()
        self.padding = (kernel_size - 1) // 2
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.weight_g = nn.Parameter(torch.empty(out_channels, 1, 1, 1))
        self.weight_v = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        with torch.no_grad():
            nn.init.kaiming_normal_(self.weight_v)
            self.weight_g.copy_(self._direction_norm())

    def _direction_norm(self) -> torch.Tensor:
        return self.weight_v.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_v * (self.weight_g / self._direction_norm())
        return F.conv2d(x, weight, self.bias, padding=self.padding)

    def folded(self) -> nn.Module:
        with torch.no_grad():
            weight = self.weight_v.mul_(self.weight_g / self._direction_norm())
        return _plain_conv(weight, self.bias, self.padding)


def _plain_conv(weight: torch.Tensor, bias: torch.Tensor | None, padding: int) -> nn.Module:
    out_channels, in_channels, *kernel = weight.shape
    conv_type = InferenceConv2d if len(kernel) == 2 else nn.Conv1d
    with torch.device("meta"):
        conv = conv_type(in_channels, out_channels, kernel[0], padding=padding, bias=bias is not None)
    conv.weight = nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
    return conv


# Below this many output pixels oneDNN's direct convolution beats NNPACK (measured on a 2-core
# AMD EPYC: 18×18 maps are faster in oneDNN, 35×35 and larger in NNPACK).
_WINOGRAD_MIN_PIXELS = 32 * 32


class InferenceConv2d(nn.Conv2d):
    """A Conv2d with faster CPU float32 paths for the two kernel sizes DeOldify spends its time in.

    - 3×3, stride 1: NNPACK's Winograd F(6×6, 3×3) needs about a fifth of the multiplications of
      a direct convolution; on CPU it makes the full-resolution convolutions about 3× faster than
      oneDNN, with a relative error of about 1e-5.
    - 1×1, stride 1: a plain matrix product (MKL), 1.2-3× faster than oneDNN on NCHW maps.

    Everything else (GPU, half precision, other kernels, small maps, gradients, torch builds
    without NNPACK) takes the ordinary ``F.conv2d`` path. NNPACK keeps its largest workspace per
    calling thread for the life of the thread: about output tiles × output channels × 256 bytes,
    under 200 MB for DeOldify at render factor 35.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type != "cpu" or x.dtype != torch.float32 or x.ndim != 4 or not self._plain_geometry()
                or (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))):
            return super().forward(x)
        if self.kernel_size == (1, 1) and self.padding == (0, 0):
            return self._pointwise(x)
        if self.kernel_size == (3, 3) and x.shape[-2] * x.shape[-1] >= _WINOGRAD_MIN_PIXELS:
            out = nnpack_conv2d(x, self.weight, self.bias, list(self.padding))
            if out is not None:
                return out
        return super().forward(x)

    def _plain_geometry(self) -> bool:
        return (self.stride == (1, 1) and self.dilation == (1, 1) and self.groups == 1
                and self.padding_mode == "zeros" and not isinstance(self.padding, str))

    def _pointwise(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        weight = self.weight.view(self.out_channels, self.in_channels)
        flat = x.reshape(batch, self.in_channels, height * width)
        if batch == 1 and self.bias is not None:
            out = torch.addmm(self.bias.unsqueeze(1), weight, flat[0]).unsqueeze(0)
        else:
            out = torch.matmul(weight, flat)
            if self.bias is not None:
                out += self.bias.unsqueeze(1)
        return out.view(batch, self.out_channels, height, width)


_nnpack = {"usable": None}


def nnpack_usable() -> bool:
    if _nnpack["usable"] is None:
        # torch._nnpack_available() also initialises NNPACK; its convolution fails until then.
        _nnpack["usable"] = bool(getattr(torch, "_nnpack_available", lambda: False)())
    return _nnpack["usable"]


def nnpack_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  padding: list[int]) -> torch.Tensor | None:
    """A stride-1 convolution by NNPACK (Winograd for 3×3), or None where NNPACK is unavailable or has
    failed once in this process (the caller then takes oneDNN). Shared by DeOldify and waifu2x, so a
    failing NNPACK is given up for both."""
    if not nnpack_usable():
        return None
    try:
        return torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, padding)
    except (RuntimeError, TypeError) as exc:  # a private op: never let it break inference
        _give_up_nnpack(exc)
        return None


def _give_up_nnpack(exc: Exception) -> None:
    _nnpack["usable"] = False
    warnings.warn(f"NNPACK convolution failed ({exc}); using oneDNN from now on, about 3× slower",
                  RuntimeWarning, stacklevel=4)


def as_inference_conv(conv: nn.Conv2d) -> InferenceConv2d:
    """The same convolution (sharing its parameters) as an :class:`InferenceConv2d`."""
    with torch.device("meta"):
        fast = InferenceConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                               padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                               bias=conv.bias is not None, padding_mode=conv.padding_mode)
    fast.weight = conv.weight
    fast.bias = conv.bias
    return fast


class SelfAttention(nn.Module):
    """fastai v1 ``SelfAttention``: SAGAN attention with spectral-norm 1×1 Conv1d projections.

    Output position j mixes the values of every position i with weights softmax over i of
    ``query_i · key_j`` (fastai takes the softmax over dim 1 of ``queryᵀ·key``), scaled by ``gamma``
    and added to the input.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.query = SpectralNormConv(channels, channels // 8, 1, dims=1, bias=False)
        self.key = SpectralNormConv(channels, channels // 8, 1, dims=1, bias=False)
        self.value = SpectralNormConv(channels, channels, 1, dims=1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)
        query, key, value = self.query(flat), self.key(flat), self.value(flat)
        # One SDPA call instead of bmm/softmax/bmm: it takes a fused kernel where the device has
        # one (CUDA) and the plain three steps elsewhere. fastai's softmax runs over the query
        # positions, so `key` plays SDPA's query and `query` SDPA's key; fastai does not scale.
        attended = F.scaled_dot_product_attention(
            key.transpose(1, 2).unsqueeze(1), query.transpose(1, 2).unsqueeze(1),
            value.transpose(1, 2).unsqueeze(1), scale=1.0,
        ).squeeze(1).transpose(1, 2)
        return torch.addcmul(flat, self.gamma, attended).view_as(x)


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, *, norm: str = "spectral",
               activation: bool = True, batchnorm: bool = False, self_attention: bool = False,
               bias: bool | None = None) -> nn.Sequential:
    """DeOldify's ``custom_conv_layer`` / fastai's ``conv_layer``: conv, ReLU, BatchNorm, attention.

    The order is conv → ReLU → BN (the BN comes after the activation), and the conv has a bias
    only when no BN follows, as in fastai.
    """
    if bias is None:
        bias = not batchnorm
    if norm == "spectral":
        conv: nn.Module = SpectralNormConv(in_channels, out_channels, kernel_size, bias=bias)
    elif norm == "weight":
        conv = WeightNormConv2d(in_channels, out_channels, kernel_size, bias=bias)
    else:
        raise ValueError(f"unknown conv normalisation {norm!r}; expected 'spectral' or 'weight'")
    layers = [conv]
    if activation:
        layers.append(nn.ReLU(inplace=True))
    if batchnorm:
        layers.append(nn.BatchNorm2d(out_channels))
    if self_attention:
        layers.append(SelfAttention(out_channels))
    return nn.Sequential(*layers)


class PixelShuffleUpsample(nn.Module):
    """fastai ``PixelShuffle_ICNR`` / DeOldify ``CustomPixelShuffle_ICNR``: ×2 upsampling.

    1×1 conv to 4× the channels, ReLU, pixel shuffle, then a 2×2 average over a top/left
    replicate-padded map. That blur runs whatever the ``blur`` flag says: fastai v1 tests the
    truthiness of the AvgPool2d module, not of the flag.
    """

    def __init__(self, in_channels: int, out_channels: int, *, norm: str, batchnorm: bool):
        super().__init__()
        self.conv = conv_block(in_channels, out_channels * 4, 1, norm=norm, activation=False, batchnorm=batchnorm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur_top_left(F.pixel_shuffle(F.relu(self.conv(x), inplace=True), 2))

    def forward_rows(self, x: torch.Tensor, first: int, stop: int) -> torch.Tensor:
        """Rows ``first:stop`` of ``forward(x)``, computed from the few input rows they depend on.

        Output row r blurs upsampled rows r-1 and r, which come from input rows (r-1)//2 and r//2.
        """
        start = max(first - 1, 0) // 2
        upsampled = self.forward(x[..., start:(stop - 1) // 2 + 1, :])
        # Row 0 of this slice is blurred with itself instead of the row above it; it is dropped
        # unless it is the image's true first row, where that replication is the reference's too.
        return upsampled[..., first - 2 * start:stop - 2 * start, :]


def blur_top_left(x: torch.Tensor) -> torch.Tensor:
    """``AvgPool2d(2, stride=1)`` after ``ReplicationPad2d((1, 0, 1, 0))``, overwriting ``x``.

    Written as two shifted additions: 4× faster than avg_pool2d on CPU at full resolution, and
    it needs one extra buffer instead of two (the padded copy and the pooled output).
    """
    rows = torch.empty_like(x)
    torch.add(x[..., 1:, :], x[..., :-1, :], out=rows[..., 1:, :])
    torch.add(x[..., :1, :], x[..., :1, :], out=rows[..., :1, :])  # the padded row above row 0 is row 0
    torch.add(rows[..., 1:], rows[..., :-1], out=x[..., 1:])
    torch.add(rows[..., :1], rows[..., :1], out=x[..., :1])
    return x.mul_(0.25)


def fastai_batchnorm(channels: int) -> nn.BatchNorm2d:
    """fastai's ``batchnorm_2d``: a BatchNorm2d initialised with weight 1, bias 1e-3."""
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.bias.fill_(1e-3)
    return bn


class _UnetBlock(nn.Module):
    """Shared forward of the two decoder blocks: upsample, match the skip's size, concat, convs."""

    def _merge(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up_out = self.shuf(up_in)
        if up_out.shape[-2:] != skip.shape[-2:]:
            up_out = F.interpolate(up_out, skip.shape[-2:], mode="nearest")
        return F.relu(torch.cat([up_out, self.bn(skip)], dim=1), inplace=True)


class UnetBlockDeep(_UnetBlock):
    """DeOldify ``UnetBlockDeep`` (artistic): upsample to ``up_in/2``, concat skip, two convs."""

    def __init__(self, up_in_channels: int, skip_channels: int, *, final_div: bool, nf_factor: float,
                 self_attention: bool):
        super().__init__()
        self.shuf = PixelShuffleUpsample(up_in_channels, up_in_channels // 2, norm="spectral", batchnorm=True)
        self.bn = fastai_batchnorm(skip_channels)
        in_channels = up_in_channels // 2 + skip_channels
        self.out_channels = int((in_channels if final_div else in_channels // 2) * nf_factor)
        self.conv1 = conv_block(in_channels, self.out_channels, batchnorm=True)
        self.conv2 = conv_block(self.out_channels, self.out_channels, batchnorm=True, self_attention=self_attention)

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(self._merge(up_in, skip)))


class UnetBlockWide(_UnetBlock):
    """DeOldify ``UnetBlockWide`` (stable): upsample to ``n_out/2``, concat skip, one conv."""

    def __init__(self, up_in_channels: int, skip_channels: int, n_out: int, *, self_attention: bool):
        super().__init__()
        half = n_out // 2
        self.shuf = PixelShuffleUpsample(up_in_channels, half, norm="spectral", batchnorm=True)
        self.bn = fastai_batchnorm(skip_channels)
        self.out_channels = half
        self.conv = conv_block(half + skip_channels, half, batchnorm=True, self_attention=self_attention)

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(self._merge(up_in, skip))


class ResidualBlock(nn.Module):
    """fastai ``res_block(nf, norm_type=Spectral)``: ``x + relu(conv(relu(conv(x))))``, no BN."""

    def __init__(self, channels: int):
        super().__init__()
        # A ModuleList named `layers` mirrors fastai's SequentialEx, whose third entry (the
        # MergeLayer) holds no parameters.
        self.layers = nn.ModuleList([conv_block(channels, channels), conv_block(channels, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](self.layers[0](x)).add_(x)


class DenseMerge(nn.Module):
    """fastai ``MergeLayer(dense=True)``: concatenates the network's input to the features."""

    def forward(self, x: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, network_input], dim=1)


class SigmoidRange(nn.Module):
    """fastai ``SigmoidRange``: ``sigmoid(x) · (high − low) + low``."""

    def __init__(self, low: float, high: float):
        super().__init__()
        self.low, self.high = low, high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) * (self.high - self.low) + self.low


def fold_normalisations(module: nn.Module) -> None:
    """Replace every spectral/weight-normalised conv under ``module`` by a plain conv, in place.

    Afterwards the parameters are the effective weights of the eval-mode network: no per-call
    normalisation, no ``u``/``v``/``g`` tensors kept.
    """
    for name, child in list(module.named_children()):
        if isinstance(child, (SpectralNormConv, WeightNormConv2d)):
            setattr(module, name, child.folded())
        else:
            fold_normalisations(child)
    if isinstance(module, SelfAttention):
        # gamma scales the attention output linearly, and the value projection has no bias.
        with torch.no_grad():
            module.value.weight.mul_(module.gamma)
            module.gamma.fill_(1.0)


def use_inference_convs(module: nn.Module) -> None:
    """Swap every plain Conv2d under ``module`` for an :class:`InferenceConv2d`, in place."""
    for name, child in list(module.named_children()):
        if type(child) is nn.Conv2d:
            setattr(module, name, as_inference_conv(child))
        else:
            use_inference_convs(child)
