"""Colour error (CIEDE2000) of faded colour prints before and after the tone step.

    python bench/bench_tone.py [--long-side 768] [--strengths 0,0.25,0.5,0.75,1]
    python bench/bench_tone.py --photos held-out [--image china.jpg ...] --losses 0.2,0.5,0.3

The photographs are scikit-image's colour samples (a bench-only dependency, ``make install`` has it
through the ``demo`` extra), brought to ``--long-side`` with Lanczos and faded with the dye-fade
model of restore_dagster/imaging/dye_fade.py (cyan and yellow density lost, blacks lifted by stain,
a magenta, green or cyan cast) at each strength. Strength 0 is the unfaded photograph: ``auto`` must
leave it (almost) untouched. Reported: mean ΔE00 against the unfaded photograph, before and after
the step (``auto`` and ``on``), per strength and cast, and the time per megapixel.

Held out, so that the correction is not tuned to the photographs or to the model's one order of
fading: ``--photos held-out`` (scikit-image's immunohistochemistry slide, retina and Hubble deep
field: not the five photographs the method was developed on), ``--image PATH`` (any colour
photograph, repeatable) and ``--losses C,M,Y`` (the share of density each dye loses at strength 1,
instead of dark storage's 0.55, 0.15, 0.45). ``--veil-share 0`` runs the step as it was before the
linear-light share of the levels (imaging/tone.py VEIL_SHARE), for a side-by-side comparison.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from restore_dagster.imaging.dye_fade import fade_colour_print
from restore_dagster.imaging import tone
from restore_dagster.imaging.tone import restore_tone

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")
HELD_OUT = ("immunohistochemistry", "retina", "hubble_deep_field")
CASTS = ("magenta", "green", "cyan")


def photo(name: str, long_side: int) -> Image.Image:
    """scikit-image's photograph ``name``, or the picture file at path ``name``, at ``long_side``."""
    from skimage import data

    if name in PHOTOS or name in HELD_OUT:
        pixels = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
        picture = Image.fromarray(pixels).convert("RGB")
    else:
        with Image.open(name) as opened:
            picture = opened.convert("RGB")
    scale = long_side / max(picture.size)
    return picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)


def delta_e(a: Image.Image, b: Image.Image) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    return float(deltaE_ciede2000(rgb2lab(np.asarray(a)), rgb2lab(np.asarray(b))).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-side", type=int, default=768)
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--photos", default=",".join(PHOTOS),
                        help="comma-separated scikit-image names, or 'held-out' for " + ",".join(HELD_OUT))
    parser.add_argument("--image", action="append", default=[], help="a colour photograph's path (repeatable)")
    parser.add_argument("--losses", default=None, help="C,M,Y density lost at strength 1 (default: dark storage's)")
    parser.add_argument("--veil-share", type=float, default=None,
                        help="imaging.tone.VEIL_SHARE for this run (0: the step before the veil, for comparison)")
    args = parser.parse_args()
    if args.veil_share is not None:
        tone.VEIL_SHARE = args.veil_share
    strengths = [float(s) for s in args.strengths.split(",")]
    names = list(HELD_OUT if args.photos == "held-out" else args.photos.split(",") if args.photos else []) + args.image
    losses = tuple(float(v) for v in args.losses.split(",")) if args.losses else None
    rows: dict[tuple[float, str], list[tuple[float, float, float]]] = {}
    seconds, pixels = 0.0, 0
    per_photo: dict[str, list[tuple[float, float]]] = {}
    for name in names:
        clean = photo(name, args.long_side)
        for strength in strengths:
            for cast in (CASTS if strength else ("none",)):
                faded = fade_colour_print(clean, strength, cast, losses)
                start = time.perf_counter()
                auto, _ = restore_tone(faded, grey=False, mode="auto")
                seconds += time.perf_counter() - start
                pixels += clean.width * clean.height
                on, _ = restore_tone(faded, grey=False, mode="on")
                rows.setdefault((strength, cast), []).append((delta_e(clean, faded), delta_e(clean, auto), delta_e(clean, on)))
                if strength:
                    per_photo.setdefault(name, []).append(rows[(strength, cast)][-1][:2])
                print(f"{name:22s} {strength:4.2f} {cast:8s} ΔE00 faded {rows[(strength, cast)][-1][0]:5.2f} "
                      f"auto {rows[(strength, cast)][-1][1]:5.2f} on {rows[(strength, cast)][-1][2]:5.2f}", flush=True)
    print()
    print("| fade strength | cast | photos | mean ΔE00 faded | after `auto` | after `on` | auto / faded |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (strength, cast), values in rows.items():
        faded, auto, on = (float(np.mean([v[i] for v in values])) for i in range(3))
        ratio = f"{auto / faded:.2f}" if faded > 0 else "–"
        print(f"| {strength:g} | {cast} | {len(values)} | {faded:.2f} | {auto:.2f} | {on:.2f} | {ratio} |")
    faded_rows = [v for (s, _), vs in rows.items() if s > 0 for v in vs]
    if faded_rows:
        before, after = np.mean([v[0] for v in faded_rows]), np.mean([v[1] for v in faded_rows])
        print("\nper photograph (faded prints, auto): " + ", ".join(
            f"{Path(n).stem} {np.mean([v[0] for v in vs]):.2f} → {np.mean([v[1] for v in vs]):.2f} "
            f"({np.mean([v[1] for v in vs]) / np.mean([v[0] for v in vs]):.2f})" for n, vs in per_photo.items()))
        print(f"\nall faded prints: mean ΔE00 {before:.2f} → {after:.2f} with auto ({after / before:.2f}×); "
              f"{seconds / pixels * 1e6 * 1000:.0f} ms per megapixel (auto, measure included)")


if __name__ == "__main__":
    main()
