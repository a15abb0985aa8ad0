"""DeOldify generators: checkpoint layout, safe loading, and outputs equal to DeOldify's own.

The reference outputs in fixtures/deoldify were produced by DeOldify's code (fastai v1) with
deterministic stand-in weights (see standin_weights.py); the official checkpoints cannot be
downloaded in tests. Stand-in weights have the official shapes, so every layer is exercised.
"""

from __future__ import annotations

import json
import pathlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from restore_dagster.models.deoldify import CheckpointError, build_generator, colorize, load_generator
from restore_dagster.models.deoldify_layers import InferenceConv2d, as_inference_conv, blur_top_left

from .standin_weights import load_manifest, power_iteration, standin_state_dict, tensor_digest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "deoldify"
KINDS = ("artistic", "stable")


def _manifest(kind: str):
    return load_manifest(FIXTURES / f"manifest_{kind}.json")


@pytest.fixture(scope="module")
def standin():
    """Stand-in state_dicts, built once per session and kind (resnet101's takes seconds)."""
    cache: dict[str, dict[str, torch.Tensor]] = {}

    def get(kind: str) -> dict[str, torch.Tensor]:
        if kind not in cache:
            cache[kind] = standin_state_dict(_manifest(kind))
        return cache[kind]

    return get


@pytest.fixture(scope="module")
def official_format_file(standin, tmp_path_factory):
    """The stand-in weights saved like the official files: a bare state_dict, legacy pickle format."""
    folder = tmp_path_factory.mktemp("deoldify_weights")
    paths: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in paths:
            paths[kind] = folder / f"{kind}_legacy_bare.pth"
            torch.save(standin(kind), paths[kind], _use_new_zipfile_serialization=False)
        return paths[kind]

    return get


@pytest.fixture(scope="module")
def generator(official_format_file):
    """load_generator() on the official-format stand-in file, once per kind."""
    cache: dict[str, torch.nn.Module] = {}

    def get(kind: str) -> torch.nn.Module:
        if kind not in cache:
            cache[kind] = load_generator(kind, official_format_file(kind), device="cpu")
        return cache[kind]

    return get


# --- checkpoint layout ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_matches_official_checkpoint_layout(kind):
    manifest = _manifest(kind)
    state = build_generator(kind).state_dict()
    assert list(state) == list(manifest)  # same keys, same order
    for key, tensor in state.items():
        shape, dtype = manifest[key]
        assert list(tensor.shape) == shape, key
        assert str(tensor.dtype) == f"torch.{dtype}", key


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown DeOldify generator 'vivid'"):
        build_generator("vivid")


def _is_spectral_vector(key: str, state: dict) -> bool:
    prefix, _, name = key.rpartition(".")
    return name in ("weight_u", "weight_v") and f"{prefix}.weight_orig" in state


@pytest.mark.parametrize("kind", KINDS)
def test_standin_rule_reproduces_fixture_digests(kind, standin):
    """Every tensor made by generator draws and elementwise arithmetic has the fixture's exact bytes.

    The spectral-norm vectors are the exception: ten float32 matrix-vector products whose last bits
    depend on the CPU's BLAS kernel (on a Sapphire Rapids CPU they differ from the fixtures' for every
    MKL_CBWR branch and thread count tried), so bytes cannot be the test there; the next test checks
    them by value.
    """
    expected = json.loads((FIXTURES / f"weights_sha256_{kind}.json").read_text())
    state = standin(kind)
    assert list(state) == list(expected)
    exact = [key for key in state if not _is_spectral_vector(key, state)]
    assert len(exact) > 0.8 * len(state)  # the spectral vectors are a small part of the checkpoint
    wrong = [key for key in exact if tensor_digest(state[key]) != expected[key]]
    assert wrong == []


