"""Undo the tonal drift a resampling step adds: the result gets its source's levels back.

waifu2x's UpPhoto networks are not tone-neutral. Asked to upscale a flat grey ``v`` they answer
about ``v − v/256`` (−0.5 at mid-grey, −1 in the highlights; the denoising networks a little less,
and not the same in each channel), and the drift compounds over the 2× passes: a 256-pixel scan
taken to 3840 in four passes came out 1.4–2.1 levels darker on average, its highlights 2–6 levels
lower. Lanczos resampling and the web encodings do not drift (measured: under 0.1 level).

The drift is a smooth function of the level in each channel, so it is undone as one: the result is
brought to the source's size (Lanczos on float samples, which keeps every mean), each channel's
source levels are regressed on the result's (a parabola), and that curve is applied to the
full-size result through a lookup table. The regression of source on result, not the reverse, is
what a denoiser calls for: the source is the result plus the noise it removed, and noise that is
independent of the result does not bend the curve. A least-squares fit with a constant term also
keeps the mean, so the published mean is the scan's to within rounding.

Only drift is undone, never a real change: no level may move more than ``MAX_OFFSET`` and the
curve's slope must stay within ``MAX_GAIN_CHANGE`` of 1; a larger disagreement (a different
picture) is left alone and said so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# A drift of 1 % a pass is 4 % over four passes; a slope 8 % off (or a level moved more than 8)
# leaves room and still refuses a real tonal change.
MAX_GAIN_CHANGE = 0.08
MAX_OFFSET = 8.0
_DEGREE = 2
# Long side both pictures are compared at: enough pixels for a stable line, cheap on a 4K result.
_ANALYSIS_SIDE = 512
# Below this standard deviation (levels) a channel is flat: only its offset can be measured.
_FLAT = 2.0


@dataclass(frozen=True)
class LevelCorrection:
    """Per channel (R, G, B), the level each result level 0–255 becomes; ``applied`` false when refused."""

    tables: tuple[tuple[float, ...], ...]  # 3 × 256 corrected levels, unrounded
    mean_shift: float  # the result's mean minus the source's before the correction, in levels
    applied: bool
    reason: str = ""

    def to_json(self) -> dict:
        """What the record keeps: the correction at black, mid-grey and white per channel, and why."""
        at = {str(level): [round(t[level] - level, 2) for t in self.tables] for level in (0, 128, 255)}
        return {"correction_at": at, "mean_shift_before": round(self.mean_shift, 3),
                "applied": self.applied, "reason": self.reason}


def _float_planes(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The RGB channels as float32 planes resampled (Lanczos) to ``size``: 3 × H × W."""
    rgb = image.convert("RGB")
    planes = [np.asarray(band, dtype=np.float32) for band in rgb.split()]
    if rgb.size != size:
        planes = [np.asarray(Image.fromarray(p, "F").resize(size, Image.Resampling.LANCZOS)) for p in planes]
    return np.stack(planes)


def _analysis_size(result: Image.Image, source: Image.Image) -> tuple[int, int]:
    width, height = min(result.size, source.size, key=lambda s: s[0] * s[1])
    scale = min(1.0, _ANALYSIS_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _channel_table(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """The 256 corrected levels of one channel: ``want`` regressed on ``got``.

    A parabola, not a line: the drift grows faster in the highlights than the mid-tones (measured on
    three photographs taken 8× in three passes: a line left their brightest 2 % 0.5–0.8 level off, a
    parabola within 0.4). Outside the levels the picture has (0.5th–99.5th percentile) the curve is
    not known, so the correction there is held at its value at the nearest end instead of extrapolated.
    """
    levels = np.arange(256, dtype=np.float64)
    if got.std() < _FLAT:  # a flat channel: only its offset is known
        return levels + float(want.mean() - got.mean())
    coefficients = np.polyfit(got / 255.0, want / 255.0, _DEGREE)
    low, high = np.percentile(got, [0.5, 99.5])
    inside = np.clip(levels, low, high)
    return levels + (np.polyval(coefficients, inside / 255.0) * 255.0 - inside)


def measure(result: Image.Image, source: Image.Image) -> LevelCorrection:
    """The per-channel curve taking ``result``'s levels back to ``source``'s (same picture, any sizes)."""
    size = _analysis_size(result, source)
    got, want = _float_planes(result, size), _float_planes(source, size)
    tables = np.stack([_channel_table(g, w) for g, w in zip(got.reshape(3, -1).astype(np.float64),
                                                            want.reshape(3, -1).astype(np.float64))])
    shift = float(got.mean() - want.mean())
    levels = np.arange(256, dtype=np.float64)
    worst = float(np.abs(tables - levels).max())
    slope = np.diff(tables, axis=1)
    if worst > MAX_OFFSET or slope.min() < 1.0 - MAX_GAIN_CHANGE or slope.max() > 1.0 + MAX_GAIN_CHANGE:
        identity = tuple(tuple(levels.tolist()) for _ in range(3))
        return LevelCorrection(identity, shift, False,
                               f"not a drift (up to {worst:.1f} levels, slope {slope.min():.3f}–{slope.max():.3f}): left as is")
    return LevelCorrection(tuple(tuple(t.tolist()) for t in tables), shift, True)


def apply(image: Image.Image, correction: LevelCorrection) -> Image.Image:
    """``image`` with ``correction``'s curves applied to its colour channels (alpha kept)."""
    if not correction.applied:
        return image
    lut: list[int] = []
    for table in correction.tables:
        lut.extend(np.clip(np.rint(np.asarray(table)), 0, 255).astype(int).tolist())
    corrected = image.convert("RGB").point(lut)
    if image.mode == "RGBA":
        corrected.putalpha(image.getchannel("A"))
    return corrected


def keep_levels(result: Image.Image, source: Image.Image) -> tuple[Image.Image, LevelCorrection]:
    """``result`` (an upscaling of ``source``) with ``source``'s levels, and the correction made."""
    correction = measure(result, source)
    return apply(result, correction), correction
