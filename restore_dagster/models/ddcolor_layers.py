"""The building blocks of DDColor (Kang et al., ICCV 2023), in plain PyTorch (no timm, no torchvision).

Reference: piddnad/DDColor at 2adb63f, ``basicsr/archs/ddcolor_arch_utils/`` (``convnext.py``,
``unet.py``, ``position_encoding.py``, ``transformer_utils.py``) and ``ddcolor/model.py``. Every
module registers its parameters under the reference's names, so an official checkpoint loads with
``strict=True``. The fastai-style pieces DDColor shares with DeOldify (spectral-norm convolutions,
conv → ReLU → BN blocks, the top-left blur after a pixel shuffle) are deoldify_layers.py's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .deoldify_layers import SpectralNormConv, blur_top_left, conv_block

# ---------------------------------------------------------------------------------------------------
# Encoder: ConvNeXt (facebookresearch layout, ``convnext.py``)


class ChannelsFirstLayerNorm(nn.Module):
    """ConvNeXt's ``LayerNorm(data_format="channels_first")`` over dim 1 of ``[N, C, H, W]``.

    Written out as the reference does (biased variance, eps inside the square root) rather than as
    ``F.layer_norm`` on a permuted copy, so that the rounding is the reference's.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        centred = x - mean
        variance = centred.pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * (centred / torch.sqrt(variance + self.eps)) + self.bias[:, None, None]


class ConvNeXtBlock(nn.Module):
    """depthwise 7×7 → LayerNorm (channels last) → Linear C→4C → GELU → Linear 4C→C → ×gamma → + input.

    Drop path is the identity at inference (the reference builds it with rate 0 anyway).
    """

    def __init__(self, channels: int):
        super().__init__()
        # Registration order is the checkpoint's: gamma first (the reference assigns it before drop_path,
        # but nn.Module puts parameters before submodules in state_dict()).
        self.gamma = nn.Parameter(torch.full((channels,), 1e-6))
        self.dwconv = nn.Conv2d(channels, channels, kernel_size=7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pwconv1 = nn.Linear(channels, 4 * channels)
        self.pwconv2 = nn.Linear(4 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dwconv(x).permute(0, 2, 3, 1)
        h = self.pwconv2(F.gelu(self.pwconv1(self.norm(h))))
        return x + (self.gamma * h).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """The ConvNeXt trunk with DDColor's four extra output norms ``norm0``..``norm3``.

    The reference applies ``norm_i`` to each stage's output only to capture it with a forward hook
    (the decoder's skips) and carries on with the UN-normalised features; :meth:`forward` returns
    those four normalised maps. ``norm`` (LayerNorm of the pooled features) is kept for the
    checkpoint's keys: its output is never used, so it is not computed. The classifier ``head_cls``
    is commented out in the reference and absent here.
    """

    def __init__(self, depths: tuple[int, ...], dims: tuple[int, ...]):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=4, stride=4), ChannelsFirstLayerNorm(dims[0]))
        self.downsample_layers = nn.ModuleList([stem])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                ChannelsFirstLayerNorm(dims[i]), nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2)))
        self.stages = nn.ModuleList(
            nn.Sequential(*(ConvNeXtBlock(dim) for _ in range(depth))) for depth, dim in zip(depths, dims))
        for i, dim in enumerate(dims):
            self.add_module(f"norm{i}", ChannelsFirstLayerNorm(dim))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i in range(4):
            x = self.stages[i](self.downsample_layers[i](x))
            features.append(getattr(self, f"norm{i}")(x))
        return features


class ImageEncoder(nn.Module):
    """``ddcolor/model.py`` ``ImageEncoder``: only a holder, so that the keys read ``encoder.arch.*``."""

    def __init__(self, depths: tuple[int, ...], dims: tuple[int, ...]):
        super().__init__()
        self.arch = ConvNeXt(depths, dims)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.arch(x)


# ---------------------------------------------------------------------------------------------------
# Pixel decoder (``unet.py``)


