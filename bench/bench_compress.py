"""The web encoding's choices on grainy 4K photos, before and after the 1:1 detail floor (issue 12).

    flock /tmp/bench.lock .venv/bin/python bench/bench_compress.py            # faint and strong grain
    .venv/bin/python bench/bench_compress.py --grain 3 --repeats 3 --formats JPEG,WEBP,AVIF

The picture is scikit-image's astronaut enlarged to 3840×2560 with film-like grain (the tests'
``grainy_4k_scan``: clumped, midtone-weighted, ``--grain`` grey levels). For each grain strength it
prints one markdown row per search: which format and quality ``encode_smallest`` picks, its bytes
and time (best of ``--repeats``, wall and CPU seconds), its SSIM on a screen and the share of detail
it keeps at 1:1 (``imaging.fidelity``), and ``grain kept``, the tests' independent check (median
over 32×32 blocks of the grain amplitude left; blotches are near 0). "before" is the screen floor
alone (``detail_floor_1to1=0``), the choice the project made until now, timed with this code; the
search's cost is the same measure plus one detail score per candidate.

    flock /tmp/bench.lock .venv/bin/python bench/bench_compress.py --versus main --repeats 3

``--versus REF`` times instead the compressed stage's search (``encode_for_web``, JPEG+WebP, the
default floors, a download JPEG) with the encoder at git revision REF and with this checkout, side
by side in one run, each repeat alternating old and new, on ten 4K pictures (``versus_pictures``):
the film grain of 3 and 6 levels, ``bench_imaging.py``'s white grain (σ 3), the astronaut without
grain (smooth), and three small photographs enlarged to 3840 wide, with and without film grain.
REF's ``encode.py``, ``fidelity.py`` and ``ssim.py`` are loaded from git into a temporary module.
It prints each picture's choice (format, quality, bytes, and the download JPEG when the web file is
not one), best wall and CPU seconds of each, and the load average before and after.

    flock /tmp/bench.lock .venv/bin/python bench/bench_compress.py --webp-methods --repeats 3

``--webp-methods`` searches WebP alone on the same pictures at method 4, at method 2 and as shipped
(method 4 where its lowest quality passes, else 2), printing each passing file's quality and bytes
and the time of its one full-size encode.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from restore_dagster.imaging import encode_for_web, encode_smallest  # noqa: E402
from restore_dagster_tests.imaging.helpers import film_grain, grain_kept, grainy_4k_scan  # noqa: E402

# The modules of the search that --versus loads from git, in import order (each may import the ones before).
SEARCH_MODULES = ("ssim", "fidelity", "encode")


def timed(function, repeats: int):
    """(best wall seconds, best CPU seconds, last result) over ``repeats`` runs, after one warm-up when
    more than one. CPU seconds (this process, all its threads) hold on a shared, busy machine, where
    wall time only says how busy it was; on an idle one wall time is at most the CPU time."""
    result = function() if repeats > 1 else None
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def search_at(revision: str, folder: Path):
    """``encode_for_web`` as it is at git ``revision``: its search modules from git, in a temporary
    package whose relative imports of them point at each other and the rest at this checkout's."""
    package = folder / "search_at_revision"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in SEARCH_MODULES:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:restore_dagster/imaging/{name}.py"],
                                check=True, capture_output=True, text=True).stdout
        lines = []
        for line in source.splitlines(keepends=True):
            if line.startswith("from .") and line.split()[1][1:] not in SEARCH_MODULES:
                line = line.replace("from .", "from restore_dagster.imaging.", 1)
            lines.append(line)
        (package / f"{name}.py").write_text("".join(lines))
    sys.path.insert(0, str(folder))
    spec = importlib.util.find_spec("search_at_revision.encode")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.encode_for_web


def versus_pictures() -> dict[str, Image.Image]:
    """The astronaut (512² enlarged 7.5×) with film grain of 3 and 6 levels, with per-pixel white grain
    and without grain; and three smaller photographs enlarged to 3840 wide as restorations of small
    scans are (chelsea 451×300, coffee 600×400, rocket 640×427: 6–8.5×), each with and without 3
    levels of film grain."""
    import numpy as np
    from skimage import data

    smooth = Image.fromarray(data.astronaut()).resize((3840, 2560), Image.Resampling.LANCZOS)
    # bench_imaging.py's restored_photo: per-pixel grain, the same on the three channels
    white = np.random.default_rng(0).normal(0.0, 3.0, (2560, 3840, 1))
    pictures = {
        "film grain 3 levels": grainy_4k_scan(3.0),
        "film grain 6 levels": grainy_4k_scan(6.0),
        "white grain σ 3 (bench_imaging.py)": Image.fromarray(
            np.clip(np.asarray(smooth, dtype=np.float32) + white, 0, 255).astype(np.uint8), "RGB"),
        "smooth (no grain)": smooth,
    }
    for name in ("chelsea", "coffee", "rocket"):
        photo = Image.fromarray(getattr(data, name)())
        scale = 3840 / max(photo.size)
        enlarged = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
        pictures[f"{name}, enlarged"] = enlarged
        pictures[f"{name}, enlarged, film grain 3"] = film_grain(enlarged, 3.0)
    return pictures


