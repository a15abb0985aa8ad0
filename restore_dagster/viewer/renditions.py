"""Thumbnails and screen-size copies of scans and restorations, made on first request and cached.

A phone never downloads a 40 MB TIFF to show a 120-pixel tile: the grid asks for ``thumb`` (360 px)
and the viewer for ``screen`` (2048 px, JPEG, which every browser shows, unlike TIFF). Copies live in
``<home>/cache/renditions/`` under a hash of the file's path, size and modification time, so a
replaced original or a new restoration gets a fresh copy and the old URL can be cached for ever.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging import DEFAULT_MAX_PIXELS, ImageError, ImageTooLarge, decode_stage_file
from restore_dagster.imaging.decode import FORMATS as _FORMATS  # the same decoders as the pipeline, HEIC too

SIZES = {"thumb": 360, "screen": 2048}
_FAST_MODES = {"RGB", "L", "P", "RGBA", "LA", "YCbCr"}
# A restoration may be an AVIF (web_formats); a scan never is (the pipeline does not decode it).
_RESTORATION_FORMATS = (*_FORMATS, "AVIF")
# Decoding a big scan takes a few hundred MB: at most two at once on a two-core server.
_DECODERS = threading.BoundedSemaphore(2)


def _fast_open(path: Path, reader: BinaryIO, side: int) -> Image.Image | None:
    """The common case cheaply: JPEG's draft mode decodes at 1/2–1/8 scale. None for exotic modes."""
    formats = _RESTORATION_FORMATS if path.suffix.lower() == ".avif" else _FORMATS
    with Image.open(reader, formats=formats) as image:
        width, height = image.size
        if width * height > DEFAULT_MAX_PIXELS:
            raise ImageTooLarge(f"{path}: {width}×{height} pixels is over the limit")
        if image.mode not in _FAST_MODES:
            return None
        if image.format == "JPEG":
            image.draft("RGB", (side, side))
        image.load()
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "P"):
            background = Image.new("RGB", upright.size, (255, 255, 255))
            rgba = upright.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            return background
        return upright.convert("RGB")


def make_rendition(path: Path, side: int, reader: BinaryIO | None = None) -> bytes:
    """``path`` (or ``reader``, ``path`` opened by the caller) as a JPEG at most ``side`` pixels on its
    long side; ImageError if it cannot be read, ImageTooLarge over the pixel limit."""
    with _DECODERS, (reader or open(path, "rb")) as stream:
        try:
            image = _fast_open(path, stream, side)
        except Image.DecompressionBombError as exc:  # Pillow refuses at open, before our own check
            raise ImageTooLarge(f"{path}: too many pixels to show ({exc})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, ImageError):
                raise
            raise ImageError(f"{path}: cannot be shown ({exc})") from exc
        if image is None:  # 16-bit, CMYK, Lab...: the pipeline's careful decoder
            stream.seek(0)
            image = decode_stage_file(path, stream=stream)
        image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=82, progressive=True, optimize=True)
        return buffer.getvalue()


class RenditionCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path_for(self, source: Path, kind: str, st: os.stat_result | None = None) -> Path:
        st = st or source.stat()
        digest = hashlib.sha256(f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{kind}".encode()).hexdigest()[:32]
        return self.folder / digest[:2] / f"{digest}.jpg"

    def get(self, source: Path, kind: str, reader: BinaryIO | None = None) -> Path:
        """The cached rendition of ``source``, made now if missing. ``reader``: ``source`` opened by the
        caller without following links; it is closed here."""
        if reader is None:
            reader = open(source, "rb")
        with reader:
            target = self.path_for(source, kind, os.fstat(reader.fileno()))
            if not target.exists():
                atomic_write_bytes(target, make_rendition(source, SIZES[kind], reader))
        return target
