"""load_scan and decode_stage_file: every format and pixel mode, orientation, and every refusal."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from restore_dagster.imaging import DEFAULT_MAX_PIXELS, ImageError, decode_stage_file, load_scan
from restore_dagster.imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD, ORIENTATION

from .helpers import jpeg_roundtrip, noisy_rgb, png_header_only, rgb16_tiff

SIXTEEN_BIT = np.array([[0, 257, 32896, 65280, 65535]], dtype=np.uint16)
SIXTEEN_BIT_AS_EIGHT = [0, 1, 128, 254, 255]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int32)


def test_jpeg_with_orientation_6_is_turned_upright_and_its_exif_says_so(tmp_path):
    # Stored landscape, 40×20, with a white block in the stored top-left corner; Orientation 6
    # means "turn 90° clockwise to view", so the block must end up top-right of a 20×40 portrait.
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:8, :8] = 255
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PhoneMaker"
    exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: "1962:07:14 15:20:00"}
    path = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())

    scan = load_scan(path)

    assert scan.image.mode == "RGB" and scan.image.size == (20, 40)
    upright = pixels(scan.image)
    assert upright[:8, -8:].mean() > 240, "the stored top-left block is shown top-right"
    assert upright[-8:, :8].mean() < 15
    assert scan.source_size == (20, 40) and scan.source_format == "JPEG" and scan.source_mode == "RGB"
    assert scan.capture_date == "1962-07-14T15:20:00"
    kept = Image.Exif()
    kept.load(scan.exif)
    assert kept[ORIENTATION] == 1
    assert kept[0x010F] == "PhoneMaker"
    assert kept.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "1962:07:14 15:20:00"


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_16_bit_grey_scales_to_8_bits_without_clipping(tmp_path, suffix):
    path = tmp_path / f"grey16{suffix}"
    Image.fromarray(SIXTEEN_BIT).save(path)

    scan = load_scan(path)

    assert scan.source_mode == "I;16"
    assert pixels(scan.image)[0, :, 0].tolist() == SIXTEEN_BIT_AS_EIGHT
    assert pixels(scan.image)[0, :, 1].tolist() == SIXTEEN_BIT_AS_EIGHT
    assert scan.is_grey


def test_16_bit_big_endian_tiff_reads_the_same(tmp_path):
    path = tmp_path / "grey16be.tif"
    Image.fromarray(SIXTEEN_BIT.astype(">u2")).save(path)

    scan = load_scan(path)

    assert scan.source_mode == "I;16B"
    assert pixels(scan.image)[0, :, 2].tolist() == SIXTEEN_BIT_AS_EIGHT


def test_16_bit_rgb_tiff_keeps_the_high_byte_of_each_channel(tmp_path):
    stored = np.zeros((3, 4, 3), dtype=np.uint16)
    stored[:, :2] = (65535, 32896, 257)
    stored[:, 2:] = (0, 65280, 65535)
    path = tmp_path / "rgb16.tif"
    path.write_bytes(rgb16_tiff(stored))

    scan = load_scan(path)

    assert scan.source_format == "TIFF"
    assert pixels(scan.image)[1, 0].tolist() == [255, 128, 1]
    assert pixels(scan.image)[1, 3].tolist() == [0, 255, 255]


def test_32_bit_integer_grey_is_read_as_16_bit_range(tmp_path):
    path = tmp_path / "grey32.tif"
    Image.fromarray(SIXTEEN_BIT.astype(np.int32)).save(path)

    assert pixels(load_scan(path).image)[0, :, 0].tolist() == SIXTEEN_BIT_AS_EIGHT


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0.0, 0.25, 0.5, 1.0], [0, 64, 128, 255]), ([0.0, 100.0, 255.0, 300.0], [0, 100, 255, 255])],
    ids=["normalised", "0-255"],
)
def test_float_grey_tiff(tmp_path, values, expected):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([values], dtype=np.float32)).save(path)

    assert pixels(load_scan(path).image)[0, :, 0].tolist() == expected


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # full magenta + yellow = red

    scan = load_scan(path)

    assert scan.source_mode == "CMYK"
    red, green, blue = pixels(scan.image)[8, 8]
    assert red > 240 and green < 15 and blue < 15
    assert scan.icc_profile is None


def test_cmyk_with_a_broken_profile_still_decodes(tmp_path):
    # An ICC header that claims CMYK but cannot be parsed: the photo must not be lost over it.
    broken = b"\x00" * 16 + b"CMYK" + b"\x00" * 108
    path = tmp_path / "cmyk-broken-icc.jpg"
    Image.new("CMYK", (16, 16), (255, 0, 255, 0)).save(path, quality=95, icc_profile=broken)

    scan = load_scan(path)

    red, green, blue = pixels(scan.image)[8, 8]
    assert green > 240 and red < 15 and blue < 15
    assert scan.icc_profile is None


def test_an_rgb_profile_travels_with_the_pixels(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "tagged.png"
    noisy_rgb((24, 16)).save(path, icc_profile=profile)

    scan = load_scan(path)

    assert scan.icc_profile == profile
    assert np.array_equal(pixels(scan.image), pixels(noisy_rgb((24, 16))))


def test_palette_png_with_transparency_is_flattened_onto_white(tmp_path):
    indices = np.zeros((4, 8), dtype=np.uint8)
    indices[:, 4:] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 0, 0, 0, 255])
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)  # index 0 (red) is fully transparent

    scan = load_scan(path)

    assert scan.source_mode == "P"
    assert pixels(scan.image)[0, 0].tolist() == [255, 255, 255]
    assert pixels(scan.image)[0, 7].tolist() == [0, 0, 255]


@pytest.mark.parametrize(("mode", "colour", "expected"), [("RGBA", (255, 0, 0, 128), [255, 127, 127]), ("LA", (0, 64), [191, 191, 191])])
def test_alpha_is_flattened_onto_white(tmp_path, mode, colour, expected):
    path = tmp_path / f"{mode}.png"
    Image.new(mode, (6, 6), colour).save(path)

    scan = load_scan(path)

    assert scan.source_mode == mode
    assert np.abs(pixels(scan.image)[3, 3] - np.array(expected)).max() <= 1


def test_cielab_tiff_is_converted_to_srgb(tmp_path):
    path = tmp_path / "lab.tif"
    lab = Image.new("LAB", (4, 4), (255, 128, 128))  # L* 100, a* 0, b* 0: white
    lab.paste((128, 200, 128), (0, 0, 2, 4))  # L* 50, a* +72: a strong red
    lab.save(path)

    scan = load_scan(path)

    assert scan.source_mode == "LAB"
    assert np.abs(pixels(scan.image)[0, 3] - 255).max() <= 2
    red, green, blue = pixels(scan.image)[0, 0]
    assert red > 180 and green < 80 and red > blue


def test_bilevel_png_becomes_black_and_white(tmp_path):
    path = tmp_path / "line-art.png"
    bits = np.zeros((4, 4), dtype=bool)
    bits[:, 2:] = True
    Image.fromarray(bits).save(path)

    image = load_scan(path).image

    assert pixels(image)[0, 0].tolist() == [0, 0, 0] and pixels(image)[0, 3].tolist() == [255, 255, 255]


@pytest.mark.parametrize(("suffix", "options"), [(".webp", {"lossless": True}), (".bmp", {})])
def test_webp_and_bmp_decode_exactly(tmp_path, suffix, options):
    original = noisy_rgb((20, 12), seed=3)
    path = tmp_path / f"photo{suffix}"
    original.save(path, **options)

    scan = load_scan(path)

    assert scan.source_format == ("WEBP" if suffix == ".webp" else "BMP")
    assert np.array_equal(pixels(scan.image), pixels(original))
    assert scan.capture_date is None and scan.exif == b""


def test_a_colour_photo_is_not_grey_and_a_grey_one_is(tmp_path):
    colour, grey = tmp_path / "colour.jpg", tmp_path / "grey.jpg"
    noisy_rgb((64, 48)).save(colour, quality=90)
    noisy_rgb((64, 48)).convert("L").save(grey, quality=90)

    assert not load_scan(colour).is_grey
    assert load_scan(grey).is_grey and load_scan(grey).source_mode == "L"


@pytest.mark.parametrize(
    "block",
    [
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",  # claims 65,535 entries, holds none
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # first IFD far beyond the block
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x69\x87\x04\x00\x01\x00\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00",  # Exif IFD pointer to nowhere
    ],
    ids=["entry-count", "ifd-offset", "sub-ifd-offset"],
)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow's own notice of the damage
def test_damaged_exif_does_not_cost_the_photo(tmp_path, block):
    path = tmp_path / "damaged-exif.jpg"
    noisy_rgb((16, 12)).save(path, quality=90, exif=block)

    scan = load_scan(path)

    assert scan.image.size == (16, 12)
    assert scan.capture_date is None


def test_truncated_jpeg_is_refused_naming_the_file(tmp_path):
    whole = io.BytesIO()
    noisy_rgb((64, 64)).save(whole, "JPEG", quality=90)
    path = tmp_path / "cut-short.jpg"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])

    with pytest.raises(ImageError, match=r"cut-short\.jpg: truncated"):
        load_scan(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False, "refusing must not switch Pillow to accepting truncated files"


def test_truncated_png_is_refused(tmp_path):
    whole = io.BytesIO()
    noisy_rgb((64, 64)).save(whole, "PNG")
    path = tmp_path / "cut-short.png"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])

    with pytest.raises(ImageError, match=r"cut-short\.png: "):
        load_scan(path)


def test_random_bytes_named_jpg_are_not_an_image(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    with pytest.raises(ImageError, match=r"holiday\.jpg: not an image file \(cannot identify image"):
        load_scan(path)


def test_an_unsupported_format_is_not_opened(tmp_path):
    path = tmp_path / "animation.gif"
    noisy_rgb((8, 8)).save(path)

    with pytest.raises(ImageError, match="not an image file"):
        load_scan(path)


def test_an_empty_file_is_a_zero_size_image(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    with pytest.raises(ImageError, match=r"empty\.jpg: zero-size image"):
        load_scan(path)


def test_a_header_claiming_100000_squared_pixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))

    with pytest.raises(ImageError, match=r"bomb\.png: .*exceeds the limit of 120 megapixels"):
        load_scan(path)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_header_just_over_the_limit_gets_our_message(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(12_000, 11_000))

    with pytest.raises(ImageError, match=r"huge\.png: 12000×11000 = 132 megapixels exceeds the limit of 120 megapixels"):
        load_scan(path)


def test_a_caller_can_set_a_lower_pixel_limit(tmp_path):
    path = tmp_path / "small.png"
    noisy_rgb((20, 10)).save(path)

    with pytest.raises(ImageError, match=r"small\.png: 20×10 = 0\.0002 megapixels exceeds the limit of 0\.0001 megapixels"):
        load_scan(path, max_pixels=100)
    assert load_scan(path, max_pixels=200).image.size == (20, 10)
    assert DEFAULT_MAX_PIXELS == 120_000_000


def test_a_missing_file_is_a_storage_error_not_a_bad_image(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_scan(tmp_path / "gone.jpg")


def test_decode_stage_file_reads_stage_pngs_and_touch_ups(tmp_path):
    stage = tmp_path / "stage.png"
    original = noisy_rgb((30, 20))
    original.save(stage)
    touch_up = tmp_path / "touch-up.jpg"
    exif = Image.Exif()
    exif[ORIENTATION] = 3
    original.save(touch_up, quality=98, exif=exif.tobytes())

    assert np.array_equal(pixels(decode_stage_file(stage)), pixels(original))
    turned = decode_stage_file(touch_up)
    assert turned.mode == "RGB" and turned.size == (30, 20)
    upright = pixels(jpeg_roundtrip(original, 98).rotate(180))
    assert np.abs(pixels(turned) - upright).mean() < 2.0


def test_decode_stage_file_applies_the_same_refusals(tmp_path):
    path = tmp_path / "stage.png"
    path.write_bytes(b"not a png at all")

    with pytest.raises(ImageError, match=r"stage\.png: not an image file"):
        decode_stage_file(path)
