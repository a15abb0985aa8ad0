"""Benchmark a colour-variations contact sheet: every colouriser, the default knobs, 9 candidates.

Runs ``variations.make_variations`` (what the ``colour_variations`` asset runs per photo) on a grey
photo's toned picture, with all five models' weights present: the tests' deterministic stand-ins of
the official shapes (the same cost as the real ones), generated once into ``--standin-dir``. Prints
per candidate its wall and CPU time, per model its load time, and the whole sheet's, as markdown.

    flock /tmp/bench.lock python bench/bench_variations.py --device cpu --threads 2
    python bench/bench_variations.py --device cuda
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]  # run from a checkout, installed or not

from bench_common import grainy_photo, size, standin_once  # noqa: E402

PHOTO = REPO / "restore_dagster_tests" / "fixtures" / "ddcolor" / "input_gray.png"
DEOLDIFY_MANIFESTS = REPO / "restore_dagster_tests" / "fixtures" / "deoldify"


def standins(folder: Path) -> dict[str, Path]:
    import torch

    from restore_dagster_tests.models.ddcolor_standin import ddcolor_manifest, ddcolor_standin
    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict

    def deoldify(kind):
        def write(path):
            torch.save(standin_state_dict(load_manifest(DEOLDIFY_MANIFESTS / f"manifest_{kind}.json")), path)
            return path
        return write

    def ddcolor(variant):
        def write(path):
            torch.save({"params": ddcolor_standin(ddcolor_manifest(variant))}, path)
            return path
        return write

    return {
        "artistic": standin_once(folder / "standin_ColorizeArtistic_gen.pth", deoldify("artistic")),
        "stable": standin_once(folder / "standin_ColorizeStable_gen.pth", deoldify("stable")),
        "large": standin_once(folder / "standin_ddcolor_large.pth", ddcolor("large")),
        "tiny": standin_once(folder / "standin_ddcolor_paper_tiny.pth", ddcolor("tiny")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--size", type=size, default=(3000, 2000), help="the toned picture's size, WxH")
    parser.add_argument("--standin-dir", default=str(Path(tempfile.gettempdir()) / "restore_dagster_variations_bench"))
    args = parser.parse_args()

    import torch

    from restore_dagster.config import Layout
    from restore_dagster.files import atomic_write_bytes
    from restore_dagster.imaging import encode_png
    from restore_dagster.lineage import stage_file, write_record
    from restore_dagster.resources import GpuResource
    from restore_dagster.settings import PhotoSettings
    from restore_dagster.variations import make_variations

    torch.set_num_threads(args.threads)
    weights = standins(Path(args.standin_dir))
    os.environ.update({"RESTORE_DDCOLOR_WEIGHTS": str(weights["large"]),
                       "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS": str(weights["large"]),
                       "RESTORE_DDCOLOR_TINY_WEIGHTS": str(weights["tiny"])})
    with tempfile.TemporaryDirectory() as home:
        layout = Layout(Path(home)).ensure()
        key = "bench/photo"
        toned = stage_file(layout, "toned", key, "png")
        atomic_write_bytes(toned, encode_png(grainy_photo(PHOTO, *args.size).convert("L").convert("RGB")))
        write_record(layout, "repaired", key, "x", None, {"is_grey": True})
        write_record(layout, "toned", key, "y", toned, {})
        gpu = GpuResource(device=args.device, artistic_weights=str(weights["artistic"]),
                          stable_weights=str(weights["stable"]), download_weights=False)
        started, cpu_started = time.perf_counter(), time.process_time()
        listing = make_variations(layout, key, PhotoSettings(), gpu)
        total, cpu_total = time.perf_counter() - started, time.process_time() - cpu_started
        gpu.release()
    print(f"{datetime.date.today()}, torch {torch.__version__}, {args.device}"
          f"{f', {args.threads} threads' if args.device == 'cpu' else ''}, stand-in weights (official shapes), a "
          f"{args.size[0]}×{args.size[1]} grey toned picture worked at {listing['working_size'][0]}×"
          f"{listing['working_size'][1]}; load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| # | model | knob | wall | CPU time (all threads) |")
    print("|---|---|---|---|---|")
    for number, c in enumerate(listing["candidates"], start=1):
        print(f"| {number} | {c['label']} | {c['knob_label']} | {c['seconds']:.2f} s | {c['cpu_seconds']:.1f} s |")
    print("\n| model | load (wall) |\n|---|---|")
    for model, seconds in listing["model_load_seconds"].items():
        print(f"| {model} | {seconds:.1f} s |")
    print(f"\nwhole contact sheet ({len(listing['candidates'])} candidates, loads, sheet, files): "
          f"{total:.1f} s wall, {cpu_total:.1f} s CPU time")


if __name__ == "__main__":
    main()
