"""LaMa's "big-lama" inpainting generator in plain PyTorch: build, load the official checkpoint, inpaint.

Reference: advimman/lama (commit 786f593), ``saicinpainting/training/modules/ffc.py`` and
``bin/predict.py`` with ``configs/prediction/default.yaml`` (see the fixtures' README for every step).
The generator maps ``[N, 4, H, W]`` (RGB with the holes blanked, then the mask) to ``[N, 3, H, W]``
after a sigmoid; H and W must be multiples of 8. :func:`inpaint` is the reference pipeline, run
over crops around the holes so that any scan size needs bounded memory (see lama_crops.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch import nn

from .device import resolve_device
from .lama_crops import DEFAULT_CONTEXT, DEFAULT_CPU_WORK_PIXELS, DEFAULT_CROP_PIXELS, plan
from .lama_layers import FFC_BN_ACT, ConcatTupleLayer, FFCResnetBlock, fold_batchnorms
from .checkpoints import CheckpointError, check_state_dict, read_state_dict  # CheckpointError: re-exported for callers

PREFIX = "generator."
MODULO = 8  # three stride-2 downsamplings


class FFCResNetGenerator(nn.Module):
    """big-lama's generator: ``model`` holds the reference's 36 layers at the checkpoint's indices."""

    def __init__(self, ngf: int = 64, n_blocks: int = 18, ratio: float = 0.75):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), FFC_BN_ACT(4, ngf, 7, 0, 0)]
        for i in range(3):  # downsampling; the last one splits into local and global channels
            channels = ngf * 2**i
            layers.append(FFC_BN_ACT(channels, channels * 2, 3, 0, ratio if i == 2 else 0, stride=2, padding=1))
        features = ngf * 8
        layers += [FFCResnetBlock(features, ratio) for _ in range(n_blocks)]
        layers.append(ConcatTupleLayer())
        for i in range(3):
            channels = features // 2**i
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Sigmoid()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 4:
            raise ValueError(f"big-lama expects [N, 4, H, W] input, got {list(x.shape)}")
        if x.shape[-2] % MODULO or x.shape[-1] % MODULO:
            raise ValueError(f"big-lama needs height and width that are multiples of 8, got {list(x.shape[-2:])}")
        return self.model(x)


def load_inpainter(weights_path: str | os.PathLike, device: str | torch.device | None = None) -> FFCResNetGenerator:
    """The generator from big-lama's ``best.ckpt`` (a PyTorch Lightning checkpoint), ready for inference.

    Eval mode, no gradients, batch norms folded (see :func:`prepare_for_inference`), on ``device``
    (default: CUDA, else MPS, else CPU).

    Only ``checkpoint["state_dict"]`` entries under ``generator.`` are used, all of them required
    with the right shapes (the reference loads with ``strict=False`` and would silently keep random
    weights); the others (discriminator, losses) are ignored, as the reference does. The file is
    read by :mod:`.safe_checkpoint`: classes it pickles beside the tensors (Lightning callbacks,
    OmegaConf configs) are read as inert placeholders and never run; a pickle naming code is refused.
    """
    path = Path(weights_path)
    state = read_state_dict(path, under="state_dict", what="LaMa")
    generator_state = {key[len(PREFIX):]: value for key, value in state.items()
                       if isinstance(key, str) and key.startswith(PREFIX)}
    del state
    with torch.device("meta"):
        model = FFCResNetGenerator()
    check_state_dict(model.state_dict(), generator_state, path, "big-lama generator", shown_prefix=PREFIX)
    model.load_state_dict(generator_state, strict=True, assign=True)
    del generator_state
    prepare_for_inference(model.eval())
    return model.to(resolve_device(device))


def prepare_for_inference(model: FFCResNetGenerator) -> FFCResNetGenerator:
    """Batch norms folded into the convolutions, no gradients; in place.

    Same outputs to float rounding (the fixtures' raw output moves by < 1e-6); the state_dict no
    longer has the checkpoint's keys. Measured on the 2-core CPU at 384×384: 1.26 s instead of
    1.40 s. (NNPACK's Winograd convolutions, which speed DeOldify up, made LaMa slower there: 2.38 s;
    its 3×3 convolutions run on 1/8-scale maps, where oneDNN's direct convolution wins.)
    """
    return fold_batchnorms(model).requires_grad_(False)


def pad_to_modulo(array: np.ndarray, modulo: int = MODULO) -> np.ndarray:
    """Pad H×W(×C) bottom and right to multiples of ``modulo``, mirroring with the edge repeated.

    ``np.pad(mode="symmetric")`` as the reference's ``pad_img_to_modulo``.
    """
    height, width = array.shape[:2]
    pad = [(0, -height % modulo), (0, -width % modulo)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, mode="symmetric")


