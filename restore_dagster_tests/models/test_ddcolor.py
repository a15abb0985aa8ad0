"""DDColor large and tiny: checkpoint layout, strict and safe loading, outputs equal to DDColor's own.

The reference outputs in fixtures/ddcolor were produced by piddnad/DDColor's own code (2adb63f) with
deterministic stand-in weights (ddcolor_standin.py; the official checkpoints cannot be downloaded in
tests). They have the official shapes, so every layer is exercised. Tolerances are the fixtures'
README's: the reference itself moves by up to 1.4e-4 on another CPU kernel; 1 level on the PNGs.

The stand-ins are built once per module (about 15 s tiny, 45 s large on 2 cores); only tiny is
written to disk (220 MB), the large one is loaded from memory through the same checks.
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

from restore_dagster.models import ddcolor as dd
from restore_dagster.models.ddcolor import (
    UNUSED_KEYS,
    CheckpointError,
    DDColor,
    colorize_ddcolor,
    ddcolor_from_state_dict,
    load_ddcolor,
    model_input,
)

from .ddcolor_standin import FIXTURES, ddcolor_manifest, ddcolor_standin, tensor_digest

VARIANTS = ("large", "tiny")
RAW_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def standin():
    """Stand-in state_dicts, built once per module and variant."""
    cache: dict[str, dict[str, torch.Tensor]] = {}

    def get(variant: str) -> dict[str, torch.Tensor]:
        if variant not in cache:
            cache[variant] = ddcolor_standin(ddcolor_manifest(variant))
        return cache[variant]

    return get


@pytest.fixture(scope="module")
def model(standin):
    """The inference model for each variant, built from the stand-in state_dict once."""
    cache: dict[str, torch.nn.Module] = {}

    def get(variant: str) -> torch.nn.Module:
        if variant not in cache:
            cache[variant] = ddcolor_from_state_dict(variant, dict(standin(variant)), device="cpu")
        return cache[variant]

    return get


@pytest.fixture(scope="module")
def tiny_official_file(standin, tmp_path_factory):
    """The tiny stand-in saved as the official files are: ``{"params": sd}``, with the old classifier keys."""
    path = tmp_path_factory.mktemp("ddcolor_weights") / "ddcolor_paper_tiny.pth"
    state = dict(standin("tiny"))
    state["encoder.arch.head_cls.weight"] = torch.zeros(4, 768)
    state["encoder.arch.head_cls.bias"] = torch.zeros(4)
    torch.save({"params": state}, path)
    return path


def _grey_bgr() -> np.ndarray:
    rgb = np.asarray(Image.open(FIXTURES / "input_gray.png").convert("RGB"))
    return (rgb[..., ::-1] / 255.0).astype(np.float32)


# --- checkpoint layout and stand-ins ------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_state_dict_matches_official_checkpoint_layout(variant):
    manifest = ddcolor_manifest(variant)
    with torch.device("meta"):
        state = DDColor(variant).state_dict()
    assert list(state) == list(manifest)  # same keys, in the training code's order
    for key, tensor in state.items():
        shape, dtype = manifest[key]
        assert list(tensor.shape) == shape, key
        assert str(tensor.dtype) == f"torch.{dtype}", key


@pytest.mark.parametrize("variant", VARIANTS)
def test_standin_rule_reproduces_fixture_digests(variant, standin):
    """Every tensor, spectral-norm vectors included (float64 power iteration), has the fixture's bytes."""
    expected = json.loads((FIXTURES / f"weights_sha256_{variant}.json").read_text())
    state = standin(variant)
    assert list(state) == list(expected)
    assert [key for key in state if tensor_digest(state[key]) != expected[key]] == []


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown DDColor variant 'huge'"):
        DDColor("huge")
    with pytest.raises(ValueError, match="unknown DDColor variant 'huge'"):
        load_ddcolor("huge", tmp_path / "any.pth")


