"""The web search's choices that keep a 4K picture's search under 2 s (issue 12): a proxy whose tile
seams do not count, WebP's method chosen per picture, and pruning against predictions."""

from __future__ import annotations

import io
from concurrent.futures import Future

import pytest
from PIL import Image

from restore_dagster.imaging import Floors, encode_smallest
from restore_dagster.imaging import encode as encode_module
from restore_dagster.imaging import web_formats
from restore_dagster.imaging.encode import _lowest_passing
from restore_dagster.imaging.web_formats import Webp, WebpOptimised
from restore_dagster.imaging.fidelity import Fidelity, FidelityReference
from restore_dagster.imaging.sampling import area_scale
from restore_dagster.imaging.ssim import SSIM_MAX_PIXELS

from .helpers import film_grain


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def upscaled() -> Image.Image:
    """A small photograph enlarged 5×, as a restoration of a small scan is: smooth, its only "texture"
    where the enlargement left edges."""
    from skimage import data

    return Image.fromarray(data.chelsea()).resize((2255, 1500), Image.Resampling.LANCZOS)


def test_the_proxy_scores_a_smooth_pictures_detail_as_the_whole_picture_scores_it(upscaled):
    scale = area_scale(upscaled.size, SSIM_MAX_PIXELS)
    proxy = encode_module._proxy(upscaled, scale)
    assert proxy.image is not upscaled, "the picture must be searched through a mosaic"
    whole = FidelityReference(upscaled).score(decoded(WebpOptimised.encode(upscaled, 40))).detail
    tiles = decoded(WebpOptimised.encode(proxy.image, 40))

    with_seams = FidelityReference(proxy.image, scale).score(tiles).detail
    assert whole - with_seams > 0.05, "the picture must show the seams' bias: WebP's loop filter smooths them"
    assert proxy.reference.score(tiles).detail == pytest.approx(whole, abs=0.02)


def full_size_methods(monkeypatch) -> list[int]:
    methods: list[int] = []
    original = web_formats.webp_bytes

    def spy(image, quality, metadata, method):
        if metadata is not None:  # the full-size encodes (the proxy's probes carry no metadata)
            methods.append(method)
        return original(image, quality, metadata, method)

    monkeypatch.setattr(web_formats, "webp_bytes", spy)
    return methods


def test_a_smooth_picture_whose_lowest_quality_passes_gets_webps_method_4(upscaled, monkeypatch):
    methods = full_size_methods(monkeypatch)
    encoded = encode_smallest(upscaled, formats=("WEBP",))
    assert encoded.quality == 40 and set(methods) == {4}
    assert encoded.data == web_formats.webp_bytes(upscaled, 40, web_formats.FileMetadata(b"", "", None, upscaled.size), 4)


def test_a_grainy_picture_gets_webps_method_2_and_a_smaller_file_than_method_4(upscaled, monkeypatch):
    grainy = film_grain(upscaled, 3.0)
    methods = full_size_methods(monkeypatch)
    encoded = encode_smallest(grainy, formats=("WEBP",))
    assert encoded.quality > 40 and set(methods) == {2}

    monkeypatch.setattr(Webp, "where_lowest_passes", None)
    monkeypatch.setattr(Webp, "encode", staticmethod(WebpOptimised.encode))
    method_4 = encode_smallest(grainy, formats=("WEBP",))
    assert method_4.detail_1to1 >= 0.90 and encoded.detail_1to1 >= 0.90
    assert len(encoded.data) < len(method_4.data), "method 2 keeps the grain at a lower quality"


def test_a_search_of_one_quality_that_fails_probes_nothing_outside_it():
    asked: list[int] = []

    def score(quality: int) -> Fidelity:
        asked.append(quality)
        return Fidelity(0.5, 0.5)

    assert _lowest_passing(score, Floors(0.97, 0.9), 95, 95) is None
    assert asked == [95]


def announced(*sizes: float | None) -> list[Future]:
    futures = []
    for size in sizes:
        futures.append(Future())
        futures[-1].set_result(size)
    return futures


def test_the_bar_is_the_smallest_prediction_that_surely_fits_the_cap():
    assert encode_module._SmallestPredicted(announced(900_000.0, None, 700_000.0), 4_000_000)() == 700_000.0
    # A prediction near the cap may be a file over it: it sets no bar, lest the only passing format be pruned.
    assert encode_module._SmallestPredicted(announced(3_500_000.0), 4_000_000)() is None
    assert encode_module._SmallestPredicted(announced(None), 4_000_000)() is None