def predict(inpainter: nn.Module, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The generator's float32 output (H×W×3, 0..1) for float32 RGB (0..1) and a 0/1 hole map.

    H and W multiples of 8. Input as the reference's ``forward``: cat(image · (1 − mask), mask).
    """
    parameter = next(inpainter.parameters())
    with torch.inference_mode():
        image = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
        mask = torch.from_numpy(hole)[None, None]
        net_in = torch.cat([image * (1 - mask), mask], dim=1)
        del image, mask
        out = inpainter(net_in.to(device=parameter.device, dtype=parameter.dtype))
        return out[0].float().cpu().permute(1, 2, 0).numpy()


_DEVICE_DEFAULT = object()


def inpaint(
    image: Image.Image,
    mask: Image.Image,
    inpainter: nn.Module,
    *,
    progress: Callable[[int, int], None] | None = None,
    crop_pixels: int = DEFAULT_CROP_PIXELS,
    context: int = DEFAULT_CONTEXT,
    work_pixels: int | None | object = _DEVICE_DEFAULT,
) -> Image.Image:
    """Paint out the holes of ``image`` (any ``mask`` value above 0), as LaMa's ``bin/predict.py``.

    Returns RGB of the image's size in which only the hole pixels differ. Each crop planned by
    :func:`~.lama_crops.plan` (the whole padded image when it fits ``crop_pixels``, which is then
    exactly the reference) goes through the reference's steps: float image / 255, holes binarised,
    generator, blend, ``clip(x · 255)`` truncated to uint8. ``work_pixels``: most pixels through the
    network for this image before it is inpainted at a lower resolution (default: 800,000 on the
    CPU, no limit on an accelerator; None: no limit). ``progress(done, total)`` is called per crop.
    """
    if image.size != mask.size:
        raise ValueError(f"mask size {mask.size} differs from the image's {image.size}")
    if image.width == 0 or image.height == 0:
        raise ValueError(f"cannot inpaint an empty image ({image.width}×{image.height} pixels)")
    if work_pixels is _DEVICE_DEFAULT:
        device = next(inpainter.parameters()).device
        work_pixels = DEFAULT_CPU_WORK_PIXELS if device.type == "cpu" else None
    original = np.asarray(image.convert("RGB"))
    hole = np.asarray(mask.convert("L")) > 0
    # The reference pads image and mask (symmetric), then binarises the padded mask: the same thing.
    chosen = plan(hole, crop_pixels=crop_pixels, context=context, work_pixels=work_pixels, modulo=MODULO)
    result = original.copy()
    if chosen.scale == 1.0:
        _run_crops(inpainter, pad_to_modulo(original), chosen, result, progress)
        return Image.fromarray(result)
    # Over the work budget: inpaint a smaller copy, bring its values back for the hole pixels only.
    small = cv2.resize(original, chosen.size, interpolation=cv2.INTER_AREA)
    small_result = small.copy()
    _run_crops(inpainter, pad_to_modulo(small), chosen, small_result, progress)
    filled = cv2.resize(small_result, (original.shape[1], original.shape[0]), interpolation=cv2.INTER_CUBIC)
    result[hole] = filled[hole]
    return Image.fromarray(result)


def _run_crops(inpainter: nn.Module, padded_rgb: np.ndarray, chosen, result: np.ndarray,
               progress: Callable[[int, int], None] | None) -> None:
    """Inpaint each planned crop of ``padded_rgb`` and write its core's hole pixels into ``result``."""
    height, width = result.shape[:2]
    padded_hole = chosen.hole
    crops = chosen.crops
    if progress is not None:
        progress(0, len(crops))
    for done, crop in enumerate(crops, start=1):
        y0, y1, x0, x1 = crop.box
        hole = padded_hole[y0:y1, x0:x1].astype(np.float32)
        rgb = padded_rgb[y0:y1, x0:x1].astype(np.float32) / 255
        predicted = predict(inpainter, rgb, hole)
        # blend = mask · predicted + (1 − mask) · image: the prediction exactly, on hole pixels.
        values = np.clip(predicted * 255, 0, 255).astype(np.uint8)
        cy0, cy1, cx0, cx1 = crop.core
        oy1, ox1 = min(cy1, height), min(cx1, width)  # the core may reach into the padding
        if oy1 > cy0 and ox1 > cx0:
            take = padded_hole[cy0:oy1, cx0:ox1]
            core_values = values[cy0 - y0:oy1 - y0, cx0 - x0:ox1 - x0]
            result[cy0:oy1, cx0:ox1][take] = core_values[take]
        if progress is not None:
            progress(done, len(crops))
