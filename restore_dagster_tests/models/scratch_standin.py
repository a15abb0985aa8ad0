"""Stand-in weights for BOPBTL's scratch-detection UNet, and a checkpoint file shaped like the official one.

The rule is the fixtures' (fixtures/scratch_detection/README.md, "Stand-in weights"): the DeOldify
stand-ins' key-seeded draws (standin_weights._rng); convolutions He-scaled for LeakyReLU(0.2),
biases 0.01·randn except the output bias 0.6, near-identity batch norms, and the blur buffers
``filt`` the fixed [1, 2, 1]⊗[1, 2, 1]/16. Tests compare the tensors' bytes with the fixtures'
SHA-256 digests before trusting any output made with them.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .standin_weights import Manifest, _rng, batchnorm_standin, load_manifest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scratch_detection"
GAIN = (2.0 / (1.0 + 0.2**2)) ** 0.5
LAST_BIAS = 0.6


def scratch_manifest() -> Manifest:
    return load_manifest(FIXTURES / "manifest.json")


def scratch_standin_tensor(key: str, manifest: Manifest) -> torch.Tensor:
    shape, dtype = manifest[key]
    name = key.rpartition(".")[2]
    value = batchnorm_standin(key, manifest)
    if value is not None:
        return value.reshape(shape).to(getattr(torch, dtype))
    if name == "filt":
        taps = torch.tensor([1.0, 2.0, 1.0])
        blur = taps[:, None] * taps[None, :]
        value = (blur / blur.sum())[None, None].repeat(shape[0], 1, 1, 1)
    elif key == "last.1.bias":
        value = torch.full(shape, LAST_BIAS)
    elif name == "bias":
        value = 0.01 * torch.randn(shape, generator=_rng(key))
    elif len(shape) >= 2:
        value = torch.randn(shape, generator=_rng(key)) * (GAIN / max(math.prod(shape[1:]), 1) ** 0.5)
    else:
        raise ValueError(f"no stand-in rule for {key} {shape}")
    return value.reshape(shape).to(getattr(torch, dtype))


def scratch_standin_state_dict() -> dict[str, torch.Tensor]:
    manifest = scratch_manifest()
    return {key: scratch_standin_tensor(key, manifest) for key in manifest}


def write_scratch_checkpoint(path: Path, **extra) -> Path:
    """``{"model_state": stand-in state_dict, "epoch": ...}`` saved with torch.save like the training script."""
    torch.save({"model_state": scratch_standin_state_dict(), "epoch": 0, **extra}, path)
    return path
