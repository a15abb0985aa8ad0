"""LaMa big-lama: checkpoint layout, strict and safe loading, outputs equal to LaMa's own, crops.

The reference outputs in fixtures/lama were produced by LaMa's ``bin/predict.py`` with the
deterministic stand-in weights of lama_standin.py (the official checkpoint cannot be downloaded
in tests); with them the inpainting means nothing, it proves the computation.
"""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from restore_dagster.models.lama import CheckpointError, FFCResNetGenerator, inpaint, load_inpainter
from restore_dagster.models.lama_crops import plan_crops

from .lama_standin import (
    EXTRA_ENTRIES,
    FIXTURES,
    lama_manifest,
    lama_standin_state_dict,
    lightning_checkpoint,
    write_lightning_checkpoint,
)
from .standin_weights import tensor_digest


@pytest.fixture(scope="module")
def inpainter(lama_weights):
    return load_inpainter(lama_weights, device="cpu")


def _pair(odd: bool):
    suffix = "_odd" if odd else ""
    return Image.open(FIXTURES / f"input_rgb{suffix}.png"), Image.open(FIXTURES / f"mask{suffix}.png")


# --- weights and loading -----------------------------------------------------------------------


def test_standin_rule_reproduces_fixture_digests():
    expected = json.loads((FIXTURES / "weights_sha256.json").read_text())
    state = lama_standin_state_dict()
    assert list(state) == list(expected)
    assert [key for key in state if tensor_digest(state[key]) != expected[key]] == []


def test_state_dict_matches_checkpoint_layout():
    manifest = lama_manifest()
    state = FFCResNetGenerator().state_dict()
    assert len(state) == 989
    assert ["generator." + key for key in state] == list(manifest)  # same keys, same order
    for key, tensor in state.items():
        shape, dtype = manifest["generator." + key]
        assert (list(tensor.shape), str(tensor.dtype)) == (shape, f"torch.{dtype}"), key


def test_loads_lightning_checkpoint_ignoring_other_entries(inpainter):
    """The fixture's best.ckpt also holds discriminator/loss entries; only generator.* is taken, and
    the prepared model (batch norms folded) computes what the plain generator on the stand-in does."""
    assert EXTRA_ENTRIES
    assert not inpainter.training and not any(p.requires_grad for p in inpainter.parameters())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in inpainter.modules())  # all folded
    plain = FFCResNetGenerator()
    plain.load_state_dict({key.removeprefix("generator."): v for key, v in lama_standin_state_dict().items()})
    x = torch.from_numpy(np.load(FIXTURES / "raw_in.npy"))
    with torch.inference_mode():
        assert (plain.eval()(x) - inpainter(x)).abs().max() < 5e-6


def test_loads_checkpoint_with_uninstalled_classes(tmp_path, monkeypatch):
    """A real best.ckpt may pickle Lightning/OmegaConf objects: read as placeholders, the weights load."""
    module = types.ModuleType("omegaconf_not_installed")
    config_class = type("DictConfig", (dict,), {"__module__": module.__name__})
    module.DictConfig = config_class
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "best.ckpt"
    config = config_class({"generator": {"kind": "ffc_resnet"}})
    torch.save(lightning_checkpoint(lama_standin_state_dict(), hyper_parameters=config), path)
    del sys.modules[module.__name__]
    model = load_inpainter(path, device="cpu")
    assert isinstance(model, FFCResNetGenerator)
    assert module.__name__ not in sys.modules


@pytest.mark.parametrize("problem", ["missing", "wrong shape", "no state_dict", "bare state_dict"])
def test_strict_loading_refuses_incomplete_checkpoints(problem, tmp_path):
    state = lama_standin_state_dict()
    key = "generator.model.12.conv2.ffc.convg2g.fu.conv_layer.weight"
    if problem == "missing":
        del state[key]
        payload = lightning_checkpoint(state)
    elif problem == "wrong shape":
        state[key] = torch.zeros(384, 384, 3, 3)
        payload = lightning_checkpoint(state)
    elif problem == "no state_dict":
        payload = {"epoch": 0, "model": state}
    else:
        payload = state
    path = tmp_path / "weird name ü.ckpt"
    torch.save(payload, path)
    expected = "no dict of tensors under 'state_dict'" if problem in ("no state_dict", "bare state_dict") else f"1 {problem}: {key}"
    with pytest.raises(CheckpointError, match="not a .*checkpoint") as error:
        load_inpainter(path, device="cpu")
    assert str(path) in str(error.value) and expected in str(error.value)


