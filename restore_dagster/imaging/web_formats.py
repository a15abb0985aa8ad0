"""The web formats' encoders: how each writes a picture at a quality, with the scan's metadata.

Each encoder class has a ``name`` (Pillow's format), the ``max_side`` it allows (0: no limit of its
own), ``where_lowest_passes`` (a variant the search uses instead when that variant's lowest quality
already meets the floors, or None), and ``encode(image, quality, metadata=None)``: without metadata
it is one of the search's probes, with it the published file. The search itself is
:mod:`~restore_dagster.imaging.encode`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from .exif import JPEG_EXIF_LIMIT, restored_exif_bytes

WEBP_MAX_SIDE = 16383


@dataclass
class FileMetadata:
    """What a published file carries besides the picture: the scan's kept EXIF, the restoration's
    note (``comment``), the ICC profile, and the picture's size (for the EXIF's dimensions)."""

    exif: bytes
    comment: str
    icc_profile: bytes | None
    size: tuple[int, int]


class Jpeg:
    name = "JPEG"
    max_side = 65535
    where_lowest_passes = None

    @staticmethod
    def encode(image: Image.Image, quality: int, metadata: FileMetadata | None = None) -> bytes:
        """Progressive, Huffman-optimised, 4:2:0. The decoded pixels depend on neither of the first
        two. The search's probes are Huffman-optimised too, because their bytes predict the file's
        when a format is pruned and optimising takes 5–25 % off a JPEG (1–4 ms more a 1-megapixel
        probe); progressive only in the file, where it takes off another 0–6 % for 5–10 ms more a
        probe. SSIM is luma-only and cannot judge chroma, so subsampling is policy, not searched:
        4:2:0, as cameras write. A grey ("L") picture is written as one channel."""
        buffer = io.BytesIO()
        options: dict = {"quality": quality, "subsampling": "4:2:0", "optimize": True}
        if metadata is not None:
            options["progressive"] = True
            exif = restored_exif_bytes(metadata.exif, metadata.comment, metadata.size, JPEG_EXIF_LIMIT)
            if exif:
                options["exif"] = exif
            if metadata.comment:
                options["comment"] = metadata.comment.encode("utf-8")
            if metadata.icc_profile:
                options["icc_profile"] = metadata.icc_profile
        _own_copy(image).save(buffer, "JPEG", **options)
        return buffer.getvalue()


class WebpOptimised:
    """Lossy WebP, method 4 (libwebp's default), used where its lowest quality meets the floors: its
    rate-distortion optimisation makes a smooth picture's file 7–11 % smaller than method 2 at the
    same quality (on a 4K photo method 6 saved 0.5 % more for 15 % more time)."""

    name = "WEBP"
    max_side = WEBP_MAX_SIDE
    where_lowest_passes: type[WebpOptimised] | None = None
    method = 4

    @classmethod
    def encode(cls, image: Image.Image, quality: int, metadata: FileMetadata | None = None) -> bytes:
        return webp_bytes(image, quality, metadata, cls.method)


class Webp(WebpOptimised):
    """Lossy WebP, method 2, unless the picture's lowest quality meets the floors at method 4
    (``where_lowest_passes``, asked once per search on the proxy). Above the lowest quality it is the
    picture's grain that sets the quality the floors need, and method 4's rate-distortion optimisation
    trades away exactly that grain: method 2 keeps it at a lower quality, so on every grainy 4K
    picture measured its passing file was smaller (by 21–46 %), and its one full-size encode 2–3×
    faster (0.43–0.57 s against 0.92–1.44 s). BENCHMARKS.md has the table."""

    where_lowest_passes = WebpOptimised
    method = 2


def webp_bytes(image: Image.Image, quality: int, metadata: FileMetadata | None, method: int) -> bytes:
    return _rgb_file(image, "WEBP", {"quality": quality, "method": method}, metadata)


class Avif:
    name = "AVIF"
    max_side = 0  # AV1 allows 65536; the settings' long_side stops at 16384
    where_lowest_passes = None

    @staticmethod
    def encode(image: Image.Image, quality: int, metadata: FileMetadata | None = None) -> bytes:
        """AVIF (AV1 through libaom, Pillow's default codec), speed 10, 4:2:0.

        On a 4K grainy photo speed 10 was 1.3–1.5× faster than 8 and 4× faster than 6 for a file
        1–4 % larger at the same 1:1 SSIM (BENCHMARKS.md): the search encodes a dozen candidates."""
        return _rgb_file(image, "AVIF", {"quality": quality, "speed": 10, "subsampling": "4:2:0"}, metadata)


def _rgb_file(image: Image.Image, format_name: str, options: dict, metadata: FileMetadata | None) -> bytes:
    """WebP and AVIF (neither has a grey mode): the picture in RGB, with the scan's kept EXIF (the
    restoration's note added) and ICC profile when ``metadata`` is given (the file, not a probe)."""
    buffer = io.BytesIO()
    if metadata is not None:
        exif = restored_exif_bytes(metadata.exif, metadata.comment, metadata.size)
        if exif:
            options["exif"] = exif
        if metadata.icc_profile:
            options["icc_profile"] = metadata.icc_profile
    (_own_copy(image) if image.mode == "RGB" else image.convert("RGB")).save(buffer, format_name, **options)
    return buffer.getvalue()


ENCODERS = {"JPEG": Jpeg, "WEBP": Webp, "AVIF": Avif}


def _own_copy(image: Image.Image) -> Image.Image:
    """A copy to save from: ``Image.save`` keeps its options on the image object (``encoderinfo``), so
    two threads saving one image at once would swap qualities. A copy costs about 1 % of an encode."""
    return image.copy()


Encoder = type[Jpeg] | type[Webp] | type[WebpOptimised] | type[Avif]
