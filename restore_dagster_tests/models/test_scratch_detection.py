"""BOPBTL scratch detection: exact to the reference fixtures with stand-in weights; strict, safe loading."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from restore_dagster.models.checkpoints import CheckpointError
from restore_dagster.models.scratch_detection import (
    ScratchUNet,
    detect_scratches,
    load_detector,
    network_input,
    rounded_probabilities,
    rounded_size,
    scratch_probabilities,
)

from .scratch_standin import FIXTURES, scratch_manifest, scratch_standin_state_dict
from .standin_weights import tensor_digest


@pytest.fixture(scope="module")
def detector(scratch_weights):
    return load_detector(scratch_weights, device="cpu")


def _fixture_image(name: str) -> Image.Image:
    return Image.open(FIXTURES / name)


def test_standin_rule_reproduces_fixture_digests():
    expected = json.loads((FIXTURES / "weights_sha256.json").read_text())
    state = scratch_standin_state_dict()
    assert list(state) == list(expected)
    assert [key for key in state if tensor_digest(state[key]) != expected[key]] == []


def test_module_keys_shapes_and_order_are_the_checkpoints():
    manifest = scratch_manifest()
    assert [(k, list(v.shape)) for k, v in ScratchUNet().state_dict().items()] == [(k, s) for k, (s, _) in manifest.items()]


def test_raw_logits_match_the_reference(detector):
    x = torch.from_numpy(np.load(FIXTURES / "raw_in.npy"))
    with torch.inference_mode():
        out = detector(x).numpy()
    reference = np.load(FIXTURES / "raw_out.npy")
    assert out.shape == reference.shape
    assert np.abs(out - reference).max() < 1e-4


@pytest.mark.parametrize("image, prefix", [("input_scratched.png", "pipeline"), ("input_scratched_odd.png", "pipeline_odd")])
def test_full_size_pipeline_matches_the_reference(detector, image, prefix):
    scan = _fixture_image(image)
    x, size = network_input(scan)
    assert np.abs(x.numpy() - np.load(FIXTURES / f"{prefix}_net_in.npy")).max() < 1e-6
    probabilities = rounded_probabilities(scan, detector).numpy()
    reference = np.load(FIXTURES / f"{prefix}_prob.npy")
    assert probabilities.shape == reference.shape
    assert np.abs(probabilities - reference).max() < 1e-5
    # The reference's mask file: RGB, 0/255, at the rounded size.
    mask = np.asarray(_fixture_image(f"{prefix}_mask.png").convert("L")) > 127
    assert np.array_equal(probabilities[0, 0] >= 0.4, mask)
    assert size == mask.shape[::-1]


def test_mask_of_a_multiple_of_16_image_is_the_reference_mask(detector):
    mask = detect_scratches(_fixture_image("input_scratched.png"), detector)
    assert mask.mode == "L" and mask.size == (240, 176)
    assert set(np.unique(np.asarray(mask))) <= {0, 255}
    assert np.array_equal(np.asarray(mask) == 255, np.asarray(_fixture_image("pipeline_mask.png").convert("L")) > 127)


def test_odd_sizes_come_back_to_the_scans_size_bilinearly_from_the_rounded_result(detector):
    scan = _fixture_image("input_scratched_odd.png")  # 232×168 → rounded 224×160
    assert rounded_size(*scan.size) == (224, 160)
    probabilities = scratch_probabilities(scan, detector)
    assert probabilities.shape == (168, 232) and probabilities.dtype == np.float32
    rounded = torch.from_numpy(np.load(FIXTURES / "pipeline_odd_prob.npy"))
    expected = torch.nn.functional.interpolate(rounded, [168, 232], mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(probabilities - expected).max() < 1e-5
    mask = detect_scratches(scan, detector, threshold=0.5)
    assert mask.size == scan.size
    assert np.array_equal(np.asarray(mask) == 255, probabilities >= 0.5)


def test_any_mode_and_tiny_images(detector):
    for image in (Image.new("L", (5, 3), 40), Image.new("RGBA", (17, 40), (200, 10, 10, 0)), Image.new("1", (33, 16))):
        mask = detect_scratches(image, detector)
        assert mask.size == image.size and mask.mode == "L"
    with pytest.raises(ValueError, match="empty"):
        scratch_probabilities(Image.new("L", (0, 4)), detector)
    with pytest.raises(ValueError, match="threshold"):
        detect_scratches(Image.new("L", (16, 16)), detector, threshold=1.5)


def test_absent_num_batches_tracked_is_tolerated(tmp_path):
    state = {k: v for k, v in scratch_standin_state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "FT_Epoch_latest.pt"
    torch.save({"model_state": state}, path)
    assert isinstance(load_detector(path, device="cpu"), ScratchUNet)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("last.1.weight"), "1 missing: last.1.weight"),
    (lambda s: s.__setitem__("module.extra", torch.zeros(1)), "1 unexpected: module.extra"),
    (lambda s: s.__setitem__("first.1.bias", torch.zeros(3)), "wrong shape: first.1.bias"),
])
def test_strict_loading_names_the_file_and_the_mismatch(tmp_path, change, message):
    state = scratch_standin_state_dict()
    change(state)
    path = tmp_path / "wrong.pt"
    torch.save({"model_state": state}, path)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_detector(path, device="cpu")
    assert str(path) in str(caught.value)


def test_a_checkpoint_without_model_state_or_corrupt_is_refused(tmp_path):
    bare = tmp_path / "bare.pt"
    torch.save(scratch_standin_state_dict(), bare)
    with pytest.raises(CheckpointError, match="under 'model_state'"):
        load_detector(bare)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(bare.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        load_detector(broken)
    with pytest.raises(FileNotFoundError):
        load_detector(tmp_path / "absent.pt")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "FT_Epoch_latest.pt"
    torch.save({"model_state": scratch_standin_state_dict(), "opt": _Exploit(marker)}, path, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_detector(path)
    assert not marker.exists()


def test_training_extras_of_unknown_classes_are_ignored(tmp_path):
    """A checkpoint that also pickles objects of classes not installed here (optimizer options,
    argparse namespaces...) still loads: those are read as inert placeholders, never constructed."""
    import argparse

    path = tmp_path / "FT_Epoch_latest.pt"
    torch.save({"model_state": scratch_standin_state_dict(), "opt": argparse.Namespace(lr=0.1)}, path)
    assert isinstance(load_detector(path, device="cpu"), ScratchUNet)
