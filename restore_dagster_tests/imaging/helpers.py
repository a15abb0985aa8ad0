"""Small image makers shared by the imaging tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imaging"


def fixture_photo(name: str) -> Image.Image:
    """A real colour photograph from fixtures/imaging (see its README)."""
    with Image.open(FIXTURES / name) as image:
        return image.convert("RGB")


def noisy_rgb(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Smooth colour gradients plus noise: photo-like, and JPEG cannot compress it to nothing."""
    width, height = size
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:height, 0:width]
    base = np.stack(
        [128 + 90 * np.sin(columns / 9.0), 128 + 90 * np.cos(rows / 7.0), 128 + 60 * np.sin((columns + rows) / 11.0)], axis=-1
    )
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8), "RGB")


def tint(grey: Image.Image, dark: tuple[int, int, int], light: tuple[int, int, int]) -> Image.Image:
    """Tone a grey picture between two colours, as sepia or cyanotype toning does."""
    level = np.asarray(grey.convert("L"), dtype=np.float32)[..., None] / 255.0
    toned = np.array(dark, dtype=np.float32) + level * (np.array(light, dtype=np.float32) - np.array(dark, dtype=np.float32))
    return Image.fromarray(np.rint(toned).astype(np.uint8), "RGB")


def jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return decoded.convert("RGB")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` 8-bit grey pixels and holds almost no data: a bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b"")


def rgb16_tiff(pixels: np.ndarray) -> bytes:
    """An uncompressed, little-endian, 16-bit-per-sample RGB TIFF (what flatbed scanners write).

    Pillow cannot write this layout, so the test writes the few tags a reader needs itself.
    """
    height, width, _ = pixels.shape
    data = pixels.astype("<u2").tobytes()
    bits_offset = 8
    data_offset = bits_offset + 6
    ifd_offset = data_offset + len(data)
    entries = [
        (256, 3, 1, width),  # ImageWidth
        (257, 3, 1, height),  # ImageLength
        (258, 3, 3, bits_offset),  # BitsPerSample → three SHORTs (16, 16, 16) stored at bits_offset
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 2),  # PhotometricInterpretation: RGB
        (273, 4, 1, data_offset),  # StripOffsets
        (277, 3, 1, 3),  # SamplesPerPixel
        (278, 3, 1, height),  # RowsPerStrip
        (279, 4, 1, len(data)),  # StripByteCounts
        (284, 3, 1, 1),  # PlanarConfiguration: chunky
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<H", value) + b"\x00\x00" if kind == 3 and count == 1 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<HHH", 16, 16, 16) + data + ifd


def film_grain(image: Image.Image, amplitude: float, seed: int = 0) -> Image.Image:
    """``image`` with film-like grain: clumped (a 0.8-pixel blur of white noise, grains a few pixels
    across as a waifu2x upscale of a grainy scan shows them), the same in every channel, strongest in
    the midtones as in a print (``amplitude`` grey levels there, 40 % of it in black and white)."""
    import cv2

    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = base.shape[:2]
    noise = cv2.GaussianBlur(np.random.default_rng(seed).standard_normal((height, width)).astype(np.float32), (0, 0), 0.8)
    noise /= noise.std()
    level = base.mean(axis=2) / 255.0
    grain = amplitude * (0.4 + 2.4 * level * (1.0 - level)) * noise
    return Image.fromarray(np.clip(np.rint(base + grain[..., None]), 0, 255).astype(np.uint8), "RGB")


def grainy_4k_scan(amplitude: float = 3.0, seed: int = 0) -> Image.Image:
    """scikit-image's astronaut enlarged to 3840×2560 (Lanczos) with film grain: a 4K restoration
    of a grainy print, whose grain a screen-scale SSIM averages away."""
    from skimage import data

    return film_grain(Image.fromarray(data.astronaut()).resize((3840, 2560), Image.Resampling.LANCZOS), amplitude, seed)


def grain_kept(reference: Image.Image, candidate: Image.Image, block: int = 32) -> float:
    """The median, over 32×32 blocks, of the grain's amplitude left in ``candidate`` (the standard
    deviation of what a 2-pixel Gaussian smooths away, candidate over reference): a blotch is a
    block near 0, a faithful encoding is near 1. Deliberately not the encoder's own measure."""
    import cv2

    def band(image: Image.Image) -> np.ndarray:
        grey = np.asarray(image.convert("L"), dtype=np.float32)
        return grey - cv2.GaussianBlur(grey, (0, 0), 2.0)

    x, y = band(reference), band(candidate)
    rows, columns = x.shape[0] // block, x.shape[1] // block
    shape = (rows, block, columns, block)
    spread_x = x[: rows * block, : columns * block].reshape(shape).std(axis=(1, 3))
    spread_y = y[: rows * block, : columns * block].reshape(shape).std(axis=(1, 3))
    return float(np.median(spread_y / np.maximum(spread_x, 1e-3)))