class PixelShuffleUpsample(nn.Module):
    """``CustomPixelShuffle_ICNR`` with blur: 1×1 SN conv to ``out·scale²`` channels (then a BN when
    ``batchnorm``, and no conv bias), ReLU, pixel shuffle by ``scale``, 2×2 top-left blur."""

    def __init__(self, in_channels: int, out_channels: int, scale: int, *, batchnorm: bool):
        super().__init__()
        self.scale = scale
        self.conv = conv_block(in_channels, out_channels * scale**2, 1, activation=False, batchnorm=batchnorm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur_top_left(F.pixel_shuffle(F.relu(self.conv(x), inplace=True), self.scale))


class UnetBlockWide(nn.Module):
    """``unet.py`` ``UnetBlockWide`` as DDColor builds it: ×2 upsampling to ``n_out`` channels, the
    batch-normalised skip concatenated, ReLU, then SN conv 3×3 → ReLU → BN (no self-attention)."""

    def __init__(self, up_in_channels: int, skip_channels: int, n_out: int):
        super().__init__()
        self.shuf = PixelShuffleUpsample(up_in_channels, n_out, 2, batchnorm=True)
        self.bn = nn.BatchNorm2d(skip_channels)
        self.conv = conv_block(n_out + skip_channels, n_out, batchnorm=True)

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        merged = F.relu(torch.cat([self.shuf(up_in), self.bn(skip)], dim=1), inplace=True)
        return self.conv(merged)


# ---------------------------------------------------------------------------------------------------
# Colour decoder (``ddcolor/model.py`` MultiScaleColorDecoder, ``transformer_utils.py``)


def sine_position_embedding(height: int, width: int, channels: int = 256, *, device=None) -> torch.Tensor:
    """DETR's ``PositionEmbeddingSine(channels // 2, normalize=True)`` for an unmasked map: ``[C, H, W]``.

    Positions 1..H (1..W) scaled to (0, 2π]; per axis, features 2k and 2k+1 are the sine and cosine
    of ``pos / 10000^(2k/F)``; the y features come first. Computed in float32, as the reference does.
    """
    features = channels // 2
    y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    y = y / (y[-1:] + 1e-6) * (2 * math.pi)
    x = x / (x[-1:] + 1e-6) * (2 * math.pi)
    dim_t = torch.arange(features, dtype=torch.float32, device=device)
    dim_t = 10000 ** (2 * (dim_t // 2) / features)

    def interleave(pos: torch.Tensor) -> torch.Tensor:  # [L] → [L, F]: sin, cos, sin, cos, ...
        scaled = pos[:, None] / dim_t
        return torch.stack((scaled[:, 0::2].sin(), scaled[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = interleave(y)[:, None, :].expand(height, width, features)
    pos_x = interleave(x)[None, :, :].expand(height, width, features)
    return torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1)


class CrossAttentionLayer(nn.Module):
    """Post-norm cross-attention: ``LN(tgt + MHA(tgt + query_pos, memory + pos, memory))``."""

    def __init__(self, d_model: int, nhead: int):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, pos: torch.Tensor, query_pos: torch.Tensor):
        attended = self.multihead_attn(tgt + query_pos, memory + pos, memory, need_weights=False)[0]
        return self.norm(tgt + attended)


class SelfAttentionLayer(nn.Module):
    """Post-norm self-attention: ``LN(tgt + MHA(tgt + query_pos, tgt + query_pos, tgt))``."""

    def __init__(self, d_model: int, nhead: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tgt: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        q = tgt + query_pos
        return self.norm(tgt + self.self_attn(q, q, tgt, need_weights=False)[0])


class FFNLayer(nn.Module):
    """Post-norm feed-forward: ``LN(tgt + linear2(relu(linear1(tgt))))``."""

    def __init__(self, d_model: int, dim_feedforward: int):
        super().__init__()
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tgt: torch.Tensor) -> torch.Tensor:
        return self.norm(tgt + self.linear2(F.relu(self.linear1(tgt))))


class MLP(nn.Module):
    """Linear layers with ReLU between them (not after the last)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MultiScaleColorDecoder(nn.Module):
    """DDColor's colour decoder: learned colour queries refined against three pixel-decoder scales.

    Layer i attends (cross-attention, then self-attention, then FFN) to scale ``i % 3`` (0 the
    coarsest). The queries' final embeddings, dotted with the full-resolution image features, give
    one map per query: ``[N, num_queries, H, W]``. Sequences are ``[L, N, C]`` (batch second), as
    the reference's ``nn.MultiheadAttention(batch_first=False)`` takes them.
    """

    def __init__(self, in_channels: list[int], hidden_dim: int = 256, num_queries: int = 100, nheads: int = 8,
                 dim_feedforward: int = 2048, dec_layers: int = 9, color_embed_dim: int = 256):
        super().__init__()
        self.num_scales = len(in_channels)
        self.hidden_dim = hidden_dim
        # Registration order follows the training code (basicsr/archs/ddcolor_arch.py), whose
        # state_dict order the official checkpoints have: transformer layers first.
        self.transformer_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(hidden_dim, nheads) for _ in range(dec_layers))
        self.transformer_cross_attention_layers = nn.ModuleList(
            CrossAttentionLayer(hidden_dim, nheads) for _ in range(dec_layers))
        self.transformer_ffn_layers = nn.ModuleList(
            FFNLayer(hidden_dim, dim_feedforward) for _ in range(dec_layers))
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(self.num_scales, hidden_dim)
        self.input_proj = nn.ModuleList(nn.Conv2d(c, hidden_dim, kernel_size=1) for c in in_channels)
        self.color_embed = MLP([hidden_dim, hidden_dim, hidden_dim, color_embed_dim])

    def forward(self, scales: list[torch.Tensor], img_features: torch.Tensor) -> torch.Tensor:
        if len(scales) != self.num_scales:
            raise ValueError(f"colour decoder expects {self.num_scales} feature scales, got {len(scales)}")
        batch = img_features.shape[0]
        src, pos = [], []
        for i, feature in enumerate(scales):
            embedding = sine_position_embedding(*feature.shape[-2:], self.hidden_dim, device=feature.device)
            pos.append(embedding.to(feature.dtype).flatten(1).t()[:, None, :].expand(-1, batch, -1))
            projected = self.input_proj[i](feature).flatten(2) + self.level_embed.weight[i][None, :, None]
            # Contiguous [HW, N, C]: on a permuted view the attention's input projections fall back to
            # a batched matmul over a copy of the weight per position (50× slower on the CPU).
            src.append(projected.permute(2, 0, 1).contiguous())
        query_pos = self.query_embed.weight[:, None, :].expand(-1, batch, -1)
        output = self.query_feat.weight[:, None, :].expand(-1, batch, -1)
        for i in range(len(self.transformer_cross_attention_layers)):
            level = i % self.num_scales
            output = self.transformer_cross_attention_layers[i](output, src[level], pos[level], query_pos)
            output = self.transformer_self_attention_layers[i](output, query_pos)
            output = self.transformer_ffn_layers[i](output)
        color_embed = self.color_embed(self.decoder_norm(output).transpose(0, 1))
        return torch.einsum("bqc,bchw->bqhw", color_embed, img_features)
