"""Open a scan safely and normalise it: 8-bit RGB, upright, with its EXIF, colour profile and date.

Every file a family uploads is untrusted: it may not be an image, may be cut short by a phone's
upload, or may be a few hundred bytes that claim to be 100,000 × 100,000 pixels. Each of those ends
as an :class:`ImageError` that names the file and the reason, and the pixel limit is checked from
the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from . import exif as exif_tags
from .errors import ImageError, ImageTooLarge, NotAnImage
from .greyness import is_grey_image

DEFAULT_MAX_PIXELS = 120_000_000

# What the gallery may hold. Only these decoders ever see an upload: fewer parsers, less attack
# surface. Pillow's JPEG opener also yields "MPO", its name for the JPEGs many phones write (extra
# frames appended); the first frame is the photo. HEIC/HEIF (what iPhones store) is decoded by
# pillow-heif (libheif), registered with Pillow here as the format "HEIF"; AVIF is not registered.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif"})
FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF")
_FORMATS = FORMATS

# Opening reads only the container's boxes (size, EXIF, profile); the HEVC data is decoded at load(),
# after our pixel limit was checked from the header. libheif's own security limits stay on. libheif
# applies the file's rotation and mirroring (irot/imir, where iPhones record how the phone was held)
# and pillow-heif then sets the EXIF Orientation to 1, so the picture is never turned twice.
pillow_heif.register_heif_opener()

# Pillow warns above Image.MAX_IMAGE_PIXELS and refuses above twice that. Our own limit, checked
# from the header, is the one that decides; Pillow's must not fire first for a legitimate 100 MP
# scan, so it is raised (never lowered or disabled) to our default.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < DEFAULT_MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

# EXIF Orientation → the transposition that makes the stored pixels upright (ImageOps.exif_transpose's
# table, applied here to the converted image so the source mode never needs transposing).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_SRGB = ImageCms.createProfile("sRGB")
# CIELab TIFFs (some archival scanners) have no RGB conversion in Pillow itself.
_LAB_TO_SRGB = ImageCms.buildTransform(ImageCms.createProfile("LAB"), _SRGB, "LAB", "RGB")

# Errors Pillow's decoders raise on damaged data (zlib for PNG, struct for headers read mid-decode).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


@dataclass
class Scan:
    """A decoded scan, ready for the restoration models."""

    image: Image.Image  # 8-bit RGB, upright
    is_grey: bool  # monochrome, including sepia-toned and colour-cast prints: to be colourised
    greyness: float  # chroma not explained by a tint (greyness.untinted_chroma); < GREY_THRESHOLD is grey
    source_format: str  # "JPEG", "PNG", "TIFF", "WEBP", "BMP" or "HEIF"
    source_mode: str  # Pillow mode of the file: "L", "I;16", "RGB", "CMYK", "P", ...
    source_size: tuple[int, int]  # width × height as displayed (after EXIF orientation)
    capture_date: str | None  # ISO 8601 from EXIF DateTimeOriginal or DateTime
    exif: bytes  # the file's EXIF with Orientation reset to 1, or b""
    icc_profile: bytes | None  # an RGB profile the pixels are in; None means sRGB


@dataclass
class _Decoded:
    image: Image.Image
    source_format: str
    source_mode: str
    exif: Image.Exif
    icc_profile: bytes | None


def load_scan(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, stream: BinaryIO | None = None) -> Scan:
    """Decode ``path`` into a :class:`Scan`, or raise :class:`ImageError` saying why it cannot be one.

    A missing or unreadable file raises the usual ``OSError``: that is a storage problem, not a bad
    photo. ``stream``, when given, is ``path`` already opened by the caller (the gallery opens
    originals without following links); ``path`` then only names it in messages.
    """
    decoded = _decode(Path(path), max_pixels, stream)
    grey, measure = is_grey_image(decoded.image)
    taken, kept = _dates_and_kept_exif(decoded.exif)
    return Scan(
        image=decoded.image,
        is_grey=grey,
        greyness=measure,
        source_format=decoded.source_format,
        source_mode=decoded.source_mode,
        source_size=decoded.image.size,
        capture_date=taken,
        exif=kept,
        icc_profile=decoded.icc_profile,
    )


def decode_stage_file(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, stream: BinaryIO | None = None) -> Image.Image:
    """An 8-bit RGB, upright image from a stage PNG or a person's touched-up file, with load_scan's checks."""
    return _decode(Path(path), max_pixels, stream).image


def probe_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, tuple[int, int]]:
    """(format, upright size) of a file, after decoding every pixel with load_scan's checks.

    What the web gallery asks of an upload before keeping it: the type comes from the decoder, never
    from the name or the declared content type, and a truncated file is caught now, not in the run.
    """
    decoded = _decode(Path(path), max_pixels)
    return decoded.source_format, decoded.image.size


def _decode(path: Path, max_pixels: int, opened: BinaryIO | None = None) -> _Decoded:
    with opened or path.open("rb") as stream:  # storage errors (missing, permissions) surface here, unwrapped
        if os.fstat(stream.fileno()).st_size == 0:
            raise ImageError(f"{path}: zero-size image (the file is empty)")
        image = _open(path, stream, max_pixels)
        try:
            image.load()
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(f"{path}: {error}") from error
        except _DECODE_ERRORS as error:
            reason = "truncated" if "truncated" in str(error).lower() else "corrupt image data"
            raise ImageError(f"{path}: {reason} ({error})") from error
        source_exif = _readable_exif(image)
        icc = image.info.get("icc_profile") or None
        rgb, kept_icc = _to_rgb8(image, icc, path)
    transpose = _UPRIGHT.get(source_exif.get(exif_tags.ORIENTATION, 1))
    if transpose is not None:
        rgb = rgb.transpose(transpose)
    return _Decoded(
        image=rgb,
        source_format="JPEG" if image.format == "MPO" else str(image.format),
        source_mode=image.mode,
        exif=source_exif,
        icc_profile=kept_icc,
    )


def _readable_exif(image: Image.Image) -> Image.Exif:
    """The file's EXIF with its sub-IFDs parsed, or an empty one when the block is damaged.

    Damaged EXIF is common (editors that rewrite it badly) and must not cost the photo its restoration.
    """
    try:
        exif = image.getexif()
        exif.get_ifd(exif_tags.EXIF_IFD)
        exif.get_ifd(exif_tags.GPS_IFD)
        return exif
    except _DECODE_ERRORS + (KeyError, TypeError):
        return Image.Exif()


def _dates_and_kept_exif(exif: Image.Exif) -> tuple[str | None, bytes]:
    """The capture date and the EXIF to keep; nothing of either when the block cannot be rewritten."""
    try:
        return exif_tags.capture_date(exif), exif_tags.kept_exif_bytes(exif)
    except _DECODE_ERRORS + (KeyError, TypeError):
        return None, b""


def _open(path: Path, stream: io.BufferedReader, max_pixels: int) -> Image.Image:
    """Identify the file and check its declared size; no pixel data is decoded yet."""
    try:
        image = Image.open(stream, formats=_FORMATS)
    except UnidentifiedImageError as error:
        raise NotAnImage(f"{path}: not an image file (cannot identify image; JPEG, PNG, TIFF, WebP, BMP and HEIC are supported)") from error
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"{path}: exceeds the limit of {_megapixels(max_pixels)} megapixels ({error})") from error
    except _DECODE_ERRORS as error:
        raise ImageError(f"{path}: corrupt image header ({error})") from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{path}: zero-size image ({width}×{height} pixels)")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"{path}: {width}×{height} = {_megapixels(width * height)} megapixels exceeds the limit of {_megapixels(max_pixels)} megapixels"
        )
    return image


def _megapixels(pixels: int) -> str:
    value = pixels / 1_000_000
    return f"{round(value):,}" if value >= 10 else f"{value:.2g}"


def _to_rgb8(image: Image.Image, icc: bytes | None, path: Path) -> tuple[Image.Image, bytes | None]:
    """8-bit RGB pixels and the profile they are in (None = sRGB).

    An RGB profile stays with the pixels, untouched, so a wide-gamut scan loses nothing and the
    published file embeds it again. A CMYK file is converted through its profile to sRGB. Grey
    profiles (a scanner's "Gray Gamma 2.2") are dropped: their curve is within a few levels of
    sRGB's, and an RGB file cannot carry a grey profile.
    """
    space = icc[16:20] if icc and len(icc) >= 20 else b""  # the ICC header's data colour space
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_srgb(image, icc if space == b"CMYK" else None), None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        image = _sixteen_bit_to_l(image)
    elif mode == "F":
        image = _float_to_l(image)
    elif mode == "1":
        image = image.convert("L")
    elif mode == "LAB":
        image = ImageCms.applyTransform(image, _LAB_TO_SRGB)
    if _has_transparency(image):
        rgb = _flatten_on_white(image)
    else:
        try:
            rgb = image.convert("RGB")
        except ValueError as error:
            raise ImageError(f"{path}: unsupported pixel mode {mode} ({error})") from error
    return rgb, icc if space == b"RGB " else None


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """16-bit grey scaled to 8 bits (v / 257, rounded: 65535 → 255, 32896 → 128), never clipped.

    Pillow's own I;16 → L conversion clips everything above 255 to white. Mode "I" holds the same
    0–65535 range in 32-bit integers (older Pillow's 16-bit PNGs), so it is scaled the same way.
    """
    values = np.asarray(image).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")


def _float_to_l(image: Image.Image) -> Image.Image:
    """Floating-point grey: 0–1 when nothing exceeds 1 (the usual convention), else 0–255; NaN is black."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _flatten_on_white(image: Image.Image) -> Image.Image:
    """Composite onto white: transparent areas of a scan are paper, and a print's paper is white."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _cmyk_to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Through the file's CMYK profile when it has a usable one, else Pillow's naive formula."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile must not cost the photo; the formula is close enough to see it
    return image.convert("RGB")

