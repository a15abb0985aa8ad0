"""Tone and colour restoration of old prints: black and white points, contrast, dye fade and cast.

Two kinds of print, two corrections, both measured on robust percentiles of a small working copy
and applied as smooth curves, so grain and detail are untouched and nothing is clipped:

* Black-and-white and toned prints (``grey``): the fog (grey blacks) and the dull whites are taken
  out of the *luminance* only, through a levels curve from its 0.5th to 99.5th percentile. Each pixel's
  colour is then scaled with its luminance, so its chromaticity stays: a sepia print stays sepia,
  a selenium print keeps its cool blacks. The colouriser reads luminance only (DeOldify keeps Y and
  replaces U, V), so a toned print colourises as its grey would.
* Colour prints: the dyes fade unevenly (cyan and yellow before magenta, in dark storage), lifting the
  blacks differently in each channel, and a cast tints the whole print. The correction is per channel:
  levels from each channel's own robust black and white points (a robust black and white balance:
  the darkest and brightest parts of a print are nearly neutral), the whites balanced to the
  brightest channel rather than pushed to white, and a share of them done in linear light (the blacks
  are lifted partly by a stain, light added to every level, which sRGB levels would leave darkening
  the mid-tones; VEIL_SHARE); then, since a dye loses density through the whole
  scale and not only at the ends, a power per channel on the mid-tones, estimated blindly from the
  print's grey pixels (midtones.py). Stretching each channel's range and darkening the faded dyes'
  mid-tones gives them their saturation back, and the curves reach 0 and 255 only at the picture's
  own extremes, so skin and other strong colours are not clipped.
  Tried and measured worse on the benchmark (bench/bench_tone.py, mean ΔE00 after / before over
  five photographs, three casts, three strengths): a further saturation boost in proportion to the
  stretch (0.69 with 0.1 per unit of stretch, 0.72 with 0.2, against 0.68 without), levels wholly in
  linear light (0.89, without mid-tone powers) or in optical density (0.94), and a grey-world balance of the channels' mid-tones
  (0.73 at half strength: it greys a green lawn).

``auto`` corrects only a print measured faded (see ``ToneMeasure.faded``); anything else is left
exactly as it is, and the record says what was measured and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .dye_fade import linear_to_srgb, srgb_to_linear
from .greyness import chroma_planes
from .midtones import MIN_GREY_SHARE, estimate_midtone_powers, power_curve
from .sampling import rgb_array

# Working copy for the percentiles: stable to a fraction of a level, ~10 ms.
_ANALYSIS_SIDE = 512
# Robust ends: the darkest and brightest half percent are specular glints, dust and scratches.
_LOW_PERCENTILE, _HIGH_PERCENTILE = 0.5, 99.5
# Where those ends are put. Not 0 and 255: the half percent beyond them keeps a few levels of room
# (shadow detail, paper texture in the highlights) instead of being clipped flat.
TARGET_BLACK, TARGET_WHITE = 4.0, 250.0
# A print is faded (auto, see ToneMeasure.faded) when its blacks sit above FOG_LEVEL (or, grey, its
# whites below 255 − DULL_LEVELS). Measured on scikit-image's colour photographs: unfaded blacks at
# 0–11 (the darkest channel), faded at the benchmark's lightest strength (0.25) 30–40.
FOG_LEVEL = 16.0
DULL_LEVELS = 20.0
# Channels' ends this far apart are reported as a possible cast (recorded, not decisive: see faded).
CAST_SPREAD = 16.0
# The contrast a curve may add: a nearly flat picture (fog, a blank sheet) is not stretched into noise.
MAX_STRETCH = 4.0
# The most mid-tone power a channel may get is its levels' stretch to this power: a dye that lost
# density through the mid-tones lost range too, so a channel that needed little stretch (a light
# fade, an unfaded photograph under ``on``) cannot have lost much in the mid-tones either.
MIDTONE_POWER_PER_STRETCH = 1.0
# The share of the main contrast kept between the robust ends and the picture's real extremes.
KEEP_AT_ENDS = 0.5
# A colour print's lifted blacks have two causes: the dyes' lost density (a curve in the levels, which
# levels in sRGB levels and the mid-tone powers undo) and a stain or veil, light *added* to every
# level (paper base and binder yellowing), which only a subtraction in linear light undoes: the same
# ends levelled in sRGB levels leave the mid-tones of a veiled print too dark. The levels curve inside
# the robust ends is this share of the linear-light one, the rest sRGB levels (see _veil_levels).
VEIL_SHARE = 0.25


@dataclass(frozen=True)
class ToneMeasure:
    """What a print's levels say: per channel (R, G, B; all three equal for a grey print) ends."""

    black: tuple[float, ...]
    white: tuple[float, ...]
    grey: bool

    @property
    def fog(self) -> float:
        return min(self.black)

    @property
    def dull(self) -> float:
        return 255.0 - max(self.white)

    @property
    def cast(self) -> float:
        return 0.0 if self.grey else max(max(self.black) - min(self.black), max(self.white) - min(self.white))

    @property
    def faded(self) -> bool:
        """What ``auto`` decides from. Colour: lifted blacks only, the mark of lost dye density; dull
        whites or channels ending apart alone are what a scene without white or black is (a cat, a
        rocket against an orange sky: 25–69 levels apart unfaded), so they do not decide. Grey: the
        fog or dull paper whites (a print's paper is white)."""
        return self.fog > FOG_LEVEL or (self.grey and self.dull > DULL_LEVELS)

    def reasons(self) -> list[str]:
        """What reads as fading, for the record."""
        found = []
        if self.fog > FOG_LEVEL:
            found.append(f"blacks lifted to {self.fog:.0f}")
        if self.dull > DULL_LEVELS:
            found.append(f"whites down to {255 - self.dull:.0f}")
        if self.cast > CAST_SPREAD:
            found.append(f"channels' ends {self.cast:.0f} levels apart")
        return found

    def to_json(self) -> dict:
        return {"black": [round(v, 1) for v in self.black], "white": [round(v, 1) for v in self.white],
                "fog": round(self.fog, 1), "dull": round(self.dull, 1), "cast": round(self.cast, 1)}


