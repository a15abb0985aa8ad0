"""Deterministic stand-in weights for the DDColor checkpoints (the reference fixtures' rule).

The official checkpoints cannot be downloaded in tests, so the reference outputs in fixtures/ddcolor
were produced with weights that depend only on each key's name and shape (the fixtures' README,
"The stand-in weights rule"). Unlike DeOldify's rule every draw is float64 (torch's float32 normal
sampler differs between its AVX2/AVX-512 and scalar kernels), rounded to float32 once at the end;
tests check each tensor against the SHA-256 digests shipped with the fixtures before trusting any
output comparison made with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from restore_dagster_tests.models.standin_weights import Manifest, _rng, load_manifest, tensor_digest

__all__ = ["FIXTURES", "Manifest", "ddcolor_manifest", "ddcolor_standin", "tensor_digest"]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ddcolor"
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
EMBEDDINGS = ("query_feat", "query_embed", "level_embed")
# The last colour-embedding layer is scaled so that the stand-in's ab spread is a few Lab units
# (spectral norm caps every decoder conv at gain 1; without it the pipeline image came out grey).
COLOR_EMBED_GAIN = 256.0


def ddcolor_manifest(variant: str) -> Manifest:
    return load_manifest(FIXTURES / f"manifest_{variant}.json")


def _normal(shape: list[int], seed: str) -> torch.Tensor:
    return torch.randn(shape, generator=_rng(seed), dtype=torch.float64)


def _lecun(shape: list[int], key: str) -> torch.Tensor:
    return _normal(shape, key) * (1.0 / max(math.prod(shape[1:]), 1)) ** 0.5


def _spectral_vectors(weight: torch.Tensor, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten power iterations on ``weight`` (float64) from the seeded start vector."""
    matrix = weight.reshape(weight.shape[0], -1)
    v = _normal([matrix.shape[1]], prefix + "#v")
    v = v / v.norm()
    for _ in range(10):
        u = matrix @ v
        u = u / u.norm()
        v = matrix.t() @ u
        v = v / v.norm()
    return u, v


def _value(key: str, manifest: Manifest, spectral: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    shape, _ = manifest[key]
    prefix, _, name = key.rpartition(".")
    prefix = prefix + "." if prefix else ""
    module = prefix[:-1].rpartition(".")[2]
    sibling_weight = manifest.get(prefix + "weight")
    if key in IMAGENET:
        return torch.tensor(IMAGENET[key], dtype=torch.float64)
    if name == "running_mean":
        return 0.05 * _normal(shape, key)
    if name == "running_var":
        return 1.0 + 0.1 * torch.rand(shape, generator=_rng(key), dtype=torch.float64)
    if name in ("weight_u", "weight_v") and prefix + "weight_orig" in manifest:
        if prefix not in spectral:  # u and v come from one iteration: compute it once
            weight_shape, weight_dtype = manifest[prefix + "weight_orig"]
            weight = _lecun(weight_shape, prefix + "weight_orig").to(getattr(torch, weight_dtype)).double()
            spectral.clear()
            spectral[prefix] = _spectral_vectors(weight, prefix)
        return spectral[prefix][0 if name == "weight_u" else 1]
    if name == "gamma":
        return 0.1 + 0.01 * _normal(shape, key)
    if name == "weight" and module in EMBEDDINGS:
        return _normal(shape, key)
    if name == "weight" and len(shape) == 1:
        return 1.0 + 0.1 * _normal(shape, key)
    if name == "bias" and sibling_weight is not None and len(sibling_weight[0]) == 1:
        return 0.1 * _normal(shape, key)
    if name in ("bias", "in_proj_bias"):
        return 0.01 * _normal(shape, key)
    if len(shape) >= 2:
        return _lecun(shape, key)
    raise ValueError(f"no stand-in rule for DDColor key {key!r} with shape {shape}")


def ddcolor_standin(manifest: Manifest) -> dict[str, torch.Tensor]:
    """The whole stand-in state_dict, in manifest order."""
    spectral: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    state = {}
    for key, (shape, dtype) in manifest.items():
        if key.rpartition(".")[2] == "num_batches_tracked":
            state[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        value = _value(key, manifest, spectral)
        if key.endswith(("color_embed.layers.2.weight", "color_embed.layers.2.bias")):
            value = value * COLOR_EMBED_GAIN
        state[key] = value.reshape(shape).to(getattr(torch, dtype))
    return state
