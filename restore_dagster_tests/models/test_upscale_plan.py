"""The upscale plan: how many 2× passes run, where a Lanczos resize finishes instead, the magnification cap."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restore_dagster.models import waifu2x

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "waifu2x"


class CountingNetwork(torch.nn.Module):
    """The real network, recording the input size of every call (one call per pass with one big tile)."""

    def __init__(self, network: torch.nn.Module, calls: list[tuple[int, int, int]]):
        super().__init__()
        self.network = network
        self.calls = calls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape[1:]))
        return self.network(x)


def passes_run(image: Image.Image, long_side: int, **kwargs) -> tuple[Image.Image, list[tuple[int, int]]]:
    """upscale_to with counting networks: the result and the (width, height) each pass read, context removed."""
    calls: list[tuple[int, int, int]] = []

    def loader(level: int) -> torch.nn.Module:
        return CountingNetwork(waifu2x.load_upphoto(level, device="cpu"), calls)

    result = waifu2x.upscale_to(image, long_side, noise_level=0, model=loader, tile=100_000, **kwargs)
    context = 2 * waifu2x.CONTEXT
    return result, [(w - context, h - context) for _, h, w in calls]


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(FIXTURES / "input_rgb.png").convert("RGB")


# --- the plan alone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("long_side_of_scan", "target", "passes"),
    [
        (952, 1920, 1),  # the case: was 952 → 1904 → 3808 → 1920
        (1016, 2032, 1),  # exactly one pass
        (959, 1920, 1),  # just under half the target: 1918, finished by a 1.001 Lanczos
        (961, 1920, 1),  # just over half: 1922, a Lanczos downscale
        (1000, 3840, 2),  # 2000 is 1.92 short: a second pass keeps 92% of its output
        (1357, 3840, 2),  # 2714 is 1.4149 short: just over the √2 line
        (1358, 3840, 1),  # 2716 is 1.4138 short: just under the line, Lanczos
        (200, 3840, 4),  # 1600 is 2.4 short, 3200 only 1.2 (with no cap)
        (1919, 1920, 1),  # just under the target: one pass, a 2× downscale
        (1920, 1920, 1),  # at the target: the denoise pass at the target size
        (1921, 1920, 1),  # just over the target: resized to it first
    ],
)
def test_pass_counts_around_the_target_and_the_line(long_side_of_scan: int, target: int, passes: int) -> None:
    plan = waifu2x.plan_upscale((long_side_of_scan, 100), target)
    assert plan.passes == passes, plan.reason
    assert plan.final_size[0] == target and not plan.capped
    assert f"{plan.passes} 2× pass" in plan.reason or "one 2× denoise pass" in plan.reason
    if long_side_of_scan >= target:
        assert plan.start_size == plan.final_size
    else:
        assert plan.start_size == (long_side_of_scan, 100)
        # The last pass never overshoots so far that most of its output would be thrown away ...
        assert target / (long_side_of_scan << passes) > 1 / math.sqrt(2) or passes == 1
        # ... and no more than √2 is ever left to the final resize.
        assert target / (long_side_of_scan << passes) <= waifu2x.FINISH_BY_RESIZE_AT_MOST


def test_the_line_is_where_a_pass_would_keep_half_its_output() -> None:
    # Remaining factor r after the passes: another pass would keep (r / 2)² of its output.
    assert (waifu2x.FINISH_BY_RESIZE_AT_MOST / 2) ** 2 == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("size", "cap", "final_size", "passes", "capped"),
    [
        ((256, 192), 4, (1024, 768), 2, True),  # the tiny scan: 1024, not 3840 (15×)
        ((256, 192), 15, (3840, 2880), 4, False),  # floor(256 × 15) = 3840: the cap reaches the target exactly
        ((256, 192), 16, (3840, 2880), 4, False),  # a cap over the target changes nothing
        ((480, 320), 4, (1920, 1280), 2, True),
        ((1000, 667), 4, (3840, 2561), 2, False),
        ((300, 200), 1, (300, 200), 1, True),  # no magnification: the denoise pass at the scan's own size
        ((300, 200), 2.5, (750, 500), 1, True),  # 600 is 1.25 short: Lanczos
        ((120, 400), 3, (360, 1200), 2, True),  # portrait
    ],
)
def test_magnification_cap(size, cap, final_size, passes, capped) -> None:
    plan = waifu2x.plan_upscale(size, 3840, cap)
    assert (plan.final_size, plan.passes, plan.capped) == (final_size, passes, capped), plan.reason
    if capped:
        assert f"{cap:g}× the scan's" in plan.reason


@pytest.mark.parametrize("cap", [0.5, 0, -1, float("nan"), True])
def test_bad_magnification_cap_is_refused(cap) -> None:
    with pytest.raises(ValueError, match="max_magnification"):
        waifu2x.plan_upscale((100, 100), 3840, cap)


# --- the plan carried out -----------------------------------------------------------------------


def test_a_small_remaining_factor_is_finished_by_lanczos_not_a_pass(photo: Image.Image) -> None:
    # 30 → 60 leaves 61/60 to go: the old plan ran 60 → 120 and threw three quarters away.
    scan = photo.resize((30, 20))
    result, passes = passes_run(scan, 61)
    assert passes == [(30, 20)]
    assert result.size == (61, 41)
    one_pass = waifu2x.upscale_2x(scan, 0, device="cpu")
    expected = one_pass.resize((61, 41), Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(result), np.asarray(expected))


def test_a_large_remaining_factor_still_gets_a_pass(photo: Image.Image) -> None:
    result, passes = passes_run(photo.resize((20, 15)), 75)  # 40 is 1.875 short
    assert passes == [(20, 15), (40, 30)] and result.size == (75, 56)


def test_cap_limits_what_upscale_to_makes(photo: Image.Image) -> None:
    result, passes = passes_run(photo.resize((16, 12)), 3840, max_magnification=4)
    assert result.size == (64, 48)
    assert passes == [(16, 12), (32, 24)]