def test_malicious_checkpoint_is_refused_naming_the_file(tmp_path):
    import os

    marker = tmp_path / "code_ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "best.ckpt"
    torch.save(lightning_checkpoint(lama_standin_state_dict(), callbacks=Payload()), path)
    with pytest.raises(CheckpointError, match="refused to load") as error:
        load_inpainter(path, device="cpu")
    assert str(path) in str(error.value) and "posix.system" in str(error.value)
    assert not marker.exists()


def test_corrupt_and_missing_files_are_clear_errors(tmp_path):
    path = write_lightning_checkpoint(tmp_path / "best.ckpt")
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        load_inpainter(path, device="cpu")
    with pytest.raises(FileNotFoundError, match="LaMa weights file not found"):
        load_inpainter(tmp_path / "absent.ckpt", device="cpu")


# --- exactness -----------------------------------------------------------------------------------


def test_raw_output_matches_reference(inpainter):
    with torch.inference_mode():
        out = inpainter(torch.from_numpy(np.load(FIXTURES / "raw_in.npy")))
    np.testing.assert_allclose(out.numpy(), np.load(FIXTURES / "raw_out.npy"), rtol=0, atol=1e-4)


@pytest.mark.parametrize("odd", [False, True], ids=["160x120", "155x115"])
def test_pipeline_matches_reference(odd, inpainter):
    """Network input exact, prediction within 1e-4, PNG within 1 grey level (in fact equal)."""
    suffix = "_odd" if odd else ""
    image, mask = _pair(odd)
    seen = {}
    handle = inpainter.register_forward_hook(lambda _m, args, out: seen.update(net_in=args[0], pred=out))
    try:
        result = inpaint(image, mask, inpainter)
    finally:
        handle.remove()
    np.testing.assert_array_equal(seen["net_in"].numpy(), np.load(FIXTURES / f"pipeline{suffix}_net_in.npy"))
    np.testing.assert_allclose(seen["pred"].numpy(), np.load(FIXTURES / f"pipeline{suffix}_pred.npy"), rtol=0, atol=1e-4)
    expected = np.asarray(Image.open(FIXTURES / f"pipeline{suffix}_out.png").convert("RGB")).astype(int)
    got = np.asarray(result).astype(int)
    assert result.mode == "RGB" and result.size == image.size
    assert np.abs(got - expected).max() <= 1


@pytest.mark.parametrize("odd", [False, True], ids=["160x120", "155x115"])
def test_only_masked_pixels_change(odd, inpainter):
    """Every hole (mask > 0, values 1 and 100 included) is repainted; every other pixel is kept."""
    image, mask = _pair(odd)
    before = np.asarray(image.convert("RGB"))
    after = np.asarray(inpaint(image, mask, inpainter))
    hole = np.asarray(mask) > 0
    assert {1, 100, 255} <= set(np.unique(np.asarray(mask)))
    np.testing.assert_array_equal(after[~hole], before[~hole])
    assert (after[hole] != before[hole]).any(axis=-1).all()


def test_mask_of_another_size_is_refused(inpainter):
    image, mask = _pair(False)
    with pytest.raises(ValueError, match="mask size"):
        inpaint(image, mask.resize((10, 10)), inpainter)


def test_no_holes_returns_the_image_without_running_the_network():
    image, _ = _pair(False)
    calls = _Recorder()
    result = inpaint(image, Image.new("L", image.size, 0), calls)
    assert calls.shapes == [] and np.array_equal(np.asarray(result), np.asarray(image.convert("RGB")))


# --- crops ----------------------------------------------------------------------------------------


