"""Pillow/NumPy/OpenCV helpers for old photographs: safe decoding, grey detection, quality measures,
web encodings, previews, and artificial ageing. A plain library: it never imports Dagster.

Modules: ``decode`` (files → :class:`Scan`), ``exif`` (dates, kept EXIF, restoration note),
``greyness`` (grey detection, colourfulness), ``ssim``, ``fidelity`` (SSIM on a screen and at 1:1),
``encode`` (smallest JPEG/WebP/AVIF and a JPEG for downloads, stage PNGs),
``preview`` (data URIs), ``ageing`` (the demo's damage), ``perspective`` (four corners → a straight
rectangle), ``sheet_split`` (the prints on a flatbed sheet), ``errors``.
"""

from .ageing import age_photo
from .decode import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, Scan, decode_stage_file, load_scan, probe_image
from .encode import Encoded, WebEncoding, encode_for_web, encode_png, encode_smallest, write_png_bytes
from .fidelity import Fidelity, Floors, fidelity
from .errors import EncodeError, ImageError, ImageTooLarge, NotAnImage
from .greyness import GREY_THRESHOLD, colourfulness, is_grey_image
from .preview import before_after_preview, preview_data_uri
from .ssim import SSIM_MAX_PIXELS, ssim

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "GREY_THRESHOLD",
    "IMAGE_SUFFIXES",
    "SSIM_MAX_PIXELS",
    "EncodeError",
    "WebEncoding",
    "Encoded",
    "Fidelity",
    "Floors",
    "ImageError",
    "ImageTooLarge",
    "NotAnImage",
    "Scan",
    "age_photo",
    "before_after_preview",
    "colourfulness",
    "decode_stage_file",
    "fidelity",
    "encode_for_web",
    "encode_png",
    "encode_smallest",
    "is_grey_image",
    "load_scan",
    "preview_data_uri",
    "probe_image",
    "ssim",
    "write_png_bytes",
]
