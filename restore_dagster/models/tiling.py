"""Tiled inference for fully convolutional upscalers that lose a fixed border (no Dagster here).

A model that maps ``h + 2·context`` input pixels to ``scale·h`` output pixels is run over an image in
tiles. Every tile is cut with ``context`` pixels of its real neighbours around it, and only pixels
outside the image are invented (edge replication, as waifu2x-ncnn-vulkan pads). Each output pixel
therefore sees exactly the input it would see in one whole-image call, so tiled output equals
untiled output, whatever the tile size.

Memory stays bounded for any image: the input and output live as (uint8) NumPy arrays and only
one tile at a time is ever a float tensor. When a tile runs out of memory, the memory is released and the work
left (the failed tile included) is cut into tiles half as big, down to a minimum.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from restore_dagster.models.device import is_out_of_memory

Region = tuple[int, int, int, int]  # y0, y1, x0, x1 of a tile's core, in input pixels
TileProgress = Callable[[int, int, int], None]  # (tiles done, tiles in all, current tile size)


class TileOutOfMemoryError(RuntimeError):
    """Even the smallest allowed tile did not fit in the device's memory."""


def spans(length: int, tile: int) -> list[tuple[int, int]]:
    """Cut ``range(length)`` into the fewest spans of at most ``tile``, sizes differing by at most one.

    Balanced spans avoid a sliver of a last tile, which would pay the full context overhead for
    almost no output.
    """
    if length < 1 or tile < 1:
        raise ValueError(f"cannot cut length {length} into tiles of {tile}")
    count = math.ceil(length / tile)
    edges = [round(i * length / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count)]


def grid(height: int, width: int, tile: int) -> list[Region]:
    """Row-major tiles covering a ``height × width`` image."""
    return [(y0, y1, x0, x1) for y0, y1 in spans(height, tile) for x0, x1 in spans(width, tile)]


def count_tiles(height: int, width: int, tile: int) -> int:
    return math.ceil(height / tile) * math.ceil(width / tile)


def tile_for_budget(
    budget_bytes: int, bytes_per_pixel: float, context: int, min_tile: int, max_tile: int
) -> int:
    """The largest tile whose padded input, at ``bytes_per_pixel`` of working memory, fits the budget."""
    side = math.isqrt(max(0, int(budget_bytes / bytes_per_pixel))) - 2 * context
    return max(min_tile, min(max_tile, side))


def cut_with_context(image: np.ndarray, region: Region, context: int) -> np.ndarray:
    """The region plus ``context`` pixels on every side, edge-replicated only beyond the image.

    Returns a C-contiguous copy (fancy indexing), so the caller may hand it to a device as is.
    """
    height, width = image.shape[:2]
    y0, y1, x0, x1 = region
    rows = np.clip(np.arange(y0 - context, y1 + context), 0, height - 1)
    cols = np.clip(np.arange(x0 - context, x1 + context), 0, width - 1)
    return image[rows[:, None], cols[None, :]]


def run_tiled(
    image: np.ndarray,
    infer: Callable[[np.ndarray], np.ndarray],
    *,
    scale: int,
    context: int,
    tile: int,
    min_tile: int,
    release_memory: Callable[[], None],
    progress: TileProgress | None = None,
) -> tuple[np.ndarray, int]:
    """Run ``infer`` over ``image`` (H×W×C) tile by tile.

    ``infer`` receives a patch of ``(h + 2·context) × (w + 2·context) × C`` and returns
    ``scale·h × scale·w × C`` (uint8 for images; any dtype, the same for every tile). Returns the
    ``scale·H × scale·W × C`` output and the tile size in use at the end (smaller than ``tile`` after an
    out-of-memory retry), so that the caller's next pass starts from a size known to fit.
    """
    if image.ndim != 3 or min(image.shape) < 1:
        raise ValueError(f"run_tiled needs a non-empty H×W×C array, got shape {image.shape}")
    if tile < 1:
        raise ValueError(f"tile size must be at least 1 pixel, got {tile}")
    height, width, channels = image.shape
    output: np.ndarray | None = None  # allocated from the first tile's dtype
    pending: deque[Region] = deque(grid(height, width, tile))
    done = 0
    if progress is not None:
        progress(done, len(pending), tile)

    while pending:
        region = pending[0]
        failure = None
        try:
            result = infer(cut_with_context(image, region, context))
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_out_of_memory(exc):
                raise
            failure = f"{type(exc).__name__}: {exc}"
        # Out of the except block, the failed call's frames (and their tensors) are gone.
        if failure is not None:
            release_memory()
            y0, y1, x0, x1 = region
            if tile <= min_tile:
                raise TileOutOfMemoryError(
                    f"out of memory even with {tile}×{tile}-pixel tiles (the smallest allowed is "
                    f"{min_tile}); free memory on the device or run on another device. Last error: {failure}"
                )
            tile = max(min_tile, min(tile, max(y1 - y0, x1 - x0)) // 2)
            pending = deque(sub for r in pending for sub in _split(r, tile))
            if progress is not None:
                progress(done, done + len(pending), tile)
            continue

        y0, y1, x0, x1 = region
        expected = ((y1 - y0) * scale, (x1 - x0) * scale, channels)
        if output is None:
            output = np.empty((height * scale, width * scale, channels), dtype=result.dtype)
        if result.shape != expected or result.dtype != output.dtype:
            raise RuntimeError(
                f"tile inference returned shape {result.shape} dtype {result.dtype}, expected {expected} {output.dtype}"
            )
        output[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = result
        pending.popleft()
        done += 1
        if progress is not None:
            progress(done, done + len(pending), tile)
    assert output is not None  # the grid of a non-empty image has at least one tile
    return output, tile


def _split(region: Region, tile: int) -> list[Region]:
    y0, y1, x0, x1 = region
    return [(y0 + a, y0 + b, x0 + c, x0 + d) for a, b, c, d in grid(y1 - y0, x1 - x0, tile)]