class _Recorder(nn.Module):
    """A stand-in network: 0.5 everywhere; records the input shapes it was given."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1), requires_grad=False)
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return torch.full((x.shape[0], 3, *x.shape[2:]), 0.5)


def _scratched_mask(height, width, seed=0):
    """Thin lines and specks, like a scratch mask."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    import cv2

    for _ in range(4):
        p0 = tuple(int(v) for v in rng.integers(0, (width, height)))
        p1 = tuple(int(v) for v in rng.integers(0, (width, height)))
        cv2.line(mask, p0, p1, 255, int(rng.integers(1, 4)))
    ys, xs = rng.integers(0, height, 60), rng.integers(0, width, 60)
    mask[ys, xs] = 255
    return mask


def test_crops_cover_every_hole_once_within_budget():
    hole = _scratched_mask(600, 800) > 0
    budget, context = 160 * 160, 24
    crops = plan_crops(hole, crop_pixels=budget, context=context)
    assert len(crops) > 1
    covered = np.zeros(hole.shape, int)
    side = int(budget**0.5)
    for crop in crops:
        y0, y1, x0, x1 = crop.box
        cy0, cy1, cx0, cx1 = crop.core
        assert (y1 - y0) % 8 == 0 and (x1 - x0) % 8 == 0
        assert 0 <= y0 <= cy0 < cy1 <= y1 <= 600 and 0 <= x0 <= cx0 < cx1 <= x1 <= 800
        assert (y1 - y0) <= side + 8 and (x1 - x0) <= side + 8  # the budget, grown to multiples of 8
        covered[cy0:cy1, cx0:cx1] += 1
    assert covered[hole].min() == 1 and covered.max() == 1  # cores are disjoint and cover every hole


def test_large_scan_runs_in_bounded_crops():
    """The network never sees more than the crop budget, whatever the scan size; holes all painted."""
    mask = _scratched_mask(600, 800, seed=3)
    image = Image.fromarray(np.full((600, 800, 3), 200, np.uint8))
    recorder = _Recorder()
    steps = []
    result = np.asarray(inpaint(image, Image.fromarray(mask), recorder, crop_pixels=128 * 128, context=16, work_pixels=None,
                                progress=lambda done, total: steps.append((done, total))))
    assert recorder.shapes and max(h * w for _n, _c, h, w in recorder.shapes) <= 136 * 136
    assert steps[0] == (0, len(recorder.shapes)) and steps[-1] == (len(recorder.shapes),) * 2
    hole = mask > 0
    assert (result[hole] == 127).all() and (result[~hole] == 200).all()


def test_whole_image_within_budget_is_one_crop():
    """The exact case: a padded image within the budget is run whole (the reference pipeline)."""
    hole = np.zeros((120, 160), bool)
    hole[50:53, 70:72] = True
    assert [(c.box, c.core) for c in plan_crops(hole, crop_pixels=160 * 120, context=16)] == [
        ((0, 120, 0, 160), (0, 120, 0, 160))]


def test_a_crop_is_the_reference_pipeline_on_that_crop(inpainter):
    """Exact case of the crop path: one small hole in an image over the budget gives one crop, and
    the result equals LaMa's pipeline run on that crop alone, pasted back."""
    image, _ = _pair(False)
    mask = np.zeros((120, 160), np.uint8)
    mask[60:66, 90:93] = 255
    mask[63, 80] = 7  # any value above 0 is a hole
    crops = plan_crops(mask > 0, crop_pixels=72 * 72, context=20)
    assert len(crops) == 1
    y0, y1, x0, x1 = crops[0].box
    assert (y1 - y0, x1 - x0) != (120, 160)
    result = inpaint(image, Image.fromarray(mask), inpainter, crop_pixels=72 * 72, context=20)
    alone = inpaint(image.crop((x0, y0, x1, y1)), Image.fromarray(mask[y0:y1, x0:x1]), inpainter)
    expected = image.convert("RGB").copy()
    expected.paste(alone, (x0, y0))
    np.testing.assert_array_equal(np.asarray(result), np.asarray(expected))