def choice(encoding) -> str:
    web = encoding.web
    text = f"{web.format} q{web.quality}, {len(web.data):,} B"
    if encoding.download is not web:
        text += f" (+ JPEG q{encoding.download.quality}, {len(encoding.download.data):,} B)"
    return text


def versus(revision: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        old = search_at(revision, Path(folder))
        pictures = versus_pictures()
        print(f"load average before: {' '.join(f'{value:.1f}' for value in os.getloadavg())}; "
              f"best of {repeats}, old and new alternating, `{revision}` vs this checkout\n")
        print("| picture | code | choice | wall s | CPU s |")
        print("| --- | --- | --- | ---: | ---: |")
        for label, picture in pictures.items():
            runs = {"old": [], "new": []}
            results = {}
            for _ in range(repeats):
                for code, search in (("old", old), ("new", encode_for_web)):
                    wall, cpu = time.perf_counter(), time.process_time()
                    results[code] = search(picture)
                    runs[code].append((time.perf_counter() - wall, time.process_time() - cpu))
            for code in ("old", "new"):
                print(f"| {label} | {code} | {choice(results[code])} | {min(w for w, _ in runs[code]):.2f} | "
                      f"{min(c for _, c in runs[code]):.2f} |", flush=True)
            same = all((getattr(results['old'], part).format, getattr(results['old'], part).quality, getattr(results['old'], part).data)
                       == (getattr(results['new'], part).format, getattr(results['new'], part).quality, getattr(results['new'], part).data)
                       for part in ("web", "download"))
            if not same:
                print(f"| {label} | **choices differ** | | | |", flush=True)
        print(f"\nload average after: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


def webp_methods(repeats: int) -> None:
    """WebP alone (``encode_smallest(formats=("WEBP",))``) on the --versus pictures, three ways: always
    method 4 (libwebp's default, the project's until the per-picture choice), always method 2, and
    as shipped (method 4 where its lowest quality passes, else 2). Bytes and quality of each passing
    file, and the time of one full-size encode at that quality (best of ``repeats``); for "as shipped",
    which of the two it published."""
    from restore_dagster.imaging import web_formats

    shipped = web_formats.Webp.encode, web_formats.Webp.where_lowest_passes
    ways = {
        "method 4": (web_formats.WebpOptimised.encode, None),
        "method 2": (shipped[0], None),
        "as shipped": shipped,
    }
    print(f"load average before: {' '.join(f'{value:.1f}' for value in os.getloadavg())}\n")
    print("| picture | " + " | ".join(ways) + " |")
    print("| --- |" + " --- |" * len(ways))
    for label, picture in versus_pictures().items():
        cells, files = [], {}
        for way, (encode, variant) in ways.items():
            web_formats.Webp.encode, web_formats.Webp.where_lowest_passes = staticmethod(encode), variant
            encoded = encode_smallest(picture, formats=("WEBP",))
            if way == "as shipped":  # the same search as one of the two others: which one it took
                cells.append(next((f"{other}'s" for other, data in files.items() if data == encoded.data), "neither's"))
                continue
            files[way] = encoded.data
            wall, _, _ = timed(lambda: encode(picture, encoded.quality), repeats)
            cells.append(f"q{encoded.quality}, {len(encoded.data):,} B, {wall:.2f} s")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    web_formats.Webp.encode, web_formats.Webp.where_lowest_passes = staticmethod(shipped[0]), shipped[1]
    print(f"\nload average after: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grain", default="3,6", help="grain amplitudes in grey levels, comma-separated")
    parser.add_argument("--formats", default="JPEG+WEBP,JPEG,WEBP,AVIF",
                        help="searches to run: comma-separated, each a '+'-joined set of formats")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--size", default="3840x2560", help="WIDTHxHEIGHT (the grain is added at this size)")
    parser.add_argument("--threads", type=int, default=None, help="OpenCV threads (cv2.setNumThreads)")
    parser.add_argument("--versus", metavar="REF", help="time the stage's search at git REF and in this checkout (see above)")
    parser.add_argument("--webp-methods", action="store_true", help="WebP alone at method 4, method 2 and as shipped (see above)")
    args = parser.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    if args.versus:
        versus(args.versus, args.repeats)
        return
    if args.webp_methods:
        webp_methods(args.repeats)
        return
    width, height = (int(value) for value in args.size.lower().split("x"))
    print("| grain | floor | formats | choice | bytes | wall s | CPU s | SSIM screen | detail 1:1 | grain kept |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for amplitude in (float(value) for value in args.grain.split(",")):
        picture = grainy_4k_scan(amplitude)
        if picture.size != (width, height):
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        for search in args.formats.split(","):
            formats = tuple(search.upper().split("+"))
            for label, floor in (("before (screen 0.97 only)", 0.0), ("after (+ detail 0.90 at 1:1)", 0.90)):
                wall, cpu, encoded = timed(
                    lambda: encode_smallest(picture, formats=formats, detail_floor_1to1=floor), args.repeats)
                kept = grain_kept(picture, decoded(encoded.data))
                print(f"| {amplitude:g} | {label} | {'+'.join(formats)} | {encoded.format} q{encoded.quality} | "
                      f"{len(encoded.data):,} | {wall:.2f} | {cpu:.2f} | {encoded.ssim:.4f} | "
                      f"{encoded.detail_1to1:.3f} | {kept:.2f} |", flush=True)


if __name__ == "__main__":
    main()