@dataclass
class ToneResult:
    """What the step did, for the record: ``applied`` and a one-line ``summary``."""

    applied: bool
    summary: str
    measure: ToneMeasure
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"toned": self.applied, "tone": self.summary, "tone_measure": self.measure.to_json(), **self.details}


def luma(rgb: np.ndarray) -> np.ndarray:
    return chroma_planes(rgb)[0]


def measure(image: Image.Image, grey: bool) -> ToneMeasure:
    """The robust black and white points of ``image``: of its luminance when ``grey``, else per channel."""
    small = rgb_array(image, _ANALYSIS_SIDE).astype(np.float32)
    planes = [luma(small)] * 3 if grey else [small[..., c] for c in range(3)]
    ends = [np.percentile(p, [_LOW_PERCENTILE, _HIGH_PERCENTILE]) for p in planes]
    return ToneMeasure(tuple(float(e[0]) for e in ends), tuple(float(e[1]) for e in ends), grey)


def levels_curve(black: float, white_point: float, white: float = TARGET_WHITE,
                 lowest: float = 0.0, highest: float = 255.0) -> np.ndarray:
    """256 output levels taking ``black``→TARGET_BLACK and ``white_point``→``white`` in a straight line.

    ``lowest`` and ``highest`` are the darkest and brightest levels the picture really has (its
    extremes, not percentiles): they stay within 0–255, and the few levels between them and the
    percentiles keep at least KEEP_AT_ENDS of the main contrast. A small real highlight (a glint, a
    white collar) brighter than the 99.5th percentile is thereby kept in gradations, not clipped or
    squeezed into two levels; the targets give way when needed. Contrast is limited to MAX_STRETCH.
    """
    levels = np.arange(256, dtype=np.float64)
    black, white_point = float(black), max(float(white_point), float(black) + 1.0)
    lowest, highest = min(float(lowest), black), max(float(highest), white_point)
    gain = min((white - TARGET_BLACK) / (white_point - black), MAX_STRETCH,
               255.0 / ((white_point - black) + KEEP_AT_ENDS * ((highest - white_point) + (black - lowest))))
    out_black = max(TARGET_BLACK, KEEP_AT_ENDS * gain * (black - lowest))
    out_white = min(out_black + gain * (white_point - black), 255.0 - KEEP_AT_ENDS * gain * (highest - white_point))
    out_black = out_white - gain * (white_point - black)
    # Beyond the robust ends the main slope goes on while there is room, and bends only as much as
    # the room requires: the extremes reach 0 or 255 only when they must.
    out_lowest = out_black - min(gain, out_black / max(black - lowest, 1e-6)) * (black - lowest)
    out_highest = out_white + min(gain, (255.0 - out_white) / max(highest - white_point, 1e-6)) * (highest - white_point)
    curve = np.interp(levels, [lowest, black, white_point, highest], [out_lowest, out_black, out_white, out_highest])
    return np.clip(curve, 0.0, 255.0)


