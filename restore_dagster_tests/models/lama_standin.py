"""Stand-in weights for LaMa's big-lama generator, and a checkpoint file shaped like the official one.

The rule is the fixtures' (fixtures/lama/README.md, "Stand-in weights"): the same key-seeded draws
as the DeOldify stand-ins (standin_weights._rng), He-scaled (sqrt(2)/sqrt(fan_in)), times 0.25 for
the weights inside the 18 residual blocks. The arithmetic must match exactly: tests compare the
tensors' bytes with the fixtures' SHA-256 digests before trusting any output made with them.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .standin_weights import Manifest, _rng, batchnorm_standin, load_manifest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lama"
GAIN = 2.0**0.5
RESBLOCK_SCALE = 0.25
_RESBLOCK = re.compile(r"^generator\.model\.(\d+)\.conv[12]\.")

# Entries a Lightning checkpoint of the training module may also hold (bin/make_checkpoint.py drops
# them by default; whether the released file went through it is unknown): the loader must ignore them.
EXTRA_ENTRIES = {
    "discriminator.model0.0.weight": torch.zeros(64, 3, 4, 4),
    "loss_resnet_pl.impl.conv1.weight": torch.zeros(2, 2, 1, 1),
    "loss_segm.running_mean": torch.zeros(3),
}


def lama_manifest() -> Manifest:
    return load_manifest(FIXTURES / "manifest.json")


def _weight(shape: list[int], key: str) -> torch.Tensor:
    fan_in = 1
    for size in shape[1:]:
        fan_in *= size
    scale = GAIN / max(fan_in, 1) ** 0.5  # a Python float, applied in one multiplication
    match = _RESBLOCK.match(key)
    if match and 5 <= int(match.group(1)) <= 22:
        scale *= RESBLOCK_SCALE
    return torch.randn(shape, generator=_rng(key)) * scale


def lama_standin_tensor(key: str, manifest: Manifest) -> torch.Tensor:
    shape, dtype = manifest[key]
    name = key.rpartition(".")[2]
    value = batchnorm_standin(key, manifest)
    if value is not None:
        return value.reshape(shape).to(getattr(torch, dtype))
    if name == "bias":
        value = 0.01 * torch.randn(shape, generator=_rng(key))
    elif len(shape) >= 2:
        value = _weight(shape, key)
    else:
        raise ValueError(f"no stand-in rule for checkpoint key {key!r} with shape {shape}")
    return value.reshape(shape).to(getattr(torch, dtype))


def lama_standin_state_dict(manifest: Manifest | None = None) -> dict[str, torch.Tensor]:
    """The 989 ``generator.*`` stand-in tensors, keys with the prefix, in checkpoint order."""
    manifest = manifest or lama_manifest()
    return {key: lama_standin_tensor(key, manifest) for key in manifest}


def lightning_checkpoint(state_dict: dict[str, torch.Tensor], **extra) -> dict:
    """A dict shaped like PyTorch Lightning's checkpoint of LaMa's training module."""
    return {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": "1.2.9",
        "state_dict": {**state_dict, **EXTRA_ENTRIES},
        **extra,
    }


def write_lightning_checkpoint(path: Path, state_dict: dict[str, torch.Tensor] | None = None, **extra) -> Path:
    torch.save(lightning_checkpoint(lama_standin_state_dict() if state_dict is None else state_dict, **extra), path)
    return path
