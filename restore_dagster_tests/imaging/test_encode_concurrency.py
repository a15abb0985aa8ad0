"""The web encoding's search on two cores chooses what the sequential search chooses (issue 12's 2 s target).

The formats are searched side by side and each bisection step starts a speculative probe beside the
one that decides; none of it may change the quality found, even where the scores are not monotone
in quality (they are not quite, near the floor) or the predictions are wrong.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from restore_dagster.imaging import Floors, encode_for_web, fidelity
from restore_dagster.imaging import encode as encode_module
from restore_dagster.imaging import web_formats
from restore_dagster.imaging.encode import QUALITY_RANGE, _lowest_passing
from restore_dagster.imaging.web_formats import Jpeg, Webp
from restore_dagster.imaging.fidelity import Fidelity, FidelityReference

from .helpers import noisy_rgb

FLOORS = Floors(0.97, 0.90)


def plain_bisection(passes: dict[int, bool], low: int, high: int) -> tuple[int | None, list[int]]:
    """The sequential search written out: the probes it makes and the quality it returns. The lowest
    quality first (where it passes it is the answer), then a bisection of the rest."""
    probes = [low]
    if passes[low]:
        return low, probes
    low += 1
    if low > high:
        return None, probes
    while low < high:
        middle = (low + high) // 2
        probes.append(middle)
        if passes[middle]:
            high = middle
        else:
            low = middle + 1
    probes.append(low)
    return (low if passes[low] else None), probes


def scores_from(passes: dict[int, bool]) -> dict[int, Fidelity]:
    # Scores that disagree with the outcomes' order, so that the predictions read from them mislead.
    return {q: Fidelity(0.99 if ok else 0.5, 0.99 if ok else 0.5 + q / 1000) for q, ok in passes.items()}


@pytest.mark.parametrize("pattern", ["monotone", "dip", "islands", "none pass", "all pass"])
def test_speculation_takes_the_plain_bisections_steps_whatever_it_predicts(pattern):
    low, high = QUALITY_RANGE
    rng = np.random.default_rng(3)
    if pattern == "monotone":
        passes = {q: q >= 83 for q in range(low, high + 1)}
    elif pattern == "dip":  # as measured on a white-grain 4K proxy: 87 passes, 88 fails, 89 on pass
        passes = {q: q >= 89 or q == 87 for q in range(low, high + 1)}
    elif pattern == "islands":
        passes = {q: bool(rng.random() < 0.5) for q in range(low, high + 1)}
    else:
        passes = {q: pattern == "all pass" for q in range(low, high + 1)}
    expected, decisive = plain_bisection(passes, low, high)
    scores = scores_from(passes)
    started: list[int] = []
    waited: list[int] = []

    def start(quality: int) -> None:
        started.append(quality)

    def known() -> dict[int, Fidelity]:
        return {q: scores[q] for q in started}  # every started probe reads as done: predictions use them all

    def score(quality: int) -> Fidelity:
        waited.append(quality)
        return scores[quality]

    assert _lowest_passing(score, FLOORS, low, high, (start, known)) == expected
    assert waited == decisive, "the decisions are the plain bisection's probes, in its order"
    assert set(decisive[:-1]) <= set(started), "each decisive probe was started before it was waited for"
    assert len(set(started)) <= 2 * len(decisive), "at most one speculative probe per step"


def test_with_scores_that_rise_with_quality_each_step_starts_the_next_ones_probe():
    low, high = QUALITY_RANGE
    true_scores = {q: Fidelity(0.96 + q / 2000, 0.80 + q / 600) for q in range(low, high + 1)}  # floor met from q60
    passes = {q: score.meets(FLOORS) for q, score in true_scores.items()}
    _, decisive = plain_bisection(passes, low, high)
    started_at_step: dict[int, int] = {}
    waited: list[int] = []

    def start(quality: int) -> None:
        started_at_step.setdefault(quality, len(waited))

    def score(quality: int) -> Fidelity:
        waited.append(quality)
        return true_scores[quality]

    assert _lowest_passing(score, FLOORS, low, high, (start, lambda: {q: true_scores[q] for q in waited})) == 60
    # Once two probes bracket the floor (after two steps), the neighbours' scores predict each outcome: every later
    # decisive probe was started one step early, beside the probe deciding the step before it.
    ahead = [q for step, q in enumerate(decisive[:-1]) if started_at_step[q] < step]
    assert decisive[3:-1] and set(decisive[3:-1]) <= set(ahead)


def test_an_encoder_leaves_the_image_it_encodes_untouched():
    """Image.save keeps its options on the image object: two threads saving one image would swap qualities."""
    image = noisy_rgb((64, 48))
    for encoder in (Jpeg, Webp):
        encoder.encode(image, 50)
        assert not hasattr(image, "encoderinfo"), f"{encoder.name} saved the shared image itself"


def test_one_image_encoded_from_many_threads_at_once_gets_each_threads_quality():
    image = noisy_rgb((256, 256), seed=4)
    qualities = list(range(40, 96, 5))
    alone = {q: Webp.encode(image, q) for q in qualities}
    barrier = threading.Barrier(4)

    def encode(quality: int) -> bytes:
        barrier.wait()
        return Webp.encode(image, quality)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(0, len(qualities) - 3, 4):
            batch = qualities[start : start + 4]
            assert list(pool.map(encode, batch)) == [alone[q] for q in batch]


def test_the_search_on_workers_finds_what_the_sequential_search_finds():
    large = noisy_rgb((1400, 900), seed=5)  # above the proxy threshold
    reference = FidelityReference(large)
    proxy = encode_module._proxy(large, reference.screen_scale)
    metadata = web_formats.FileMetadata(b"", "", None, large.size)
    floors = Floors(0.95, 0.9)
    with ThreadPoolExecutor(max_workers=2) as workers:
        for encoder in (Jpeg, Webp):
            sequential = encode_module._best_for_format(encoder, large, reference, proxy, floors, metadata)
            concurrent = encode_module._best_for_format(encoder, large, reference, proxy, floors, metadata, workers=workers)
            assert (concurrent.encoded.quality, concurrent.encoded.data) == (sequential.encoded.quality, sequential.encoded.data)
            assert concurrent.encoded.fidelity == sequential.encoded.fidelity


def test_webps_full_size_encode_waits_for_the_jpegs_prediction_not_its_full_size_encodes(monkeypatch):
    """WebP is compared with the JPEG's predicted bytes, known once the JPEG's proxy is bisected: its
    full-size encode starts while the JPEG's are still to come (they wait for it here, which would
    deadlock a WebP that waited for the JPEG's file)."""
    large = noisy_rgb((1400, 900), seed=5)
    webp_full_size = threading.Event()
    bars: list[float | None] = []
    original_jpeg, original_webp = Jpeg.encode, Webp.encode
    original_bar = encode_module._SmallestPredicted.__call__

    def jpeg(image, quality, metadata=None):
        if metadata is not None:
            assert webp_full_size.wait(timeout=30), "WebP's full-size encode waited for the JPEG's"
        return original_jpeg(image, quality, metadata)

    def webp(image, quality, metadata=None):
        if metadata is not None:
            webp_full_size.set()
        return original_webp(image, quality, metadata)

    def bar(self):
        bars.append(original_bar(self))
        return bars[-1]

    monkeypatch.setattr(Jpeg, "encode", staticmethod(jpeg))
    monkeypatch.setattr(Webp, "encode", staticmethod(webp))
    monkeypatch.setattr(Webp, "where_lowest_passes", None)
    monkeypatch.setattr(encode_module._SmallestPredicted, "__call__", bar)
    monkeypatch.setattr(encode_module, "_PRUNE_MARGIN", 10.0**9)  # WebP is searched through whatever its size
    both = encode_for_web(large, ssim_floor=0.95, detail_floor_1to1=0.9, formats=("JPEG", "WEBP"))
    assert webp_full_size.is_set() and both.download.format == "JPEG"
    assert len(bars) == 1 and bars[0] is not None and bars[0] > 0, "WebP was given the JPEG's prediction as its bar"


def test_a_large_pictures_two_measures_computed_side_by_side_are_the_measures():
    large = noisy_rgb((2600, 1600), seed=6)  # above the size from which the measures are split
    candidate = Image.fromarray(np.asarray(large)[:, :, ::-1].copy(), "RGB")
    reference = FidelityReference(large)
    from restore_dagster.imaging.ssim import luma

    grey = luma(candidate)
    assert reference.score(candidate) == Fidelity(reference._screen.score(grey), reference._detail.score(grey))
    assert fidelity(large, candidate) == reference.score(candidate)


def test_an_error_on_a_worker_reaches_the_caller(monkeypatch):
    def broken(image, quality, metadata=None):
        raise OSError("encoder exploded")

    monkeypatch.setattr(Webp, "encode", staticmethod(broken))
    with pytest.raises(OSError, match="encoder exploded"):
        encode_for_web(noisy_rgb((1400, 900), seed=5), ssim_floor=0.9, formats=("JPEG", "WEBP"))
