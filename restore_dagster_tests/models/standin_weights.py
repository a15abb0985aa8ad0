"""Deterministic stand-in weights for the DeOldify checkpoints (the reference fixtures' rule).

The official checkpoints cannot be downloaded in tests, so the reference outputs were produced
with weights that depend only on each state_dict key's name and shape (see the fixtures'
README). This module re-implements that rule; tests check it against the per-tensor SHA-256
digests shipped with the fixtures before trusting any output comparison made with it.

The arithmetic (operation order, float scalars, generator draws) must match the rule exactly:
the digests are of the raw tensor bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path

import torch

Manifest = dict[str, tuple[list[int], str]]


def load_manifest(path: Path) -> Manifest:
    """``{key: (shape, dtype name)}`` in checkpoint order."""
    with open(path, encoding="utf-8") as handle:
        return {key: (shape, dtype) for key, (shape, dtype) in json.load(handle).items()}


def _rng(name: str) -> torch.Generator:
    """A generator seeded by the first 8 bytes (little-endian, top bit cleared) of sha256(name)."""
    digest = hashlib.sha256(name.encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def _lecun_normal(shape: list[int], name: str) -> torch.Tensor:
    fan_in = max(math.prod(shape[1:]), 1)
    return torch.randn(shape, generator=_rng(name)) * (1.0 / fan_in) ** 0.5


@functools.lru_cache(maxsize=4)  # u and v of a layer come from one iteration: compute it once
def _spectral_vectors(weight_shape: tuple[int, ...], layer_prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """u, v after 10 power iterations on the layer's stand-in ``weight_orig``, from a seeded v."""
    matrix = _lecun_normal(list(weight_shape), layer_prefix + "weight_orig")
    return power_iteration(matrix, layer_prefix)


def power_iteration(weight: torch.Tensor, layer_prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The rule's ten power-iteration steps on ``weight`` from the seeded start vector, in its dtype."""
    matrix = weight.reshape(weight.shape[0], -1)
    v = torch.randn(matrix.shape[1], generator=_rng(layer_prefix + "#v")).to(matrix.dtype)
    v = v / v.norm()
    for _ in range(10):
        u = matrix @ v
        u = u / u.norm()
        v = matrix.t() @ u
        v = v / v.norm()
    return u, v


def batchnorm_standin(key: str, manifest: Manifest) -> torch.Tensor | None:
    """The rule every fixture shares for batch-norm entries (near identity), or None for other keys."""
    shape = manifest[key][0]
    prefix, _, name = key.rpartition(".")
    batchnorm = f"{prefix}.running_mean" in manifest if prefix else "running_mean" in manifest
    if name == "num_batches_tracked":
        return torch.zeros(shape, dtype=torch.int64)
    if name == "running_mean":
        return 0.05 * torch.randn(shape, generator=_rng(key))
    if name == "running_var":
        return 1.0 + 0.1 * torch.rand(shape, generator=_rng(key))
    if batchnorm and name == "weight":
        return 1.0 + 0.1 * torch.randn(shape, generator=_rng(key))
    if batchnorm and name == "bias":
        return 0.1 * torch.randn(shape, generator=_rng(key))
    return None


def standin_tensor(key: str, manifest: Manifest) -> torch.Tensor:
    """The stand-in value of one checkpoint entry."""
    shape, dtype = manifest[key]
    prefix, _, name = key.rpartition(".")
    prefix = prefix + "." if prefix else ""
    spectral = (prefix + "weight_orig") in manifest

    value = batchnorm_standin(key, manifest)
    if value is not None:
        return value.reshape(shape).to(getattr(torch, dtype))
    if name == "weight_orig":
        value = _lecun_normal(shape, key)
    elif spectral and name in ("weight_u", "weight_v"):
        u, v = _spectral_vectors(tuple(manifest[prefix + "weight_orig"][0]), prefix)
        value = u if name == "weight_u" else v
    elif name == "weight_v":  # weight-norm direction
        value = _lecun_normal(shape, key)
    elif name == "weight_g":  # weight-norm gain: the norm of each output channel's direction
        direction = _lecun_normal(manifest[prefix + "weight_v"][0], prefix + "weight_v")
        value = direction.reshape(direction.shape[0], -1).norm(dim=1)
    elif name == "gamma":
        value = torch.full(shape, 0.5)
    elif name == "bias":
        value = 0.01 * torch.randn(shape, generator=_rng(key))
    elif len(shape) >= 2:
        value = _lecun_normal(shape, key)
    else:
        raise ValueError(f"no stand-in rule for checkpoint key {key!r} with shape {shape}")
    return value.reshape(shape).to(getattr(torch, dtype))


def standin_state_dict(manifest: Manifest) -> dict[str, torch.Tensor]:
    """The whole stand-in state_dict, in manifest order."""
    return {key: standin_tensor(key, manifest) for key in manifest}


def tensor_digest(tensor: torch.Tensor) -> str:
    """First 16 hex digits of the SHA-256 of the tensor's contiguous bytes (the fixtures' digest)."""
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()[:16]
