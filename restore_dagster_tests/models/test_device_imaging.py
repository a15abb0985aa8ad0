"""The GPU paths of the resizes and colour merges, run here on CPU tensors: the same code a CUDA
device runs, checked against the Pillow/OpenCV host path it replaces there (within 1 level)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restore_dagster.models import colour_merge, ddcolor, deoldify, device_resize, waifu2x
from restore_dagster.models.device_resize import resize_chw, resize_rgb

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FILTERS = [Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BILINEAR]


def grainy(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth shapes plus strong grain: every tap of every filter matters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = (128 + 80 * np.sin(x / 7) * np.cos(y / 5))[..., None]
    return np.clip(base + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)


def photo(size: tuple[int, int], name: str = "coffee_150x100.png") -> np.ndarray:
    with Image.open(FIXTURES / "imaging" / name) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.BICUBIC))


def chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)


def hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


def assert_within_one_level(got: np.ndarray, want: np.ndarray, min_equal: float, levels: int = 1) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype == np.uint8
    difference = np.abs(got.astype(int) - want.astype(int))
    assert difference.max() <= levels, f"{difference.max()} levels apart"
    assert (difference == 0).mean() >= min_equal, f"only {(difference == 0).mean():.4f} of the samples equal"


@pytest.mark.parametrize("resample", FILTERS, ids=lambda f: f.name)
@pytest.mark.parametrize("source, target", [
    ((400, 267), (384, 256)),  # the upscaler's last step: a few percent down
    ((123, 77), (300, 190)),  # up
    ((640, 427), (77, 51)),  # far down: wide kernels
    ((500, 333), (500, 200)),  # one axis only
    ((96, 64), (200, 64)),
])
def test_resize_is_pillows_exactly(resample, source, target):
    pixels = grainy(*source)
    want = np.asarray(Image.fromarray(pixels).resize(target, resample))
    got = hwc(resize_chw(chw(pixels), target, resample))
    assert got.dtype == np.uint8 and np.array_equal(got, want)  # the same fixed point, the same rounding


def test_torch_bicubic_is_not_pillows_lanczos():
    """Why the taps are Pillow's own: torch's antialiased bicubic, the obvious stand-in, is several levels off."""
    pixels = grainy(400, 267)
    lanczos = np.asarray(Image.fromarray(pixels).resize((384, 256), Image.Resampling.LANCZOS)).astype(int)
    bicubic = torch.nn.functional.interpolate(chw(pixels)[None].float(), size=(256, 384), mode="bicubic",
                                              antialias=True)[0].round().clamp(0, 255)
    assert np.abs(hwc(bicubic).astype(int) - lanczos).max() > 2
    assert np.array_equal(hwc(resize_chw(chw(pixels), (384, 256))).astype(int), lanczos)


def test_resize_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="uint8"):
        resize_chw(torch.zeros(3, 4, 4), (2, 2))
    with pytest.raises(ValueError, match="0×2"):
        resize_chw(torch.zeros(3, 4, 4, dtype=torch.uint8), (0, 2))


def test_on_the_cpu_resize_rgb_is_pillow_itself():
    pixels = grainy(300, 200)
    assert np.array_equal(resize_rgb(pixels, (150, 100), "cpu"),
                          np.asarray(Image.fromarray(pixels).resize((150, 100), Image.Resampling.LANCZOS)))
    assert not device_resize.uses_device("cpu") and device_resize.uses_device("cuda:0")


def test_pillow_grey_is_exact():
    pixels = grainy(97, 61)
    want = np.asarray(Image.fromarray(pixels).convert("L"))
    assert np.array_equal(colour_merge.pil_grey(chw(pixels)).numpy(), want)


def test_yuv_merge_is_opencvs_exactly():
    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (120, 170, 3), dtype=np.uint8)
    colour = rng.integers(0, 256, (120, 170, 3), dtype=np.uint8)
    want = deoldify.keep_luminance(original, colour)
    assert np.array_equal(hwc(colour_merge.keep_luminance(chw(original), chw(colour))), want)


@pytest.mark.parametrize("name", ["coffee_150x100.png", "chelsea_150x100.png", "astronaut_128x128.png"])
@pytest.mark.parametrize("grey", [True, False], ids=["grey", "colour"])
@pytest.mark.parametrize("gain, levels", [(1.0, 1), (1.5, 2)], ids=["own-chroma", "chroma-x1.5"])
def test_lab_merge_within_one_level_of_opencv(name, grey, gain, levels):
    """OpenCV's float Lab L comes from its interpolated tables, this from the formula: with a
    photograph's own chroma within 1 level, with half as much again within 2 (random saturated
    colours can be 4 apart, where the sRGB gamut clips)."""
    pixels = photo((600, 400), name)
    if grey:
        pixels = np.asarray(Image.fromarray(pixels).convert("L").convert("RGB"))
    import cv2

    small = cv2.resize(pixels, (64, 64)).astype(np.float32) / 255.0
    ab = torch.from_numpy(cv2.cvtColor(small, cv2.COLOR_RGB2Lab)[..., 1:].transpose(2, 0, 1).copy())[None] * gain
    want = ddcolor.lab_to_rgb8((pixels[..., ::-1] / 255.0).astype(np.float32), ab)
    got = hwc(colour_merge.lab_merge(chw(pixels), ab[0]))
    assert_within_one_level(got, want, min_equal=0.7, levels=levels)


@pytest.fixture
def device_path(monkeypatch):
    """The accelerator branch taken on CPU tensors: what a CUDA device runs, on this machine."""
    monkeypatch.setattr(device_resize, "uses_device", lambda device: True)
    monkeypatch.setattr(deoldify, "uses_device", lambda device: True)
    monkeypatch.setattr(ddcolor, "uses_device", lambda device: True)


@pytest.fixture(scope="module")
def artistic():
    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict

    generator = deoldify.build_generator("artistic")
    generator.load_state_dict(standin_state_dict(load_manifest(FIXTURES / "deoldify" / "manifest_artistic.json")))
    return deoldify.prepare_for_inference(generator.eval())


def test_deoldify_on_the_device_path_within_one_level(artistic, monkeypatch):
    image = Image.fromarray(photo((250, 170))).convert("L").convert("RGB")
    want = np.asarray(deoldify.colorize(image, artistic, render_factor=8))
    monkeypatch.setattr(deoldify, "uses_device", lambda device: True)
    monkeypatch.setattr(deoldify, "keep_luminance", None)  # the host merge must not be what runs
    got = np.asarray(deoldify.colorize(image, artistic, render_factor=8))
    assert_within_one_level(got, want, min_equal=0.95)


def test_ddcolor_on_the_device_path_within_two_levels(monkeypatch):
    """OpenCV's float Lab L is interpolated from its tables, the device path's is the formula: 2 levels
    at most where the stand-in's colours are strong, most samples equal."""
    from restore_dagster_tests.models.ddcolor_standin import ddcolor_manifest, ddcolor_standin

    model = ddcolor.ddcolor_from_state_dict("tiny", dict(ddcolor_standin(ddcolor_manifest("tiny"))), device="cpu")
    image = Image.fromarray(photo((200, 140), "chelsea_150x100.png")).convert("L").convert("RGB")
    want = np.asarray(ddcolor.colorize_ddcolor(image, model, input_size=128))
    monkeypatch.setattr(ddcolor, "uses_device", lambda device: True)
    monkeypatch.setattr(ddcolor, "lab_to_rgb8", None)
    got = np.asarray(ddcolor.colorize_ddcolor(image, model, input_size=128))
    assert_within_one_level(got, want, min_equal=0.7, levels=2)


def test_upscaler_resizes_on_the_device_path_within_one_level(monkeypatch):
    image = Image.fromarray(photo((60, 40)))
    model = waifu2x.load_upphoto(1, device="cpu")
    # 60 → 2 passes to 240, then Lanczos down to 200: the device resize is the only difference.
    want = np.asarray(waifu2x.upscale_to(image, long_side=200, noise_level=1, device="cpu", model=model))
    monkeypatch.setattr(device_resize, "uses_device", lambda device: True)
    calls = []
    real = device_resize.resize_chw
    monkeypatch.setattr(device_resize, "resize_chw", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    got = np.asarray(waifu2x.upscale_to(image, long_side=200, noise_level=1, device="cpu", model=model))
    assert calls == [(200, 133)]
    assert np.array_equal(got, want)