@pytest.mark.parametrize("kind", KINDS)
def test_standin_spectral_vectors_are_the_rules_power_iteration(kind, standin):
    """u and v equal the rule's power iteration (its seeds, order and ten steps) done in float64,
    to float32 rounding; the generators' outputs are then held to the reference's within 2e-6."""
    state = standin(kind)
    layers = [key[: -len("weight_u")] for key in state if key.endswith("weight_u") and _is_spectral_vector(key, state)]
    assert layers
    for prefix in layers:
        u, v = power_iteration(state[prefix + "weight_orig"].double(), prefix)
        assert torch.allclose(state[prefix + "weight_u"].double(), u, atol=1e-5, rtol=0), prefix
        assert torch.allclose(state[prefix + "weight_v"].double(), v, atol=1e-5, rtol=0), prefix


# --- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("zip_format", "under_model"), [(True, False), (True, True), (False, True)],
                         ids=["zip-bare", "zip-model", "legacy-model"])
def test_load_accepts_every_checkpoint_format(kind, zip_format, under_model, standin, generator, tmp_path):
    """The fourth format, legacy and bare (the official files'), is what `generator` loads."""
    payload = {"model": standin(kind), "opt": {"lr": 1e-3}} if under_model else standin(kind)
    path = tmp_path / "weights.pth"
    torch.save(payload, path, _use_new_zipfile_serialization=zip_format)
    loaded = load_generator(kind, path, device="cpu")
    path.unlink()
    assert not loaded.training
    reference = generator(kind)
    for (name, ours), (_, theirs) in zip(loaded.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs), name


def test_load_returns_eval_float32_module_without_gradients(generator):
    model = generator("artistic")
    assert not model.training
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in model.parameters())


def test_load_refuses_a_state_dict_that_does_not_match(standin, tmp_path):
    state = dict(standin("artistic"))
    del state["layers.11.0.bias"]
    state["layers.99.weight"] = torch.zeros(1)
    state["layers.1.weight"] = torch.zeros(7)
    path = tmp_path / "mismatched.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as error:
        load_generator("artistic", path, device="cpu")
    message = str(error.value)
    assert str(path) in message
    assert "1 missing: layers.11.0.bias" in message
    assert "1 unexpected: layers.99.weight" in message
    assert "layers.1.weight [7] (expected [512])" in message


def test_load_refuses_weights_of_the_other_generator(official_format_file):
    path = official_format_file("artistic")
    with pytest.raises(CheckpointError, match=r"not a DeOldify 'stable' generator checkpoint: \d+ missing"):
        load_generator("stable", path, device="cpu")


class _RunsCodeWhenUnpickled:
    """Unpickling this calls Path.touch(marker): what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_load_refuses_a_pickle_that_calls_code(zip_format, tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "malicious.pth"
    torch.save({"layers.1.weight": torch.zeros(1), "payload": _RunsCodeWhenUnpickled(marker)}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(CheckpointError, match="refused to load") as error:
        load_generator("artistic", path, device="cpu")
    assert str(path) in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_load_reports_a_truncated_file(zip_format, tmp_path):
    path = tmp_path / "truncated.pth"
    torch.save({"layers.1.weight": torch.zeros(1000)}, path, _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match="unreadable checkpoint") as error:
        load_generator("artistic", path, device="cpu")
    assert str(path) in str(error.value)


def test_load_reports_a_missing_file(tmp_path):
    path = tmp_path / "absent.pth"
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        load_generator("artistic", path)


def test_load_refuses_a_file_without_a_state_dict(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError, match="does not hold a state_dict"):
        load_generator("artistic", path)


# --- outputs equal to DeOldify's --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_raw_output_matches_reference(kind, generator):
    x = torch.from_numpy(np.load(FIXTURES / "raw_in.npy"))
    expected = np.load(FIXTURES / f"raw_out_{kind}.npy")
    with torch.inference_mode():
        out = generator(kind)(x).numpy()
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_unfolded_generator_matches_reference(kind, standin):
    """build_generator + load_state_dict: the checkpoint's own parametrisation, nothing folded."""
    model = build_generator(kind)
    model.load_state_dict(standin(kind), strict=True)
    model.eval()
    x = torch.from_numpy(np.load(FIXTURES / "raw_in.npy"))
    with torch.inference_mode():
        out = model(x).numpy()
    assert np.abs(out - np.load(FIXTURES / f"raw_out_{kind}.npy")).max() <= 1e-4


