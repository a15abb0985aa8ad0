"""The demo album: real photographs, aged to look like phone scans of old prints.

A new installation's gallery is empty, and a restoration pipeline with nothing to restore shows
nothing. ``seed_demo_album`` fills one album from the photographs that ship inside scikit-image
(public domain or CC0, no download), each put through :func:`~restore_dagster.imaging.age_photo`
and saved the ways real uploads arrive: JPEG with EXIF (one taken sideways, with an Orientation
tag), PNG, and a 16-bit greyscale TIFF from a flatbed scanner.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .files import atomic_write_bytes
from .imaging import IMAGE_SUFFIXES, age_photo
from .imaging.exif import DATE_TIME_ORIGINAL, EXIF_IFD, IMAGE_DESCRIPTION, ORIENTATION

DEFAULT_ALBUM = "demo-family-1962"


@dataclass(frozen=True)
class DemoPhoto:
    filename: str
    sample: str  # the skimage.data function that returns the photograph
    caption: str
    taken: str  # EXIF DateTimeOriginal
    sideways: bool = False  # stored rotated with EXIF Orientation 6, as a phone held sideways writes it


CATALOGUE = (
    DemoPhoto("01-astronaut.jpg", "astronaut", "Aunt Eileen in her flight suit", "1962:05:24 11:30:00"),
    DemoPhoto("02-cameraman.jpg", "camera", "Dad with the new camera", "1962:06:02 16:05:00"),
    DemoPhoto("03-coffee.png", "coffee", "Coffee at the seaside cafe", "1962:06:17 09:45:00"),
    DemoPhoto("04-chelsea-the-cat.jpg", "chelsea", "Chelsea the cat", "1962:07:01 14:20:00", sideways=True),
    DemoPhoto("05-rocket-launch.tif", "rocket", "The launch we drove out to see", "1962:07:10 06:15:00"),
    DemoPhoto("06-coins.jpg", "coins", "Grandpa's coin collection", "1962:08:12 19:00:00"),
    DemoPhoto("07-motorcycle.png", "stereo_motorcycle", "Uncle Jim's motorcycle", "1962:08:30 12:00:00"),
    DemoPhoto("08-moon.jpg", "moon", "The moon through the telescope", "1962:09:14 22:40:00"),
)


def seed_demo_album(gallery_root: Path, album: str = DEFAULT_ALBUM, count: int = 6) -> list[Path]:
    """Write the first ``count`` demo photos into ``gallery_root/album/``; return the paths written.

    Idempotent: a photo already there (even one a person has since replaced) is left alone and not
    returned. Each file appears whole or not at all (temporary file, then rename).
    """
    if not 0 <= count <= len(CATALOGUE):
        raise ValueError(f"seed_demo_album: count must be between 0 and {len(CATALOGUE)}, got {count}")
    if not album or album in (".", "..") or "/" in album or "\\" in album or album.startswith("."):
        raise ValueError(f"seed_demo_album: album must be one visible folder name, got {album!r}")
    folder = Path(gallery_root) / album
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, photo in enumerate(CATALOGUE[:count]):
        target = folder / photo.filename
        if target.exists():
            continue
        atomic_write_bytes(target, _render(photo, seed))
        written.append(target)
    return written


def gallery_is_empty(gallery_root: Path) -> bool:
    """True when no visible album folder under ``gallery_root`` holds an image file (or it does not exist)."""
    root = Path(gallery_root)
    if not root.is_dir():
        return True
    for album in root.iterdir():
        if album.name.startswith(".") or not album.is_dir():
            continue
        for entry in album.iterdir():
            if not entry.name.startswith(".") and entry.suffix.lower() in IMAGE_SUFFIXES and entry.is_file():
                return False
    return True


def _render(photo: DemoPhoto, seed: int) -> bytes:
    aged = age_photo(_sample_photo(photo.sample), seed=seed)
    suffix = Path(photo.filename).suffix
    buffer = io.BytesIO()
    if suffix == ".jpg":
        exif = Image.Exif()
        exif[IMAGE_DESCRIPTION] = photo.caption
        exif[EXIF_IFD] = {DATE_TIME_ORIGINAL: photo.taken}
        if photo.sideways:
            aged = aged.transpose(Image.Transpose.ROTATE_90)  # Orientation 6 turns it back upright
            exif[ORIENTATION] = 6
        aged.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    elif suffix == ".png":
        aged.save(buffer, "PNG")
    elif suffix == ".tif":
        # A flatbed scanner's 16-bit greyscale: the full 0–65535 range, so 8 bits scale by 257.
        grey16 = np.asarray(aged.convert("L"), dtype=np.uint16) * np.uint16(257)
        Image.fromarray(grey16).save(buffer, "TIFF", compression="tiff_deflate")
    else:
        raise ValueError(f"demo photo {photo.filename}: no writer for {suffix} files")
    return buffer.getvalue()


def _sample_photo(name: str) -> Image.Image:
    try:
        from skimage import data as samples
    except ImportError as error:  # a dependency in pyproject.toml; this names it if an install lacks it
        raise RuntimeError("seed_demo_album needs scikit-image, whose sample photographs make the demo album") from error
    pixels = getattr(samples, name)()
    if isinstance(pixels, tuple):  # stereo pairs come with their right image and disparity map
        pixels = pixels[0]
    return Image.fromarray(np.ascontiguousarray(pixels))


