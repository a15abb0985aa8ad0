"""The colourisers' merges (the photo's own luminance under the model's chroma) as torch operations.

Both colourisers predict colour at a few hundred pixels and merge it into the full-size photo: DeOldify
takes OpenCV's YUV (Y of the photo, U and V of its prediction stretched bilinearly), DDColor OpenCV's
float Lab (L of the photo, a and b stretched nearest). At 4K that merge is 0.5–1.5 s of host work
per photo, more than the networks take on a GPU. These functions compute the same merges on the
tensor's device with OpenCV's constants and rounding steps (tested on the CPU against OpenCV): the
YUV merge exactly OpenCV's (its 14-bit fixed point); the Lab merge within 1 level on photographs with
their own chroma and within 2 where colours are strong, because OpenCV takes float Lab's L from an
interpolated table and this from the formula. The pipeline uses them where the model runs on a GPU
and keeps OpenCV on the CPU, where it is the reference and as fast.
"""
from __future__ import annotations

import torch

# OpenCV's RGB↔YUV for 8-bit images (color_yuv): BT.601 luma, U = 0.492 (B − Y), V = 0.877 (R − Y),
# offset 128, and back; its coefficients in 14-bit fixed point.
_YUV_SHIFT = 14
_R2Y, _G2Y, _B2Y = 4899, 9617, 1868
_B2U, _R2V = 8061, 14369
_U2B, _U2G, _V2G, _V2R = 33292, -6472, -9519, 18678

# OpenCV's float Lab (color_lab: sRGB primaries, D65 white, CIE thresholds as OpenCV writes them).
_RGB_TO_Y = (0.212671, 0.715160, 0.072169)
_XYZ_TO_RGB = ((3.240479, -1.53715, -0.498535), (-0.969256, 1.875991, 0.041556), (0.055648, -0.204043, 1.057311))
_WHITE = (0.950456, 1.0, 1.088754)
_LAB_THRESHOLD = 0.008856
_LAB_SLOPE = 7.787
_L_SLOPE = 903.3


def pil_grey(rgb: torch.Tensor) -> torch.Tensor:
    """Pillow's ``convert("L")`` of a 3×H×W uint8 tensor: (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16, exactly."""
    r, g, b = rgb.to(torch.int32).unbind(0)
    return ((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16).to(torch.uint8)


def _descale(x: torch.Tensor) -> torch.Tensor:
    # OpenCV's CV_DESCALE at its YUV shift (14 bits): add half, shift right (floor for negatives too).
    return (x + (1 << (_YUV_SHIFT - 1))) >> _YUV_SHIFT


def keep_luminance(original: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """DeOldify's merge: Y of ``original`` with U, V of ``colour`` (3×H×W uint8 RGB, same size, same
    device), back to RGB, in OpenCV's 14-bit fixed point with its rounding at every step."""
    r, g, b = original.to(torch.int32).unbind(0)
    y = _descale(r * _R2Y + g * _G2Y + b * _B2Y)
    cr, cg, cb = colour.to(torch.int32).unbind(0)
    colour_y = _descale(cr * _R2Y + cg * _G2Y + cb * _B2Y)
    u = _descale((cb - colour_y) * _B2U + (128 << _YUV_SHIFT)).clamp_(0, 255) - 128
    v = _descale((cr - colour_y) * _R2V + (128 << _YUV_SHIFT)).clamp_(0, 255) - 128
    rgb = torch.stack([y + _descale(v * _V2R), y + _descale(u * _U2G + v * _V2G), y + _descale(u * _U2B)])
    return rgb.clamp_(0, 255).to(torch.uint8)


def _srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4)


def _linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(0) ** (1 / 2.4) - 0.055)


def lab_lightness(rgb: torch.Tensor) -> torch.Tensor:
    """OpenCV's float Lab L (0–100) of a 3×H×W float RGB tensor in [0, 1]."""
    linear = _srgb_to_linear(rgb)
    y = _RGB_TO_Y[0] * linear[0] + _RGB_TO_Y[1] * linear[1] + _RGB_TO_Y[2] * linear[2]
    return torch.where(y > _LAB_THRESHOLD, 116.0 * y.clamp_min(0) ** (1 / 3) - 16.0, _L_SLOPE * y)


def lab_to_rgb(lightness: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """OpenCV's float Lab → RGB in [0, 1] (clipped before the sRGB curve, as OpenCV does): 3×H×W."""
    low = lightness <= _LAB_THRESHOLD * _L_SLOPE
    y = torch.where(low, lightness / _L_SLOPE, ((lightness + 16.0) / 116.0) ** 3)
    fy = torch.where(low, _LAB_SLOPE * y + 16.0 / 116.0, (lightness + 16.0) / 116.0)
    f_threshold = _LAB_SLOPE * _LAB_THRESHOLD + 16.0 / 116.0

    def inverse(f: torch.Tensor) -> torch.Tensor:
        return torch.where(f <= f_threshold, (f - 16.0 / 116.0) / _LAB_SLOPE, f ** 3)

    xyz = (inverse(a / 500.0 + fy) * _WHITE[0], y, inverse(fy - b / 200.0) * _WHITE[2])
    rgb = torch.stack([sum(row[j] * xyz[j] for j in range(3)) for row in _XYZ_TO_RGB])
    return _linear_to_srgb(rgb.clamp_(0, 1))


def lab_merge(rgb: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """DDColor's merge: the L of ``rgb`` (3×H×W uint8) with ``ab`` (2×h×w, Lab units) stretched to H×W
    by PyTorch's nearest, back to 8-bit RGB rounded half to even like NumPy's ``round``."""
    height, width = rgb.shape[-2:]
    # As the host path: the photo divided in float64 then held as float32, like the reference's imread / 255.
    photo = (rgb.to(torch.float64) / 255.0).to(torch.float32)
    stretched = torch.nn.functional.interpolate(ab.unsqueeze(0).to(torch.float32), size=(height, width))[0]
    out = lab_to_rgb(lab_lightness(photo), stretched[0], stretched[1])
    return (out * 255.0).round_().clamp_(0, 255).to(torch.uint8)