def test_banded_tail_equals_a_single_band(generator):
    model = generator("artistic")
    x = torch.randn(1, 3, 96, 64, generator=torch.Generator().manual_seed(0))
    try:
        with torch.inference_mode():
            model.tail_band_rows = 1000
            whole = model(x)
            for rows in (1, 3, 7, 40):
                model.tail_band_rows = rows
                assert (model(x) - whole).abs().max() <= 1e-5, rows
    finally:
        model.tail_band_rows = None


@pytest.mark.parametrize("kind", KINDS)
def test_colorize_matches_deoldify_pipeline(kind, generator):
    image = Image.open(FIXTURES / "input_gray.png")
    out = colorize(image, generator(kind), render_factor=8)
    expected = np.asarray(Image.open(FIXTURES / f"pipeline_rf8_{kind}.png").convert("RGB")).astype(int)
    assert out.mode == "RGB" and out.size == image.size
    diff = np.abs(np.asarray(out).astype(int) - expected)
    assert diff.max() <= 2
    assert diff.mean() <= 0.5


# --- colorize input checks ----------------------------------------------------------------------


def test_colorize_keeps_size_of_a_single_pixel(generator):
    out = colorize(Image.new("L", (1, 1), 128), generator("artistic"), render_factor=7)
    assert out.mode == "RGB" and out.size == (1, 1)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (0, 0)])
def test_colorize_refuses_an_empty_image(size, generator):
    with pytest.raises(ValueError, match="empty image"):
        colorize(Image.new("L", size), generator("artistic"))


@pytest.mark.parametrize("render_factor", [6, 65, 0, -35, 8.0, True, "35"])
def test_colorize_refuses_a_bad_render_factor(render_factor, generator):
    with pytest.raises(ValueError, match="render_factor must be an integer from 7 to 64"):
        colorize(Image.new("L", (8, 8)), generator("artistic"), render_factor=render_factor)


def test_generator_refuses_odd_sizes(generator):
    with pytest.raises(ValueError, match="even height and width"):
        generator("artistic")(torch.zeros(1, 3, 33, 32))


# --- the fast CPU kernels ------------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "padding", "size"), [(3, 1, 40), (3, 1, 8), (1, 0, 20), (3, 0, 40)])
def test_inference_conv_matches_conv2d(kernel, padding, size):
    rng = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(24, 40, kernel, padding=padding)
    x = torch.randn(2, 24, size, size + 6, generator=rng)
    fast = as_inference_conv(conv)
    assert isinstance(fast, InferenceConv2d) and fast.weight is conv.weight
    with torch.no_grad():
        expected = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=padding)
        for batch in (x[:1], x):
            out = fast(batch)
            assert out.shape == expected[: len(batch)].shape
            assert (out.double() - expected[: len(batch)]).abs().max() <= 1e-4


def test_blur_matches_replication_pad_and_average_pool():
    x = torch.rand(2, 5, 9, 7, generator=torch.Generator().manual_seed(2))
    expected = F.avg_pool2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), 2, stride=1)
    assert (blur_top_left(x.clone()) - expected).abs().max() <= 1e-6


def test_inference_conv_keeps_gradients():
    conv = as_inference_conv(torch.nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(1, 8, 40, 40, requires_grad=True)
    conv(x).sum().backward()
    assert x.grad is not None and conv.weight.grad is not None


def test_inference_conv_falls_back_when_nnpack_fails(monkeypatch):
    from restore_dagster.models import deoldify_layers

    def broken(*args):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(deoldify_layers, "_nnpack", {"usable": True})
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", broken)
    conv = as_inference_conv(torch.nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(1, 8, 40, 40)
    with pytest.warns(RuntimeWarning, match="NNPACK convolution failed"), torch.no_grad():
        out = conv(x)
    assert (out - F.conv2d(x, conv.weight, conv.bias, padding=1)).abs().max() <= 1e-5
    assert deoldify_layers._nnpack["usable"] is False
