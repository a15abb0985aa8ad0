"""How faithful a web encoding is where people look: on a whole screen, and zoomed in to 1:1.

The published 4K picture is seen two ways: whole on a phone or laptop screen (about two megapixels),
and zoomed in on a phone, where one picture pixel fills one screen pixel or more. A candidate
encoding is scored both ways, with one floor each, and must meet both:

- ``screen``: SSIM at screen scale (:data:`~restore_dagster.imaging.ssim.SSIM_MAX_PIXELS`), the
  measure and the 0.97 floor the project has always used. It sees blocking, ringing and lost
  structure at the size a viewer sees the whole picture.
- ``detail``: the share of the picture's fine texture (film grain, skin, fabric) that the encoding
  keeps at 1:1. SSIM at screen scale averages grain away before comparing, so a WebP at quality
  40–50 that turned the grain on faces into smooth, plastic patches passed 0.97. SSIM at full
  resolution does not see it either where the grain is faint: its constant C2 = (0.03·255)² ≈ 58
  outweighs a grain of 3 levels (variance 9), and on a 4K scan with such grain WebP q55 scored
  0.936 at 1:1 with more than half of the grain gone (measured; BENCHMARKS.md).

The detail measure is the "detail lost" half of SSIMULACRA 2's edge map (Jon Sneyers, 2022: where
the original has texture and the encoding is smooth), in texture *energy* on luma at full
resolution: ``h = Y − G₁.₅(Y)`` is the grain band, ``E = G₄(h²)`` its local energy over about a
phone's zoomed view of a pore, and at each pixel ``kept = min(1, √((E_enc + 1) / (E_orig + 1)))``:
the fraction of the texture's amplitude left, where one grey level of amplitude (the ``+ 1``) is
what cannot be seen. Texture the encoding *adds* (JPEG's mosquito noise) is not rewarded: the screen
SSIM judges artefacts. The score is the mean of ``kept`` weighted by how visible the original's
texture is, ``E_orig / (E_orig + 1)``, so a flat sky neither hides nor adds to blotches on a face,
and a picture with no texture scores 1.

Floor 0.90, calibrated on 3840×2560 photographs with film-like grain of 3 and 6 levels
(bench/bench_compress.py makes them) by looking at 1:1 crops: WebP keeps the grain from quality
~88 (faint grain) or ~82 (strong), JPEG from 40–50, AVIF from ~60; below those WebP and AVIF smear
it. SSIMULACRA 2 (the PyPI port ``ssimulacra2`` 0.3.0, not a dependency) on a 1024² crop of a
7-level-grain picture: the WebP and AVIF encodings at the floor score 74–75 (its "high quality"
band; 90 is visually lossless), the WebP q40–70 that the screen floor alone let through 46–63.
What this measure does not judge is an encoding's own artefacts at 1:1: JPEG q40–50 keeps the grain
(detail 0.89–0.92) but SSIMULACRA 2 rates its blocking 60–66; only the screen SSIM and the search's
lowest quality (40) hold JPEG there. BENCHMARKS.md has the table.

Why not SSIMULACRA 2 or Butteraugli themselves: the search scores about ten candidates per format
and must finish a 4K picture in under 2 s on a CPU. The only packaged SSIMULACRA 2 for Python is a
young single-author NumPy port taking 5–10 s per megapixel here, Butteraugli has no maintained
Python package, and a port of either (XYB, six scales, three channels) would cost many times this
measure and could not be checked against the C++ reference here. This measure is the part of them
this damage needs, costs two blurs per candidate, and is easy to state and test.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .ssim import SsimReference, luma

SCREEN_FLOOR = 0.97
DETAIL_FLOOR = 0.90

_GRAIN_SIGMA = 1.5  # the grain band: what a 1.5-pixel Gaussian (SSIM's window) smooths away
_AREA_SIGMA = 4.0  # the neighbourhood whose texture energy is compared (about 10 pixels across)
_VISIBLE = 1.0  # squared amplitude, in grey levels², under which texture cannot be seen
# From this many pixels (a 4K picture's, not a 1-megapixel proxy's) the two measures are computed in
# two threads: each takes tens of milliseconds there, against a thread's fraction of one.
_SPLIT_PIXELS = 4_000_000
# How far from a seam between a mosaic's tiles the detail measure looks away, in full-resolution
# pixels: the grain band (σ 1.5) and the energy average (σ 4) each spread the seam's step by about
# three σ, 4.5 + 12 pixels, and at 16 the step of a seam is down to what cannot be seen.
SEAM_MARGIN = 16


@dataclass(frozen=True)
class Floors:
    """The lowest screen SSIM and the lowest share of detail kept at 1:1 allowed."""

    screen: float = SCREEN_FLOOR
    detail: float = DETAIL_FLOOR

    def lowered(self, by: Fidelity) -> Floors:
        """These floors minus a per-measure bias (what a proxy over- or under-estimates)."""
        return Floors(self.screen - by.screen, self.detail - by.detail)


@dataclass(frozen=True)
class Fidelity:
    """SSIM of one encoding at screen scale, and the share of fine texture it keeps at 1:1."""

    screen: float
    detail: float

    def meets(self, floors: Floors) -> bool:
        return self.screen >= floors.screen and self.detail >= floors.detail

    def minus(self, other: Fidelity) -> Fidelity:
        return Fidelity(self.screen - other.screen, self.detail - other.detail)

    def describe(self) -> str:
        return f"SSIM {self.screen:.4f} on screen, detail {self.detail:.4f} at 1:1"


def _texture_energy(grey: np.ndarray) -> np.ndarray:
    """Local energy of the grain band. The band is taken at full resolution (grain is a pixel or two
    across); its energy is smooth at the 4-pixel scale it is averaged over, so it is averaged on a
    grid halved by area-averaging (exact for a box, close for the Gaussian that follows), which makes
    the measure about twice as fast on a 4K picture."""
    band = grey - cv2.GaussianBlur(grey, (0, 0), _GRAIN_SIGMA, borderType=cv2.BORDER_REFLECT)
    band *= band
    if min(band.shape) >= 4 * _AREA_SIGMA:
        band = cv2.resize(band, (band.shape[1] // 2, band.shape[0] // 2), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(band, (0, 0), _AREA_SIGMA / 2, borderType=cv2.BORDER_REFLECT)
    return cv2.GaussianBlur(band, (0, 0), _AREA_SIGMA, borderType=cv2.BORDER_REFLECT)


class DetailReference:
    """One picture's texture energy at 1:1, kept so that many candidates can be scored cheaply.

    ``tile``: the picture is a mosaic of tiles this many pixels across (the encoder's proxy), and
    the seams between them are left out of the score. A seam is a hard step between unrelated parts
    of a picture, the strongest "texture" in a smooth one, and WebP's loop filter smooths it where
    the whole picture has nothing of the kind: scored, the seams alone took a 4K picture upscaled from
    a small scan from 0.999 of its detail kept at WebP quality 40 to 0.81 in the proxy.
    """

    def __init__(self, grey: np.ndarray, tile: int | None = None) -> None:
        self.shape = grey.shape
        self._energy = _texture_energy(grey) + _VISIBLE
        self._weight = 1.0 - _VISIBLE / self._energy  # E / (E + 1): how visible the original's texture is
        if tile:
            self._weight *= _away_from_seams(self._energy.shape, grey.shape, tile)
        self._total = float(self._weight.sum(dtype=np.float64))

    def score(self, grey: np.ndarray) -> float:
        """The visibility-weighted mean share of texture amplitude kept; 1.0 for a picture without texture."""
        if grey.shape != self.shape:
            raise ValueError(f"detail: image sizes differ: {self.shape[1]}×{self.shape[0]} vs {grey.shape[1]}×{grey.shape[0]}")
        if self._total < 1e-6:
            return 1.0
        kept = np.sqrt((_texture_energy(grey) + _VISIBLE) / self._energy)
        np.minimum(kept, 1.0, out=kept)
        kept *= self._weight
        return min(1.0, float(kept.sum(dtype=np.float64)) / self._total)


def _away_from_seams(shape: tuple[int, int], full: tuple[int, int], tile: int) -> np.ndarray:
    """1 where a cell of ``shape`` (the energy's grid, maybe halved) lies at least
    :data:`SEAM_MARGIN` full-resolution pixels from every inner seam of a ``tile`` mosaic of size
    ``full``; 0 elsewhere. The mosaic's outer edges are not seams: blurs reflect there."""
    axes = []
    for cells, pixels in zip(shape, full):
        centres = (np.arange(cells) + 0.5) * (pixels / cells) - 0.5
        nearest = np.clip(np.round(centres / tile), 1, max(1, pixels // tile - 1)) * tile
        inner = pixels // tile > 1
        axes.append((np.abs(centres + 0.5 - nearest) >= SEAM_MARGIN) | (not inner))
    return np.outer(axes[0], axes[1]).astype(np.float32)


class FidelityReference:
    """One picture's statistics for both measures, kept so that many candidates can be scored cheaply.

    ``screen_scale`` fixes the screen measure's scale, so that a mosaic of full-resolution tiles of a
    large picture is scored at the scale the whole picture would be (the encoder's proxy), and
    ``tile`` the mosaic's tile side, whose seams the detail measure leaves out.
    """

    def __init__(self, reference: Image.Image, screen_scale: float | None = None, tile: int | None = None) -> None:
        grey = luma(reference)
        self.size = reference.size
        self._screen = SsimReference(grey, screen_scale)
        self.screen_scale = self._screen.scale
        self._detail = DetailReference(grey, tile)

    def score(self, candidate: Image.Image) -> Fidelity:
        grey = luma(candidate)
        if grey.size < _SPLIT_PIXELS:
            return Fidelity(self._screen.score(grey), self._detail.score(grey))
        # A large picture's two measures run side by side: OpenCV and NumPy release the GIL, and the
        # encoder's last full-size score is the end of its critical path on two cores.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fidelity-detail") as helper:
            detail = helper.submit(self._detail.score, grey)
            screen = self._screen.score(grey)
            return Fidelity(screen, detail.result())


def fidelity(reference: Image.Image, candidate: Image.Image) -> Fidelity:
    """``candidate``'s screen SSIM and detail kept at 1:1 against ``reference`` (same size)."""
    return FidelityReference(reference).score(candidate)
