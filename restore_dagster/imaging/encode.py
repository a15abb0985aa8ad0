"""Web encodings: the smallest JPEG or WebP that still looks like the restored picture, and lossless stage files.

``encode_smallest`` searches each format's quality for the lowest one whose SSIM against the
original meets the floor (SSIM falls monotonically with quality, so a binary search finds it),
then keeps the smallest result that also fits the byte cap. On a large picture the search runs on
a *proxy*: a mosaic of full-resolution tiles sampled across the picture, scored at the scale the
whole picture would be scored at. Compression artefacts are local (8×8 and 16×16 blocks, tiles
aligned to them), so the proxy needs nearly the same quality as the whole. The whole picture is
then encoded where the proxy points, its real SSIM corrects the proxy's bias, and the search
finishes on the whole picture only if the corrected guess still falls short: about seven encodes
of one megapixel and two of the whole picture per format, instead of seven of the whole.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops

from .errors import EncodeError
from .exif import JPEG_EXIF_LIMIT, restored_exif_bytes
from .ssim import SsimReference

# The search never goes below 40: under it, JPEG's 8×8 blocks and WebP's smearing show as soon as a
# phone zooms in, which an SSIM measured at screen size cannot see. Above 95 a JPEG grows fast and
# gains nothing visible (the Pillow documentation's advice too).
QUALITY_RANGE = (40, 95)
# Tile side of the proxy mosaic: a multiple of 16 so JPEG's 4:2:0 MCUs and WebP's macroblocks fall
# on the same grid in a tile as in the whole picture.
_TILE = 256
# Pictures up to this many pixels are searched directly; larger ones through a mosaic of this size.
_PROXY_PIXELS = 1_048_576
_WEBP_MAX_SIDE = 16383


@dataclass
class Encoded:
    """One encoded picture, ready to write to the gallery."""

    data: bytes
    format: str  # "JPEG" or "WEBP"
    quality: int
    ssim: float  # against the picture it was encoded from, as :func:`~restore_dagster.imaging.ssim` measures
    width: int
    height: int


def encode_smallest(
    image: Image.Image,
    ssim_floor: float = 0.97,
    max_bytes: int = 4_000_000,
    formats: tuple[str, ...] = ("JPEG", "WEBP"),
    exif: bytes = b"",
    comment: str = "",
    icc_profile: bytes | None = None,
) -> Encoded:
    """The smallest encoding among ``formats`` with SSIM ≥ ``ssim_floor`` and at most ``max_bytes`` bytes.

    ``exif`` (a scan's kept EXIF) is written with ``comment`` added as UserComment, as the
    ImageDescription when the photo has none, and for JPEG as a COM marker too. Raises
    :class:`EncodeError` naming, for each format, what it reached, when none meets both limits:
    the caller decides whether to relax the floor, raise the cap or shrink the picture.
    """
    unknown = [name for name in formats if name.upper() not in _ENCODERS]
    if unknown or not formats:
        raise ValueError(f"encode_smallest: formats must be a non-empty subset of {tuple(_ENCODERS)}, got {formats!r}")
    if image.width == 0 or image.height == 0:
        raise ValueError(f"encode_smallest: cannot encode a zero-size image ({image.width}×{image.height})")
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image.mode == "RGB" and _exactly_grey(image):
        image = image.convert("L")  # JPEG then stores one channel instead of three; WebP has no grey mode
    reference = SsimReference(image)
    proxy = _proxy(image, reference.scale)
    passing: list[Encoded] = []
    failures: list[str] = []
    for name in formats:
        outcome = _best_for_format(_ENCODERS[name.upper()], image, reference, proxy, ssim_floor, max_bytes, exif, comment, icc_profile)
        if isinstance(outcome, Encoded):
            passing.append(outcome)
        else:
            failures.append(outcome)
    if not passing:
        raise EncodeError(
            f"no encoding of the {image.width}×{image.height} picture reaches SSIM {ssim_floor} within {max_bytes:,} bytes: "
            + "; ".join(failures)
        )
    return min(passing, key=lambda encoded: len(encoded.data))


@dataclass
class _Proxy:
    image: Image.Image
    reference: SsimReference


def _proxy(image: Image.Image, scale: float) -> _Proxy:
    """A mosaic of evenly spread full-resolution tiles, or the picture itself when it is small.

    A long thin strip (a panorama under two tiles high) is searched whole: tiles would not fit.
    """
    if image.width * image.height <= _PROXY_PIXELS or min(image.size) < 2 * _TILE:
        return _Proxy(image, SsimReference(image, scale))
    per_side = max(1, math.isqrt(_PROXY_PIXELS // (_TILE * _TILE)))
    mosaic = Image.new(image.mode, (per_side * _TILE, per_side * _TILE))
    lefts = _spread(image.width, per_side)
    tops = _spread(image.height, per_side)
    for row, top in enumerate(tops):
        for column, left in enumerate(lefts):
            tile = image.crop((left, top, left + _TILE, top + _TILE))
            mosaic.paste(tile, (column * _TILE, row * _TILE))
    return _Proxy(mosaic, SsimReference(mosaic, scale))


def _spread(length: int, count: int) -> list[int]:
    """``count`` tile origins spread evenly over ``length``, on the 16-pixel grid, tiles inside the picture."""
    last = max(0, length - _TILE)
    return [min(last, (round(last * index / max(count - 1, 1)) // 16) * 16) for index in range(count)]


def _best_for_format(
    encoder: type[_Jpeg] | type[_Webp],
    image: Image.Image,
    reference: SsimReference,
    proxy: _Proxy,
    floor: float,
    max_bytes: int,
    exif: bytes,
    comment: str,
    icc_profile: bytes | None,
) -> Encoded | str:
    """The lowest passing quality's full encoding, or a sentence saying why this format fails.

    1. Bisect the quality on the proxy. 2. Encode the whole picture there: the difference between
    its SSIM and the proxy's is the proxy's bias on this picture. 3. Bisect the proxy again
    against the floor corrected by that bias, and encode the whole picture there. 4. Only if that
    still falls short, bisect on the whole picture between it and the lowest quality known to pass.
    Usually two full encodes, rarely more than four.
    """
    name = encoder.name
    if name == "WEBP" and max(image.size) > _WEBP_MAX_SIDE:
        return f"WEBP: {image.width}×{image.height} exceeds WebP's {_WEBP_MAX_SIDE}-pixel side limit"
    metadata = _Metadata(exif, comment, icc_profile, image.size)
    proxy_scores: dict[int, float] = {}
    full: dict[int, tuple[bytes, float]] = {}

    def proxy_score(quality: int) -> float:
        if quality not in proxy_scores:
            proxy_scores[quality] = proxy.reference.score(_decode(encoder.encode(proxy.image, quality)))
        return proxy_scores[quality]

    def full_score(quality: int) -> float:
        if quality not in full:
            data = encoder.encode(image, quality, metadata)
            full[quality] = data, reference.score(_decode(data))
        return full[quality][1]

    low, high = QUALITY_RANGE
    first = _lowest_passing(proxy_score, floor, low, high) or high
    bias = full_score(first) - proxy_score(first)
    second = _lowest_passing(proxy_score, floor - bias, low, high) or high
    if full_score(second) >= floor:
        quality = second
    else:
        # The answer lies above the corrected guess and at or below the lowest quality already
        # known to pass on the whole picture (the first guess, when it passed).
        known_pass = min((q for q, (_, score) in full.items() if score >= floor), default=high)
        quality = _lowest_passing(full_score, floor, second + 1, known_pass)
    if quality is None:
        return f"{name}: SSIM {full_score(high):.4f} at quality {high}, the highest allowed, is below the floor"
    data, achieved = full[quality]
    if len(data) > max_bytes:
        return f"{name}: quality {quality} is the lowest to reach SSIM {achieved:.4f} and takes {len(data):,} bytes"
    return Encoded(data=data, format=name, quality=quality, ssim=achieved, width=image.width, height=image.height)


def _lowest_passing(score: Callable[[int], float], floor: float, low: int, high: int) -> int | None:
    """The lowest quality in [low, high] scoring ≥ floor, assuming scores rise with quality; None if none does."""
    if low > high:
        return None
    while low < high:
        middle = (low + high) // 2
        if score(middle) >= floor:
            high = middle
        else:
            low = middle + 1
    return low if score(low) >= floor else None


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as decoded:
        decoded.load()
        return decoded if decoded.mode in ("RGB", "L") else decoded.convert("RGB")


@dataclass
class _Metadata:
    exif: bytes
    comment: str
    icc_profile: bytes | None
    size: tuple[int, int]


class _Jpeg:
    name = "JPEG"

    @staticmethod
    def encode(image: Image.Image, quality: int, metadata: _Metadata | None = None) -> bytes:
        """Progressive, Huffman-optimised, 4:2:0: the decoded pixels do not depend on the first two,
        so the search encodes plainly and only the final encoding pays for them. SSIM is luma-only
        and cannot judge chroma, so subsampling is policy, not searched: 4:2:0, as cameras write.
        A grey ("L") picture is written as one channel."""
        buffer = io.BytesIO()
        options: dict = {"quality": quality, "subsampling": "4:2:0"}
        if metadata is not None:
            options.update(optimize=True, progressive=True)
            exif = restored_exif_bytes(metadata.exif, metadata.comment, metadata.size, JPEG_EXIF_LIMIT)
            if exif:
                options["exif"] = exif
            if metadata.comment:
                options["comment"] = metadata.comment.encode("utf-8")
            if metadata.icc_profile:
                options["icc_profile"] = metadata.icc_profile
        image.save(buffer, "JPEG", **options)
        return buffer.getvalue()


class _Webp:
    name = "WEBP"

    @staticmethod
    def encode(image: Image.Image, quality: int, metadata: _Metadata | None = None) -> bytes:
        """Lossy WebP, method 4, libwebp's default: on a 4K photo method 6 saved 0.5 % for 15 % more time."""
        buffer = io.BytesIO()
        options: dict = {"quality": quality, "method": 4}
        if metadata is not None:
            exif = restored_exif_bytes(metadata.exif, metadata.comment, metadata.size)
            if exif:
                options["exif"] = exif
            if metadata.icc_profile:
                options["icc_profile"] = metadata.icc_profile
        (image if image.mode == "RGB" else image.convert("RGB")).save(buffer, "WEBP", **options)
        return buffer.getvalue()


_ENCODERS = {"JPEG": _Jpeg, "WEBP": _Webp}


def _exactly_grey(image: Image.Image) -> bool:
    red, green, blue = image.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def encode_png(image: Image.Image) -> bytes:
    """A lossless PNG for stage files: zlib level 1, since stage files are rewritten often and read once."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


write_png_bytes = encode_png