def _veil_levels(curve: np.ndarray, black: float, white_point: float, share: float | None = None) -> np.ndarray:
    """``curve`` (a :func:`levels_curve`) with its main range, ``black`` to ``white_point``, taken ``share``
    of the way to the same levels done in linear light: the ends stay where ``curve`` puts them (so the
    extremes' handling and the gain limit are kept and the curve stays continuous), the mid-tones are
    lifted as removing an additive veil of light lifts them. ``share`` defaults to VEIL_SHARE (0: ``curve``)."""
    share = VEIL_SHARE if share is None else share
    levels = np.arange(256, dtype=np.float64)
    black, white_point = float(black), max(float(white_point), float(black) + 1.0)
    inside = (levels > black) & (levels < white_point)
    ends = np.interp([black, white_point], levels, curve)
    lin_in = srgb_to_linear(levels / 255.0)
    lin_black, lin_white = srgb_to_linear(np.array([black, white_point]) / 255.0)
    lin_out = srgb_to_linear(ends / 255.0)
    linear = lin_out[0] + (lin_in - lin_black) / max(lin_white - lin_black, 1e-9) * (lin_out[1] - lin_out[0])
    veiled = linear_to_srgb(linear) * 255.0
    return np.where(inside, (1.0 - share) * curve + share * veiled, curve)


def _equivalent_power(base: np.ndarray, curve: np.ndarray, black: float, white: float) -> float:
    """The power on the range ``black``–``white`` that takes ``base``'s mid-tones nearest to ``curve``'s
    (median over the levels whose ``base`` lies in the middle three fifths of the range)."""
    span = max(white - black, 1e-6)
    b, c = (np.clip((np.asarray(x, np.float64) - black) / span, 1e-6, 1.0) for x in (base, curve))
    middle = (b > 0.2) & (b < 0.8)
    return float(np.median(np.log(c[middle]) / np.log(b[middle]))) if middle.any() else 1.0