# --- outputs equal to DDColor's ------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", ["", "_64x96"], ids=["128x128", "64x96"])
def test_raw_output_matches_reference(variant, size, model):
    x = torch.from_numpy(np.load(FIXTURES / f"raw_in{size}.npy"))
    expected = np.load(FIXTURES / f"raw_out{size}_{variant}.npy")
    with torch.inference_mode():
        out = model(variant)(x).numpy()
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= RAW_TOLERANCE


def test_pipeline_feeds_the_model_the_reference_input():
    """Steps 1-5: the float32 photo stretched to 128², reduced to L and made grey RGB again."""
    x = model_input(_grey_bgr(), 128)
    assert x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy(), np.load(FIXTURES / "raw_in.npy"), rtol=0, atol=1e-6)


def test_pipeline_keeps_the_reference_lightness():
    import cv2

    lightness = cv2.cvtColor(_grey_bgr(), cv2.COLOR_BGR2Lab)[:, :, 0]
    np.testing.assert_allclose(lightness, np.load(FIXTURES / "pipeline_orig_l.npy"), rtol=0, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_colorize_matches_ddcolor_pipeline(variant, model):
    image = Image.open(FIXTURES / "input_gray.png")
    out = colorize_ddcolor(image, model(variant), input_size=128)
    expected = np.asarray(Image.open(FIXTURES / f"pipeline_128_{variant}.png").convert("RGB")).astype(int)
    assert out.mode == "RGB" and out.size == image.size
    diff = np.abs(np.asarray(out).astype(int) - expected)
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.001


def test_lab_conversion_in_bands_equals_one_band(model, monkeypatch):
    image = Image.open(FIXTURES / "input_gray.png")
    whole = np.asarray(colorize_ddcolor(image, model("tiny"), input_size=64))
    monkeypatch.setattr(dd, "_LAB_BAND_ROWS", 7)
    assert np.array_equal(np.asarray(colorize_ddcolor(image, model("tiny"), input_size=64)), whole)


@pytest.mark.parametrize(("source", "target"), [(128, 176), (128, 240), (64, 1), (64, 7), (512, 4000), (96, 96)])
def test_nearest_sources_are_torchs_nearest_resize(source, target):
    values = torch.arange(source, dtype=torch.float32).view(1, 1, 1, source) * 3 + 1
    expected = F.interpolate(values, size=(1, target))[0, 0, 0].numpy()
    assert np.array_equal(values[0, 0, 0].numpy()[dd._nearest_sources(source, target)], expected)


# --- loading ----------------------------------------------------------------------------------


def test_load_reads_the_official_format_and_drops_only_the_old_classifier(tiny_official_file, model):
    loaded = load_ddcolor("tiny", tiny_official_file, device="cpu")
    assert not loaded.training
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in loaded.parameters())
    # Folding a spectral norm divides by a matrix-vector product, whose last bit depends on memory alignment.
    for (name, ours), (_, theirs) in zip(loaded.state_dict().items(), model("tiny").state_dict().items(), strict=True):
        assert torch.allclose(ours, theirs, rtol=1e-6, atol=0), name


def test_load_reads_a_bare_state_dict(standin, tmp_path):
    path = tmp_path / "bare.pth"
    torch.save(standin("tiny"), path)
    x = torch.from_numpy(np.load(FIXTURES / "raw_in_64x96.npy"))
    with torch.inference_mode():
        out = load_ddcolor("tiny", path, device="cpu")(x).numpy()
    assert np.abs(out - np.load(FIXTURES / "raw_out_64x96_tiny.npy")).max() <= RAW_TOLERANCE


def test_load_refuses_a_state_dict_that_does_not_match(standin, tmp_path):
    state = dict(standin("tiny"))
    del state["refine_net.0.0.bias"]
    state["encoder.arch.head.weight"] = torch.zeros(1)  # not one of the two keys that may be dropped
    state["encoder.arch.norm.weight"] = torch.zeros(7)
    path = tmp_path / "mismatched.pth"
    torch.save({"params": state}, path)
    with pytest.raises(CheckpointError) as error:
        load_ddcolor("tiny", path, device="cpu")
    message = str(error.value)
    assert str(path) in message and "not a DDColor 'tiny' checkpoint" in message
    assert "1 missing: refine_net.0.0.bias" in message
    assert "1 unexpected: encoder.arch.head.weight" in message
    assert "encoder.arch.norm.weight [7] (expected [768])" in message


