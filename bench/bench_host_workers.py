"""Threads or processes for the host-only stages' photos: does the work release the GIL?

The host-only stages (``scanned``, ``toned``, ``compressed``, ``published``) spend their time in
Pillow (decoders, encoders, resizes), NumPy and OpenCV, which release the GIL while they work; if
they held it, photos processed on threads would take turns and only processes would spread them
over the cores. This runs each stage's own per-photo work on the same photos three ways:

  serial     one photo after another (what ``run_stage`` did)
  threads    N photos at a time on N threads of this process
  processes  N photos at a time in N worker processes (``forkserver``: no fork of a threaded parent)

and prints wall seconds and the speed-up over serial. On a loaded machine the speed-ups say little
(every way gets the same share of the cores), so a load-independent measure comes with them: how
much of the work lets other Python threads run ("GIL free"). A pure-Python probe thread counts while
one photo's work runs on another thread of this process, and again while it runs in a worker
process (the same competition for the cores, without the GIL); the ratio of the two counts is the
share of the work's time the probe could run. Work that held the GIL throughout would give 0 %,
work entirely in C that releases it 100 %, Python code about half (the interpreter hands the GIL
over every 5 ms). Amdahl then bounds what N threads can reach: 1 / (held + free / N). Each photo reads its input from a file and
writes its output bytes to nowhere, as the stages do (the processes get a path, not pixels). The
work per photo is the stage's core: for ``scanned`` the scan decoded, the print detected and
straightened, grey measured and the stage PNG encoded; for ``toned`` the tone restored and its PNG
encoded; for ``compressed`` the web-encoding search on the 4K image (imaging.encode_for_web).
Timed under ``flock /tmp/bench.lock`` on a shared machine; the load average is printed.
"""
from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from bench.bench_common import synthetic_print  # noqa: E402


def scanned_work(path: str) -> int:
    from restore_dagster import imaging
    from restore_dagster.imaging.print_detection import detect_print, straighten

    scan = imaging.load_scan(path)
    image = straighten(scan.image, detect_print(scan.image))
    imaging.is_grey_image(image)
    return len(imaging.encode_png(image))


def toned_work(path: str) -> int:
    from restore_dagster import imaging
    from restore_dagster.imaging.tone import restore_tone

    image = imaging.decode_stage_file(path)
    toned, _ = restore_tone(image, grey=True, mode="on")
    return len(imaging.encode_png(toned))


def compressed_work(path: str) -> int:
    from restore_dagster import imaging

    image = imaging.decode_stage_file(path)
    return len(imaging.encode_for_web(image).web.data)


def scan_decode_work(path: str) -> int:
    """scanned's first part: the scan decoded and checked, grey measured (imaging.load_scan)."""
    from restore_dagster import imaging

    return imaging.load_scan(path).image.width


def print_detection_work(path: str) -> int:
    """scanned's second part: the print found and straightened (after a plain decode)."""
    from restore_dagster.imaging.print_detection import detect_print, straighten

    with Image.open(path) as opened:
        image = opened.convert("RGB")
    return straighten(image, detect_print(image)).width


def stage_png_work(path: str) -> int:
    """scanned's last part: the stage PNG encoded (after a plain decode)."""
    from restore_dagster import imaging

    with Image.open(path) as opened:
        image = opened.convert("RGB")
    return len(imaging.encode_png(image))


WORK = {"scanned": scanned_work, "toned": toned_work, "compressed": compressed_work,
        "scanned:decode": scan_decode_work, "scanned:detect": print_detection_work, "scanned:png": stage_png_work}
INPUT = {"scanned:decode": "scanned", "scanned:detect": "scanned", "scanned:png": "scanned"}


def warm(_: int) -> int:
    """Imports done in a worker process before timing (as a long-lived pool would have them)."""
    import restore_dagster.imaging  # noqa: F401
    import restore_dagster.imaging.print_detection  # noqa: F401
    import restore_dagster.imaging.tone  # noqa: F401
    return os.getpid()


def probe_rate(run) -> float:
    """Counts per second of a pure-Python loop on its own thread while ``run()`` runs."""
    stop, counted = threading.Event(), []

    def probe() -> None:
        n = 0
        while not stop.is_set():
            n += 1
        counted.append(n)

    thread = threading.Thread(target=probe)
    start = time.perf_counter()
    thread.start()
    try:
        run()
    finally:
        stop.set()
        thread.join()
    return counted[0] / (time.perf_counter() - start)


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="2000x1333", help="the scan; the compressed input is 3840 on its long side")
    parser.add_argument("--stages", default="scanned,toned,compressed",
                        help="also scanned:decode, scanned:detect, scanned:png: the parts of scanned")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    big = (3840, round(3840 * height / width))
    print(f"# host work per photo: {args.photos} photos, {args.workers} workers; scan {width}x{height}, 4K {big[0]}x{big[1]}; "
          f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        inputs = {"scanned": [], "toned": [], "compressed": []}
        for n in range(args.photos):
            image = synthetic_print(width, height, n, sepia=True)
            scan = Path(folder) / f"scan-{n}.jpg"
            image.save(scan, "JPEG", quality=92)
            inputs["scanned"].append(str(scan))
            stage = Path(folder) / f"repaired-{n}.png"
            image.save(stage, "PNG", compress_level=1)
            inputs["toned"].append(str(stage))
            upscaled = Path(folder) / f"colorized-{n}.tif"
            image.resize(big, Image.Resampling.LANCZOS).save(upscaled, "TIFF")
            inputs["compressed"].append(str(upscaled))
        context = multiprocessing.get_context("forkserver")
        with ThreadPoolExecutor(args.workers) as threads, ProcessPoolExecutor(args.workers, mp_context=context) as processes:
            list(processes.map(warm, range(args.workers * 2)))
            warm(0)
            print("| stage | serial s | threads s | processes s | threads speed-up | processes speed-up | GIL free |")
            print("|---|---|---|---|---|---|---|")
            for stage in args.stages.split(","):
                work, paths = WORK[stage], inputs[INPUT.get(stage, stage)]
                work(paths[0])  # first-call costs (lazy imports, OpenCV's thread pool) out of the timing
                serial = timed(lambda: [work(p) for p in paths])
                threaded = timed(lambda: list(threads.map(work, paths)))
                spawned = timed(lambda: list(processes.map(work, paths)))
                # One photo's work beside the probe: on a thread of this process, then in a worker process.
                beside_thread = probe_rate(lambda: [work(p) for p in paths[:2]])
                beside_process = probe_rate(lambda: [processes.submit(work, p).result() for p in paths[:2]])
                free = min(1.0, beside_thread / beside_process)
                print(f"| {stage} | {serial:.2f} | {threaded:.2f} | {spawned:.2f} | {serial / threaded:.2f}× | "
                      f"{serial / spawned:.2f}× | {100 * free:.0f} % |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
