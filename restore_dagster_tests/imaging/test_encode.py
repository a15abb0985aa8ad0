"""encode_smallest meets the floor and the cap with the smallest file, keeps EXIF, and refuses clearly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from restore_dagster.imaging import (
    EncodeError, Floors, decode_stage_file, encode_for_web, encode_png, encode_smallest, fidelity, ssim, write_png_bytes,
)
from restore_dagster.imaging import web_formats
from restore_dagster.imaging.encode import QUALITY_RANGE
from restore_dagster.imaging.web_formats import Jpeg, Webp
from restore_dagster.imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD, IMAGE_DESCRIPTION, ORIENTATION, USER_COMMENT, read_user_comment

from .helpers import fixture_photo, noisy_rgb

NOTE = "Restored by restore_dagster: waifu2x UpPhoto noise 1, DeOldify artistic rf35"


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A real photograph at 384×384 with film grain: detailed enough that quality matters."""
    rng = np.random.default_rng(7)
    base = np.asarray(fixture_photo("astronaut_128x128.png").resize((384, 384), Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(base + rng.normal(0, 6, base.shape[:2])[..., None], 0, 255).astype(np.uint8), "RGB")


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image


def source_exif() -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = 1
    exif[0x010F] = "Epson"
    exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"}
    return exif.tobytes()


@pytest.mark.parametrize("formats", [("JPEG",), ("WEBP",)])
def test_the_result_meets_the_floor_at_the_lowest_quality_that_does(photo, formats):
    encoded = encode_smallest(photo, ssim_floor=0.93, max_bytes=10_000_000, formats=formats)

    assert encoded.format == formats[0]
    assert (encoded.width, encoded.height) == photo.size
    assert encoded.ssim == pytest.approx(ssim(photo, decoded(encoded.data).convert("RGB")), abs=1e-9)
    assert encoded.ssim >= 0.93
    assert QUALITY_RANGE[0] < encoded.quality < QUALITY_RANGE[1], "the floor is chosen to fall inside the range"
    # One quality lower falls short (small pictures are searched directly, so this is exact).
    encoder = Jpeg if formats == ("JPEG",) else Webp
    assert ssim(photo, decoded(encoder.encode(photo, encoded.quality - 1)).convert("RGB")) < 0.93


def test_the_smaller_of_the_formats_wins(photo):
    jpeg = encode_smallest(photo, ssim_floor=0.93, formats=("JPEG",))
    webp = encode_smallest(photo, ssim_floor=0.93, formats=("WEBP",))

    both = encode_smallest(photo, ssim_floor=0.93)

    assert len(both.data) == min(len(jpeg.data), len(webp.data))
    assert both.format == ("JPEG" if len(jpeg.data) <= len(webp.data) else "WEBP")


def test_the_byte_cap_rules_out_a_format_that_needs_more(photo):
    jpeg = encode_smallest(photo, ssim_floor=0.93, formats=("JPEG",))
    webp = encode_smallest(photo, ssim_floor=0.93, formats=("WEBP",))
    larger, smaller = sorted((jpeg, webp), key=lambda encoded: len(encoded.data), reverse=True)

    chosen = encode_smallest(photo, ssim_floor=0.93, max_bytes=len(smaller.data))

    assert chosen.format == smaller.format and len(chosen.data) <= len(smaller.data) < len(larger.data)


def test_an_impossible_cap_raises_saying_what_each_format_reached(photo):
    with pytest.raises(EncodeError, match=r"within 2,000 bytes: JPEG: quality \d+ is the lowest to reach SSIM 0\.9\d+ on screen, detail 0\.\d+ at 1:1 and takes [\d,]+ bytes; WEBP: "):
        encode_smallest(photo, ssim_floor=0.93, max_bytes=2_000)


def test_an_impossible_floor_raises(photo):
    with pytest.raises(EncodeError, match=r"reaches SSIM 0\.99999 .*JPEG: SSIM 0\.\d+ on screen, detail 0\.\d+ at 1:1 at quality 95, the highest allowed, is below the floor"):
        encode_smallest(photo, ssim_floor=0.99999, formats=("JPEG",))


@pytest.mark.parametrize("formats", [("JPEG",), ("WEBP",)])
def test_exif_is_kept_and_the_restoration_is_noted(photo, formats):
    encoded = encode_smallest(photo, ssim_floor=0.9, formats=formats, exif=source_exif(), comment=NOTE)

    written = decoded(encoded.data).getexif()
    assert written[0x010F] == "Epson" and written[ORIENTATION] == 1
    assert written[IMAGE_DESCRIPTION] == NOTE
    sub = written.get_ifd(EXIF_IFD)
    assert sub[DATE_TIME_ORIGINAL] == "1962:07:14 15:20:00"
    assert read_user_comment(sub[USER_COMMENT], written.endian) == NOTE
    if formats == ("JPEG",):
        assert decoded(encoded.data).info["comment"] == NOTE.encode()


def test_a_comment_alone_creates_exif(photo):
    encoded = encode_smallest(photo, ssim_floor=0.9, formats=("JPEG",), comment=NOTE)

    assert decoded(encoded.data).getexif()[IMAGE_DESCRIPTION] == NOTE


def test_the_colour_profile_is_embedded(photo):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    for fmt in ("JPEG", "WEBP"):
        encoded = encode_smallest(photo, ssim_floor=0.9, formats=(fmt,), icc_profile=profile)
        assert decoded(encoded.data).info.get("icc_profile") == profile


def test_a_grey_picture_is_written_as_one_channel_jpeg(photo):
    encoded = encode_smallest(photo.convert("L").convert("RGB"), ssim_floor=0.93, formats=("JPEG",))

    assert decoded(encoded.data).mode == "L"


def test_a_large_picture_is_searched_through_a_proxy_and_still_verified():
    large = noisy_rgb((1400, 900), seed=5)  # 1.26 MP: above the proxy threshold

    encoded = encode_smallest(large, ssim_floor=0.9, formats=("JPEG",))

    assert encoded.ssim >= 0.9
    assert encoded.ssim == pytest.approx(ssim(large, decoded(encoded.data).convert("RGB")), abs=1e-9)


def test_a_panorama_too_thin_for_proxy_tiles_is_searched_whole():
    strip = noisy_rgb((3000, 400), seed=6)  # 1.2 MP but under two tiles high

    encoded = encode_smallest(strip, ssim_floor=0.9, formats=("JPEG",))

    assert encoded.ssim >= 0.9 and (encoded.width, encoded.height) == (3000, 400)


def test_bad_arguments_are_refused(photo):
    with pytest.raises(ValueError, match="formats must be a non-empty subset"):
        encode_smallest(photo, formats=("PNG",))
    with pytest.raises(ValueError, match="formats must be a non-empty subset"):
        encode_smallest(photo, formats=())


def test_stage_pngs_are_lossless(tmp_path):
    original = noisy_rgb((40, 30))
    path = tmp_path / "stage.png"
    path.write_bytes(encode_png(original))

    assert np.array_equal(np.asarray(decode_stage_file(path)), np.asarray(original))
    assert write_png_bytes(original) == encode_png(original)


def test_avif_is_encoded_and_meets_the_floors(photo):
    encoded = encode_smallest(photo, ssim_floor=0.93, formats=("AVIF",), exif=source_exif(), comment=NOTE)

    assert encoded.format == "AVIF" and decoded(encoded.data).format == "AVIF"
    assert encoded.ssim >= 0.93 and encoded.detail_1to1 >= 0.90
    assert encoded.fidelity == fidelity(photo, decoded(encoded.data).convert("RGB"))
    assert decoded(encoded.data).getexif()[IMAGE_DESCRIPTION] == NOTE


def test_a_jpeg_for_downloads_comes_with_a_webp_or_avif(photo):
    both = encode_for_web(photo, ssim_floor=0.93, formats=("WEBP",))

    assert both.web.format == "WEBP" and both.download.format == "JPEG"
    assert decoded(both.download.data).format == "JPEG"
    assert both.download.fidelity.meets(Floors(0.93, 0.90)), "the download meets the same floors"
    assert both.download.quality == encode_smallest(photo, ssim_floor=0.93, formats=("JPEG",)).quality


def test_a_jpeg_web_file_is_its_own_download(photo):
    both = encode_for_web(photo, ssim_floor=0.93, formats=("JPEG",))

    assert both.download is both.web


def test_the_download_jpeg_ignores_the_byte_cap(photo):
    """The cap is the page's budget; the download takes what the floors need."""
    webp = encode_smallest(photo, ssim_floor=0.93, formats=("WEBP",))

    both = encode_for_web(photo, ssim_floor=0.93, formats=("JPEG", "WEBP"), max_bytes=len(webp.data))

    assert both.web.format == "WEBP"
    assert len(both.download.data) > len(webp.data) and both.download.format == "JPEG"


def test_a_format_predicted_far_larger_than_the_best_is_dropped_before_full_size_encodes(monkeypatch):
    from restore_dagster.imaging import encode as encode_module
    from restore_dagster.imaging.fidelity import FidelityReference

    large = noisy_rgb((1400, 900), seed=5)  # above the proxy threshold
    reference = FidelityReference(large)
    proxy = encode_module._proxy(large, reference.screen_scale)
    metadata = web_formats.FileMetadata(b"", "", None, large.size)
    sizes = []
    original = Webp.encode
    monkeypatch.setattr(Webp, "encode", staticmethod(lambda image, quality, meta=None: sizes.append(image.size) or original(image, quality, meta)))

    pruned = encode_module._best_for_format(Webp, large, reference, proxy, Floors(0.9, 0.9), metadata, beat=1)
    assert pruned.pruned and "bytes predicted" in pruned.failure
    assert large.size not in sizes, "no full-size encode for a format that cannot win"

    kept = encode_module._best_for_format(Webp, large, reference, proxy, Floors(0.9, 0.9), metadata, beat=10**9)
    assert not kept.pruned and kept.encoded.format == "WEBP" and large.size in sizes