def _within_gamut(base: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``base + k·delta`` with the largest k ≤ 1 per pixel that keeps every channel in 0–255."""
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(delta > 0, (255.0 - base) / delta, np.inf)
        down = np.where(delta < 0, -base / delta, np.inf)
    k = np.clip(np.minimum(up, down).min(axis=-1, keepdims=True), 0.0, 1.0)
    return base + k * delta


def _restore_grey(image: Image.Image, measured: ToneMeasure) -> tuple[Image.Image, dict]:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    old = luma(rgb)
    curve = levels_curve(measured.black[0], measured.white[0], TARGET_WHITE, float(old.min()), float(old.max()))
    new = np.interp(old, np.arange(256), curve).astype(np.float32)
    # Scale each pixel's colour with its luminance: its chromaticity (the print's tone) is kept; where
    # that would push a channel past 255 the tint is reduced there instead.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(old > 0.5, new / old, 0.0)[..., None]
    neutral = np.repeat(new[..., None], 3, axis=-1)
    toned = _within_gamut(neutral, rgb * ratio - neutral)
    out = Image.fromarray(np.clip(np.rint(toned), 0, 255).astype(np.uint8), "RGB")
    return out, {"curve_black": round(measured.black[0], 1), "curve_white": round(measured.white[0], 1)}


def _restore_colour(image: Image.Image, measured: ToneMeasure) -> tuple[Image.Image, dict]:
    # The whites are balanced to the brightest channel's, not pushed to a fixed white: a scene with
    # no white in it (a cat, a lawn) keeps its brightness (measured: ΔE00 0.66× the faded input
    # against 0.71× with every channel's white pushed to TARGET_WHITE).
    white_target = max(TARGET_BLACK + 1.0, min(max(measured.white), TARGET_WHITE))
    extremes = image.convert("RGB").getextrema()
    levels = [levels_curve(measured.black[c], measured.white[c], white_target, *extremes[c]) for c in range(3)]
    veiled = [_veil_levels(levels[c], measured.black[c], measured.white[c]) for c in range(3)]
    # The levels fix the ends; the dyes' density lost in the mid-tones is estimated on the levelled
    # working copy and composed into the same curves (one lookup, no rounding in between).
    small = rgb_array(image, _ANALYSIS_SIDE)
    levelled = np.stack([veiled[c][small[..., c]] for c in range(3)], axis=-1)
    stretch = [(white_target - TARGET_BLACK) / max(measured.white[c] - measured.black[c], 1.0) for c in range(3)]
    # The bound on each channel's power (its stretch) is on the darkening from the plain levels: the
    # veil's share lightened the mid-tones first, so the power may make that back on top of it.
    bound = tuple(max(1.0, s) ** MIDTONE_POWER_PER_STRETCH
                  / _equivalent_power(levels[c], veiled[c], TARGET_BLACK, white_target) for c, s in enumerate(stretch))
    midtones = estimate_midtone_powers(levelled, TARGET_BLACK, white_target, bound)
    # The veil's share lightens the mid-tones, which the powers then darken by the dyes' density
    # loss. A picture without grey surfaces gets no powers, and then the plain levels' darker
    # mid-tones are the better guess at that loss (measured on bench/bench_tone.py: the coffee cup
    # with magenta fading first 0.48× against 0.51× with the veil; see BENCHMARKS.md).
    evidence = midtones.grey_share >= MIN_GREY_SHARE
    curves = [power_curve((veiled if evidence else levels)[c], midtones.powers[c], TARGET_BLACK, white_target)
              for c in range(3)]
    lut = [int(v) for curve in curves for v in np.rint(curve)]
    return image.convert("RGB").point(lut), {"white_target": round(white_target, 1),
                                             "veil_share": VEIL_SHARE if evidence else 0.0, **midtones.to_json()}


def restore_tone(image: Image.Image, grey: bool, mode: str = "auto") -> tuple[Image.Image, ToneResult]:
    """``image`` with its tone restored per ``mode`` (auto, on, off), and what was done.

    ``grey``: a black-and-white or toned print (as :func:`~restore_dagster.imaging.is_grey_image`
    says); its luminance is corrected and its tone kept. Alpha, if any, is kept.
    """
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"tone mode must be auto, on or off, not {mode!r}")
    measured = measure(image, grey)
    if mode == "off":
        return image, ToneResult(False, "off: the picture passed through unchanged", measured)
    reasons = measured.reasons()
    if mode == "auto" and not measured.faded:
        return image, ToneResult(False, f"auto: not faded (blacks at {measured.fog:.0f}): left as it is", measured)
    restore = _restore_grey if grey else _restore_colour
    out, details = restore(image, measured)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        out.putalpha(image.convert("RGBA").getchannel("A"))
    kind = "black-and-white print: levels of its luminance, its tone kept" if grey else \
        "colour print: dye fade and cast corrected per channel, saturation restored"
    why = ", ".join(reasons) if reasons else "tone on"
    return out, ToneResult(True, f"{kind} ({why})", measured, details)