def test_small_crops_differ_from_whole_image_by_a_measured_amount(inpainter):
    """Inexact case, measured: 160×120 fixture, crops of at most 72×72 with 16 pixels of context
    (12 crops) against whole-image inpainting. Measured with the stand-in weights (torch 2.13, CPU):
    on the hole pixels, mean |difference| 0.54 grey levels, 95th percentile 2, max 22; outside the
    holes nothing changes. The stand-in network's Fourier units carry an image-wide average, so this
    is an upper bound of the kind of change crops make, not a quality measure (real weights were not
    available). The bench (bench/bench_lama.py) reports the same comparison at the default budget."""
    image, mask = _pair(False)
    whole = np.asarray(inpaint(image, mask, inpainter)).astype(int)
    cropped = np.asarray(inpaint(image, mask, inpainter, crop_pixels=72 * 72, context=16)).astype(int)
    hole = np.asarray(mask) > 0
    np.testing.assert_array_equal(cropped[~hole], whole[~hole])
    difference = np.abs(cropped[hole] - whole[hole])
    assert len(plan_crops(hole, crop_pixels=72 * 72, context=16)) == 12
    assert 0 < difference.mean() < 1.5 and np.percentile(difference, 95) <= 4


def test_over_the_work_budget_a_smaller_copy_is_inpainted():
    """Work budget: the network sees at most ``work_pixels`` in all; only hole pixels change."""
    mask = _scratched_mask(600, 800, seed=5)
    image = Image.fromarray(np.full((600, 800, 3), 200, np.uint8))
    recorder = _Recorder()
    result = np.asarray(inpaint(image, Image.fromarray(mask), recorder, crop_pixels=256 * 256, context=32,
                                work_pixels=120_000))
    assert 0 < sum(h * w for _n, _c, h, w in recorder.shapes) <= 120_000
    hole = mask > 0
    assert (result[~hole] == 200).all()
    assert (result[hole] != 200).any(axis=-1).mean() > 0.95  # 127 from the network, bicubic at the edges


def test_full_resolution_when_the_work_fits():
    mask = _scratched_mask(600, 800, seed=5)
    recorder = _Recorder()
    inpaint(Image.new("RGB", (800, 600), "white"), Image.fromarray(mask), recorder, crop_pixels=256 * 256,
            context=32, work_pixels=None)
    # Full resolution: the crops' cores cover the 600×800 holes at full size (none scaled down).
    assert sum(h * w for _n, _c, h, w in recorder.shapes) > 120_000


def test_downscaled_inpainting_differs_from_full_resolution_by_a_measured_amount(inpainter):
    """Measured: the 160×120 fixture with a work budget of 5,000 pixels is inpainted at 75×56
    (scale 0.47) and scaled back; against full resolution, on the hole pixels: mean |difference|
    34.6 grey levels, 95th percentile 86, max 174 (stand-in weights, whose output is structureless
    texture that no resampling preserves, so this measures the mechanics, not the quality of real
    weights, which were not available). Outside the holes nothing changes."""
    image, mask = _pair(False)
    whole = np.asarray(inpaint(image, mask, inpainter, work_pixels=None)).astype(int)
    small = np.asarray(inpaint(image, mask, inpainter, work_pixels=5_000)).astype(int)
    hole = np.asarray(mask) > 0
    np.testing.assert_array_equal(small[~hole], whole[~hole])
    difference = np.abs(small[hole] - whole[hole])
    assert 0 < difference.mean() < 50


def test_work_budget_keeps_the_largest_scale_that_fits():
    from restore_dagster.models.lama_crops import crop_area, plan

    hole = _scratched_mask(600, 800, seed=5) > 0
    chosen = plan(hole, crop_pixels=256 * 256, context=32, work_pixels=120_000)
    assert chosen.scale < 1 and crop_area(chosen.crops) <= 120_000
    bigger = plan(hole, crop_pixels=256 * 256, context=32, work_pixels=None)  # full resolution
    assert crop_area(bigger.crops) > 120_000
    # Within the bisection's 3 % (and rounding) of a scale whose crops would not fit.
    width = round(800 * chosen.scale * 1.05)
    resized = Image.fromarray(hole).resize((width, round(600 * chosen.scale * 1.05)), Image.Resampling.BOX)
    over = plan(np.asarray(resized) > 0, crop_pixels=256 * 256, context=32, work_pixels=None)
    assert crop_area(over.crops) > 0.9 * 120_000


def test_fold_batchnorms_needs_eval_mode():
    from restore_dagster.models.lama_layers import fold_batchnorms

    with torch.device("meta"):
        model = FFCResNetGenerator()
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorms(model.train())
