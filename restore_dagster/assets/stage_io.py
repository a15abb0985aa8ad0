"""Stage images written in the background and handed to the next stage in memory.

A 4K stage PNG takes 0.3–0.6 s to encode and 0.2 s to decode on one core, three times a photo; on a
GPU that host work, not the networks, bounds the album's speed. Two things take it off the critical
path while every stage file is still written (touch-ups start from them, a resumed run reads them):

* ``StageWriter``: a stage hands its image over and goes on with the next photo while a writer
  thread encodes it and writes it atomically (the usual temporary file and rename). ``run_stage``
  writes the photo's record only once its files are on disk, so a record never names a file that
  is not there, and waits for every write before the step ends; a failed write fails its photo.
* ``StageImages``: the decoded image each write leaves behind, kept in this process (bounded by
  ``$RESTORE_STAGE_CACHE_MB``, default 1024) under the identity of the file it wrote (device, inode,
  size, modification time). The next stage, in the same process (Dagster's in-process executor),
  gets a copy of it instead of decoding the file; a file replaced or touched since is decoded again.
"""
from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from restore_dagster import imaging
from restore_dagster.files import atomic_write_bytes

ENV_CACHE_MB = "RESTORE_STAGE_CACHE_MB"
DEFAULT_CACHE_MB = 1024
# Two encoders: zlib releases the GIL, so two photos' PNGs encode on two cores while the main
# thread runs the next photo; more would only queue 30 MB images in memory on a small machine.
WRITER_THREADS = 2


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class StageImages:
    """Decoded stage images this process wrote, by path, while the file on disk is still that one."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._images: OrderedDict[str, tuple[tuple, Image.Image]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @classmethod
    def from_env(cls) -> "StageImages":
        try:
            megabytes = int(os.environ.get(ENV_CACHE_MB) or DEFAULT_CACHE_MB)
        except ValueError:
            raise ValueError(f"${ENV_CACHE_MB} must be a whole number of megabytes, got {os.environ[ENV_CACHE_MB]!r}") from None
        return cls(max(0, megabytes) * 2**20)

    def remember(self, path: Path, image: Image.Image) -> None:
        """Keep ``image`` as what ``path`` (just written from it) decodes to. Only 8-bit RGB, which is
        what ``decode_stage_file`` returns; anything else is decoded from the file when asked for."""
        size = image.width * image.height * 3
        if image.mode != "RGB" or size > self.max_bytes:
            return
        key, identity = str(Path(path).absolute()), _identity(path)
        with self._lock:
            self._drop(key)
            self._images[key] = (identity, image)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._images)))

    def read(self, path: str | Path) -> Image.Image:
        """The stage image at ``path``: a copy of the one kept when the file is still the one written
        from it, else decoded from disk with ``decode_stage_file``'s checks."""
        path = Path(path)
        key = str(path.absolute())
        with self._lock:
            kept = self._images.get(key)
        if kept is not None:
            try:
                same = _identity(path) == kept[0]
            except OSError:
                same = False
            if same:
                with self._lock:
                    self.hits += 1
                    if key in self._images:
                        self._images.move_to_end(key)
                return kept[1].copy()  # the caller may change its copy; the kept one stays what the file holds
            with self._lock:
                self._drop(key)
        with self._lock:
            self.misses += 1
        return imaging.decode_stage_file(path)

    def clear(self) -> None:
        with self._lock:
            self._images.clear()
            self._bytes = 0

    def _drop(self, key: str) -> None:
        kept = self._images.pop(key, None)
        if kept is not None:
            self._bytes -= kept[1].width * kept[1].height * 3


STAGE_IMAGES = StageImages.from_env()


def encode_stage_image(path: Path, image: Image.Image) -> bytes:
    """``image`` in the lossless format ``path``'s extension names: uncompressed TIFF for ``.tif``
    (the 4K stages: 0.04 s to encode and 0.05 s to decode at 4K against PNG's 1.7 s and 0.35 s, for
    twice the bytes; bench/bench_stage_files.py), else PNG (zlib level 1).

    Saved from a copy: a :class:`StageWriter` encodes on its own thread while the stage goes on
    with the same image object (its preview, for one), and ``Image.save`` keeps each save's options
    on the object (``encoderinfo``, ``encoderconfig``), so a PNG and a JPEG saved from one object at
    once swapped them (Pillow's "function takes at most 6 arguments (16 given)", a photo failed)."""
    image = image.copy()
    if Path(path).suffix == ".tif":
        buffer = io.BytesIO()
        image.save(buffer, "TIFF", compression="raw")
        return buffer.getvalue()
    return imaging.encode_png(image)


def write_stage_image(path: Path, image: Image.Image, images: StageImages = STAGE_IMAGES) -> Path:
    """Encode ``image`` as a stage file, write it atomically and keep it for the next stage's read."""
    atomic_write_bytes(path, encode_stage_image(path, image))
    images.remember(path, image)
    return path


class StageWriter:
    """Writes one step's stage images on background threads; ``wait`` before the step ends.

    The image handed to ``write`` must not be changed afterwards (stages make new images, they never
    paint over one they have written).
    """

    def __init__(self, threads: int = WRITER_THREADS, images: StageImages = STAGE_IMAGES):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stage-writer")
        self._images = images

    def write(self, path: Path, image: Image.Image) -> Future:
        return self._pool.submit(write_stage_image, Path(path), image, self._images)

    def close(self) -> None:
        """Wait for every write still pending, then stop the threads."""
        self._pool.shutdown(wait=True)
