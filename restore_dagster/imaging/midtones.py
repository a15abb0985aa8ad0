"""The mid-tone density a faded colour print's dyes lost, estimated blindly from its grey pixels.

Per-channel levels (tone.py) put each channel's black and white back, but a dye that lost density
lost it through the whole scale, not only at the ends: in the mid-tones its channel stays too light,
by a power law (a density scaled by k is a power k of the linear light, and close to a power k of the
sRGB level). Which power each channel needs is what no percentile shows.

The estimate is a grey-pixel colour constancy (after "Efficient illuminant estimation for color
constancy using grey pixels", Yang, Gao & Li, CVPR 2015, and the grey-edge family of van de Weijer
et al. 2007): a photograph holds some neutral surfaces (clothes, walls, metal, paper, shadows) at
many brightnesses; under the wrong per-channel curves their mid-tones leave the grey axis while the
ends (fixed by levels) stay on it, so the powers that bring the most mid-tone pixels back onto the
grey axis are the ones the dyes lost. One channel is the reference, the least faded dye: it is not
assumed to be magenta (as in dark storage) but chosen as the reference that gathers the most grey
pixels, so light fading or another paper's order is found as well. The others only darken (power
≥ 1): a dye that faded more than the reference lost density, it cannot have gained any.

Measured on bench/bench_tone.py (five scikit-image photographs and three held-out ones, three dye
orders): the pixels found grey include some that were not (a ginger cat's fur, a cup of coffee), so
the peak overshoots; the powers are applied at ``APPLIED_SHARE`` of their logarithm, a picture
with under ``MIN_GREY_SHARE`` of its mid-tones grey at the best powers gets none (no evidence), and
each channel's power is bounded by the caller (tone.py: by how much range the channel lost), which
keeps a lightly faded ginger cat from being turned grey.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Powers searched for the two channels besides the reference: 1 (faded as the reference) to 2.5 (the
# mid-tone density loss of a print whose dye lost ~60 % of its density after levels).
_POWERS = np.geomspace(1.0, 2.5, 25)
# A pixel is grey when both other channels come within this many levels of the reference channel's.
_GREY_TOLERANCE = 6.0
# Mid-tones only: the ends are the levels' business, and near them every curve agrees.
_MID_LOW, _MID_HIGH = 30.0, 220.0
# Pixels looked at: the share of grey pixels is stable to a fraction of a percent at this count.
_SAMPLE = 20_000
# Below this share of grey mid-tone pixels at the best powers the picture has no neutral surface to go by.
MIN_GREY_SHARE = 0.01
# The share of the estimated power (in its logarithm) applied: 0.75 measured best (mean ΔE00 after /
# before 0.48 on the five photographs at 256 pixels, strengths 0.5 and 1, against 0.53 at 1.0).
APPLIED_SHARE = 0.75


@dataclass(frozen=True)
class MidtoneEstimate:
    """Per channel (R, G, B) power for the mid-tones, the reference channel, and the evidence."""

    powers: tuple[float, float, float]
    reference: int
    grey_share: float

    def to_json(self) -> dict:
        return {"midtone_powers": [round(p, 3) for p in self.powers], "midtone_reference": "RGB"[self.reference],
                "grey_share": round(self.grey_share, 4)}


def power_curve(levels: np.ndarray, power: float, black: float, white: float) -> np.ndarray:
    """``levels`` (floats) with the range ``black``–``white`` bent by ``power``; both ends and everything
    outside the range stay where they are, so the curve is continuous and clips nothing."""
    levels = np.asarray(levels, dtype=np.float64)
    span = max(white - black, 1e-6)
    inside = (levels > black) & (levels < white)
    bent = black + span * np.clip((levels - black) / span, 0.0, 1.0) ** power
    return np.where(inside, bent, levels)


def estimate_midtone_powers(levelled: np.ndarray, black: float, white: float,
                            most: tuple[float, float, float] = (np.inf,) * 3) -> MidtoneEstimate:
    """The per-channel mid-tone powers of ``levelled`` (an ``H×W×3`` array of a print whose channels'
    ends are already balanced to ``black`` and ``white``) that put the most pixels on the grey axis;
    channel c's power found (before APPLIED_SHARE) at most ``most[c]``."""
    pixels = np.clip(np.rint(levelled.reshape(-1, 3)), 0, 255).astype(np.intp)
    if len(pixels) > _SAMPLE:  # a fixed seed: the same picture always gets the same curves
        pixels = pixels[np.random.default_rng(0).choice(len(pixels), _SAMPLE, replace=False)]
    # Every power's curve as a lookup table: bending 20,000 pixels 25 ways is then an indexing.
    tables = np.stack([power_curve(np.arange(256.0), p, black, white) for p in _POWERS])
    best = (-1, 1, (1.0, 1.0, 1.0))
    for reference in range(3):
        first, second = (c for c in range(3) if c != reference)
        target = pixels[:, reference]
        mid = (target > _MID_LOW) & (target < _MID_HIGH)
        near = [np.abs(tables[:, pixels[:, c]] - target) < _GREY_TOLERANCE for c in (first, second)]
        # counts[i, j]: pixels grey when the first channel gets power i and the second power j.
        counts = np.einsum("in,jn->ij", (near[0] & mid).astype(np.float32), near[1].astype(np.float32))
        # A channel may not be bent past its bound (see tone.py: its levels' stretch).
        counts[_POWERS > most[first] * (1 + 1e-9), :] = -1
        counts[:, _POWERS > most[second] * (1 + 1e-9)] = -1
        i, j = np.unravel_index(int(np.argmax(counts)), counts.shape)
        if counts[i, j] > best[0]:
            powers = [1.0, 1.0, 1.0]
            powers[first], powers[second] = float(_POWERS[i]), float(_POWERS[j])
            best = (int(counts[i, j]), reference, tuple(powers))
    count, reference, powers = best
    share = max(count, 0) / max(len(pixels), 1)
    if share < MIN_GREY_SHARE:
        return MidtoneEstimate((1.0, 1.0, 1.0), reference, share)
    return MidtoneEstimate(tuple(p ** APPLIED_SHARE for p in powers), reference, share)