def test_load_refuses_tiny_weights_for_the_large_model(tiny_official_file):
    with pytest.raises(CheckpointError, match=r"not a DDColor 'large' checkpoint: \d+ missing"):
        load_ddcolor("large", tiny_official_file, device="cpu")


def test_only_the_classifier_keys_may_be_dropped():
    assert UNUSED_KEYS == ("encoder.arch.head_cls.weight", "encoder.arch.head_cls.bias")


class _RunsCodeWhenUnpickled:
    """Unpickling this calls Path.touch(marker): what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_load_refuses_a_pickle_that_calls_code(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "malicious.pth"
    torch.save({"params": {"mean": torch.zeros(1, 3, 1, 1)}, "payload": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(CheckpointError, match="refused to load") as error:
        load_ddcolor("tiny", path, device="cpu")
    assert str(path) in str(error.value)
    assert not marker.exists()


def test_load_reports_a_truncated_file(tmp_path):
    path = tmp_path / "truncated.pth"
    torch.save({"params": {"mean": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="unreadable checkpoint") as error:
        load_ddcolor("tiny", path, device="cpu")
    assert str(path) in str(error.value)


def test_load_reports_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.pth: DDColor weights file not found"):
        load_ddcolor("tiny", tmp_path / "absent.pth")


@pytest.mark.parametrize("payload", [torch.zeros(3), {"params": {"a": 1}}, {"params": torch.zeros(2)}, {}],
                         ids=["tensor", "params-not-tensors", "params-a-tensor", "empty"])
def test_load_refuses_a_file_without_a_state_dict(payload, tmp_path):
    path = tmp_path / "odd.pth"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="not a DDColor checkpoint: no dict of tensors"):
        load_ddcolor("tiny", path)


# --- colorize inputs --------------------------------------------------------------------------


def test_colorize_takes_rgb_and_rgba_like_the_reference(model):
    """A colour photo keeps its own L (the reference reads it as BGR); alpha is dropped."""
    rgb = Image.open(FIXTURES / "input_gray.png").convert("RGB")
    rgb = Image.merge("RGB", (rgb.getchannel(0), rgb.getchannel(1).point(lambda v: v // 2), rgb.getchannel(2)))
    out = colorize_ddcolor(rgb, model("tiny"), input_size=64)
    rgba = rgb.copy()
    rgba.putalpha(90)
    assert np.array_equal(np.asarray(colorize_ddcolor(rgba, model("tiny"), input_size=64)), np.asarray(out))
    import cv2

    bgr = (np.asarray(rgb)[..., ::-1] / 255.0).astype(np.float32)
    out_l = cv2.cvtColor((np.asarray(out)[..., ::-1] / 255.0).astype(np.float32), cv2.COLOR_BGR2Lab)[..., 0]
    assert np.abs(out_l - cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)[..., 0]).mean() < 1.0  # the photo's lightness


def test_colorize_keeps_size_of_a_single_pixel(model):
    out = colorize_ddcolor(Image.new("L", (1, 1), 128), model("tiny"), input_size=64)
    assert out.mode == "RGB" and out.size == (1, 1)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (0, 0)])
def test_colorize_refuses_an_empty_image(size, model):
    with pytest.raises(ValueError, match="empty image"):
        colorize_ddcolor(Image.new("L", size), model("tiny"), input_size=64)


@pytest.mark.parametrize("input_size", [0, 32, 100, 2080, 512.0, True, "512"])
def test_colorize_refuses_a_bad_input_size(input_size, model):
    with pytest.raises(ValueError, match="input_size must be a multiple of 32 from 64 to 2048"):
        colorize_ddcolor(Image.new("L", (8, 8)), model("tiny"), input_size=input_size)


def test_model_refuses_sizes_off_the_stride_and_other_channel_counts(model):
    with pytest.raises(ValueError, match="multiples of 32"):
        model("tiny")(torch.zeros(1, 3, 64, 80))
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        model("tiny")(torch.zeros(1, 1, 64, 64))
