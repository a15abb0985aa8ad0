"""A batch of photos through every stage as the sensor runs it: album throughput and where the time goes.

The photos are put in a folder gallery; one sensor tick registers them and asks for one run of the
whole batch (models load once), which is executed in this process through the real assets, the
project's on-disk Dagster instance (SQLite) and the project's default settings. The models are the
real architectures: DeOldify artistic, BOPBTL scratch detection and LaMa with the tests'
deterministic stand-in weights (the same shapes and so the same cost as the official ones; the
official ones cannot be downloaded here), waifu2x with its shipped weights.

Every stage's time is split, exclusive of what is nested inside:
  model       the networks: waifu2x tiles, DeOldify's generator, scratch detection, LaMa
  host image  the stages' own pixel work: print detection, tone, keep_levels, resizes, colour merges,
              the web encoding search (compressed), publishing
  stage files reading stage images (decode, or the in-memory copy) and writing them where the
              writer is not in the background (the "before" mode)
  previews    the Dagster UI previews (JPEG data URIs) each stage adds to its metadata
  free memory the GPU resource's clean-up after every photo of a model stage (gc.collect, and on
              CUDA empty_cache)
  step overhead  the rest of each step: settings, records, progress files, waiting for background
              writes, Dagster's metadata and events
  orchestration  all but model and host image: Dagster outside the steps (run start and end, step
              launches), step overhead, stage files, previews, free memory
The CPU target (issue 16): orchestration, counted with stage files and previews, at most 10 % of
model time for a batch of 8. Background writes (the writer threads) overlap the next photo and are
reported beside, not in, the wall time.

``--mode before`` runs the pipeline as it was before the stage I/O work (every stage file a PNG,
encoded and written before the next photo starts, every upstream image decoded from its file);
``--mode after`` as it is; ``--mode both`` (default) one after the other in fresh storage roots.

``--host-workers 1,2`` runs the album once per value of ``$RESTORE_HOST_WORKERS`` (photos a host-only
stage works on at once) and prints the host stages' step times side by side. ``--host-only`` takes
the networks out, to time the host stages on a machine without a GPU at a real scan size: repair and
colourisation off (settings), waifu2x replaced by a Lanczos resize to its planned size; the host
stages get the same inputs' sizes (a 4K image in ``compressed``) as with the networks.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from bench.bench_common import synthetic_print  # noqa: E402

CATEGORIES = ("model", "host image", "stage files", "previews", "free memory")


class Clock:
    """Exclusive time per (stage, category), from wrappers that may nest; per thread."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.background = defaultdict(float)
        self.stage = "-"
        self.in_step = self.in_process = False
        self.free_outside_process = defaultdict(float)  # free memory in a step, between its photos
        self._local = threading.local()
        self.lock = threading.Lock()

    def wrap(self, category: str, function, background: bool = False):
        clock = self

        def timed(*args, **kwargs):
            stack = getattr(clock._local, "stack", None)
            if stack is None:
                stack = clock._local.stack = []
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                nested = stack.pop()
                if stack:
                    stack[-1] += spent
                # The stage writer's threads are in the background; the photos' threads (one, or a
                # host stage's workers) are not.
                writer = threading.current_thread().name.startswith("stage-writer")
                table = clock.background if background or writer else clock.seconds
                with clock.lock:
                    table[(clock.stage, category)] += spent - nested

        return timed


def install_clock(clock: Clock, monkey: contextlib.ExitStack) -> dict:
    """Wrap the functions whose time is counted; returns the per-stage step and process times."""
    import importlib

    from restore_dagster import imaging
    from restore_dagster.assets import stage_io
    from restore_dagster.models import deoldify, ddcolor, lama, scratch_detection, waifu2x

    # The package exports the assets under the modules' names: the modules themselves by path.
    scanned, repaired, toned, upscaled, colorized, compressed, published = (
        importlib.import_module(f"restore_dagster.assets.{name}")
        for name in ("scanned", "repaired", "toned", "upscaled", "colorized", "compressed", "published"))

    patches = []

    def patch(owner, name, replacement):
        original = getattr(owner, name)
        setattr(owner, name, replacement(original) if callable(replacement) and not isinstance(replacement, type) else replacement)
        patches.append((owner, name, original))

    model = lambda f: clock.wrap("model", f)  # noqa: E731
    host = lambda f: clock.wrap("host image", f)  # noqa: E731
    patch(waifu2x, "_upscale_array", model)
    patch(deoldify, "_predict_rgb", model)
    patch(deoldify, "_predict_rgb_tensor", model)
    patch(ddcolor, "predict_ab", model)
    patch(scratch_detection, "detect_scratches", model)
    patch(lama, "inpaint", model)
    patch(stage_io.StageImages, "read", lambda f: clock.wrap("stage files", f))
    patch(stage_io, "write_stage_image", lambda f: clock.wrap("stage files", f))
    patch(imaging, "preview_data_uri", lambda f: clock.wrap("previews", f))
    patch(imaging, "before_after_preview", lambda f: clock.wrap("previews", f))
    from restore_dagster.resources import GpuResource

    def free_memory(original):
        timed = clock.wrap("free memory", original)

        def run(*args, **kwargs):
            if not clock.in_step:  # the run's teardown: already in "Dagster outside the steps"
                return original(*args, **kwargs)
            start = time.perf_counter()
            try:
                return timed(*args, **kwargs)
            finally:
                if not clock.in_process:
                    clock.free_outside_process[clock.stage] += time.perf_counter() - start
        return run
    patch(GpuResource, "free_memory", free_memory)

    steps: dict[str, float] = defaultdict(float)
    processes: dict[str, float] = defaultdict(float)
    photos: dict[str, int] = defaultdict(int)
    for module, function in ((scanned, "scan_photo"), (repaired, "repair_photo"), (toned, "tone_photo"),
                             (upscaled, "upscale_photo"), (colorized, "colorize_photo"),
                             (compressed, "compress_photo"), (published, "publish_photo")):
        stage = module.__name__.rsplit(".", 1)[1]

        def process(original, stage=stage):
            wrapped = host(original)

            def run(job):
                clock.stage = stage
                clock.in_process = True
                start = time.perf_counter()
                try:
                    return wrapped(job)
                finally:
                    clock.in_process = False
                    with clock.lock:
                        processes[stage] += time.perf_counter() - start
                        photos[stage] += 1
            return run
        patch(module, function, process)

        def stepper(original, stage=stage):
            def run(*args, **kwargs):
                clock.stage, clock.in_step = stage, True
                start = time.perf_counter()
                try:
                    yield from original(*args, **kwargs)
                finally:
                    steps[stage] += time.perf_counter() - start
                    clock.in_step = False
            return run
        patch(module, "run_stage", stepper)
    monkey.callback(lambda: [setattr(o, n, f) for o, n, f in reversed(patches)])
    return {"steps": steps, "processes": processes, "photos": photos}


def use_before_mode(monkey: contextlib.ExitStack) -> None:
    """The stage I/O as it was: PNG everywhere, written before the next photo, decoded on every read."""
    from concurrent.futures import Future

    from restore_dagster import lineage
    from restore_dagster.assets import batch, stage_io

    class WriteNow:
        def __init__(self, *args, **kwargs):
            pass

        def write(self, path, image):
            future: Future = Future()
            stage_io.write_stage_image(path, image)
            future.set_result(path)
            return future

        def close(self):
            pass

    saved = (batch.StageWriter, lineage.TIFF_STAGES, stage_io.STAGE_IMAGES.max_bytes)
    batch.StageWriter, lineage.TIFF_STAGES, stage_io.STAGE_IMAGES.max_bytes = WriteNow, frozenset(), 0

    def restore():
        batch.StageWriter, lineage.TIFF_STAGES, stage_io.STAGE_IMAGES.max_bytes = saved
    monkey.callback(restore)


def use_host_only(monkey: contextlib.ExitStack) -> None:
    """waifu2x replaced by a Lanczos resize to the size it would reach (repair and colour are off by settings)."""
    from restore_dagster.models import waifu2x

    real = waifu2x.upscale_to

    def resize(image, long_side=3840, noise_level=0, device=None, tile=None, model=None, progress=None, *,
               max_pixels=None, max_magnification=None):
        plan = waifu2x.plan_upscale(image.size, long_side, max_magnification)
        return image.convert("RGB").resize(plan.final_size, Image.Resampling.LANCZOS)

    waifu2x.upscale_to = resize
    monkey.callback(lambda: setattr(waifu2x, "upscale_to", real))


HOST_STAGES = ("scanned", "toned", "compressed", "published")


def weights(folder: Path) -> dict[str, str]:
    import torch

    from restore_dagster_tests.models.lama_standin import write_lightning_checkpoint
    from restore_dagster_tests.models.scratch_standin import write_scratch_checkpoint
    from restore_dagster_tests.models.standin_weights import load_manifest, standin_state_dict

    folder.mkdir(parents=True, exist_ok=True)
    artistic = folder / "ColorizeArtistic_gen.pth"
    if not artistic.exists():
        torch.save(standin_state_dict(load_manifest(ROOT / "restore_dagster_tests" / "fixtures" / "deoldify" /
                                                    "manifest_artistic.json")), artistic)
    scratch, lama = folder / "FT_Epoch_latest.pt", folder / "best.ckpt"
    if not scratch.exists():
        write_scratch_checkpoint(scratch)
    if not lama.exists():
        write_lightning_checkpoint(lama)
    return {"artistic_weights": str(artistic), "scratch_weights": str(scratch), "lama_weights": str(lama)}


def run_album(mode: str, photos: int, size: tuple[int, int], device: str, weight_files: dict, settings: dict,
              host_workers: int | None = None, host_only: bool = False) -> dict:
    from restore_dagster.assets import stage_io
    from restore_dagster.config import Layout
    from restore_dagster.instance import get_instance
    from restore_dagster.resources import GpuResource, StorageResource
    from restore_dagster.settings import SettingsStore
    from restore_dagster_tests.pipeline.harness import execute, materialized, tick

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as monkey:
        home = Path(folder) / "restore_home"
        os.environ["RESTORE_HOME"] = str(home)
        os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
        layout = Layout.from_env().ensure()
        if settings:
            SettingsStore(layout.state).set_defaults(**settings)
        for n in range(photos):
            path = layout.gallery / "Album 1962" / f"photo-{n:03d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            synthetic_print(*size, seed=n).save(path, "JPEG", quality=92)
        resources = {"storage": StorageResource(home=str(layout.root)),
                     "gpu": GpuResource(device=device, download_weights=False, **weight_files)}
        if mode == "before":
            use_before_mode(monkey)
        if host_only:
            use_host_only(monkey)
        if host_workers is not None:
            os.environ["RESTORE_HOST_WORKERS"] = str(host_workers)
        stage_io.STAGE_IMAGES.clear()
        clock = Clock()
        times = install_clock(clock, monkey)
        with get_instance(layout) as instance:
            result = tick(instance, resources)
            requests = list(result.run_requests)
            assert len(requests) == 1, f"the sensor asked for {len(requests)} runs, not one batch"
            start = time.perf_counter()
            run = execute(instance, resources, requests[0])
            wall = time.perf_counter() - start
            published = len(materialized(instance, "published"))
        label = mode if host_workers is None else f"{mode}, {host_workers} host worker(s)"
        return {"mode": label, "wall": wall, "success": run.success, "published": published, "clock": clock, **times}


def report(result: dict, photos: int) -> float:
    clock, steps, processes = result["clock"], result["steps"], result["processes"]
    print(f"\n## mode {result['mode']}: {result['published']}/{photos} published, run "
          f"{'succeeded' if result['success'] else 'FAILED'}, wall {result['wall']:.1f} s, "
          f"{photos / result['wall']:.3f} photos/s")
    print("| stage | step s | model s | host image s | stage files s | previews s | free memory s | step overhead s | background writes s |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = defaultdict(float)
    for stage in ("scanned", "repaired", "toned", "upscaled", "colorized", "compressed", "published"):
        row = {c: clock.seconds[(stage, c)] for c in CATEGORIES}
        # In the step, outside the photos' processing and the clean-up between them; not known when
        # a host stage's photos overlapped (their times add up to more than the step's).
        overhead = steps[stage] - processes[stage] - clock.free_outside_process[stage]
        if overhead < 0:
            overhead = 0.0
        background = sum(v for (s, _), v in clock.background.items() if s == stage)
        for c, v in row.items():
            totals[c] += v
        totals["step"] += steps[stage]
        totals["overhead"] += overhead
        totals["background"] += background
        print(f"| {stage} | {steps[stage]:.2f} | {row['model']:.2f} | {row['host image']:.2f} | {row['stage files']:.2f} | "
              f"{row['previews']:.2f} | {row['free memory']:.2f} | {overhead:.2f} | {background:.2f} |")
    between = result["wall"] - totals["step"]
    print(f"| **all** | {totals['step']:.2f} | {totals['model']:.2f} | {totals['host image']:.2f} | {totals['stage files']:.2f} | "
          f"{totals['previews']:.2f} | {totals['free memory']:.2f} | {totals['overhead']:.2f} | {totals['background']:.2f} |")
    orchestration = between + totals["overhead"] + totals["stage files"] + totals["previews"] + totals["free memory"]
    share = orchestration / totals["model"] if totals["model"] else float("nan")
    print(f"\nDagster outside the steps (run start/end, step launches, events): {between:.2f} s; "
          f"orchestration (that + step overhead + stage files + previews + free memory): {orchestration:.2f} s = "
          f"{100 * share:.1f} % of model time ({totals['model']:.2f} s); host image work {totals['host image']:.2f} s.")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--size", default="640x427", help="scan size; 2000x1333 is a real-size scan")
    parser.add_argument("--device", default="", help="cpu, cuda, ... (default: the GPU resource's auto)")
    parser.add_argument("--mode", default="both", choices=["before", "after", "both"])
    parser.add_argument("--long-side", type=int, default=None, help="default: the project's (3840)")
    parser.add_argument("--repair", default=None, choices=["auto", "on", "off"], help="default: the project's (auto)")
    parser.add_argument("--host-workers", default="", help="e.g. 1,2: one album run per RESTORE_HOST_WORKERS value")
    parser.add_argument("--host-only", action="store_true", help="no networks: repair and colour off, waifu2x a resize")
    args = parser.parse_args()
    size = tuple(map(int, args.size.split("x")))
    settings = {k: v for k, v in {"long_side": args.long_side, "repair": args.repair}.items() if v is not None}
    if args.host_only:
        settings.update(repair="off", colorize="off")
    workers = [int(n) for n in args.host_workers.split(",") if n.strip()] or [None]
    import torch

    from restore_dagster.resources.gpu import pick_device

    device = pick_device(args.device or "auto")
    print(f"# album: {args.photos} black-and-white scans {size[0]}x{size[1]}, device {device}, settings "
          f"{settings or 'project defaults'}; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)"
          + (f", {torch.cuda.get_device_name()}" if device.startswith("cuda") else ""))
    weight_files = weights(Path(tempfile.gettempdir()) / "restore_dagster_bench_album_weights")
    modes = ["before", "after"] if args.mode == "both" else [args.mode]
    results = []
    for mode in modes:
        for count in workers:
            result = run_album(mode, args.photos, size, device, weight_files, settings, count, args.host_only)
            report(result, args.photos)
            results.append(result)
            print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    if len(workers) > 1:
        side_by_side(results, args.photos)


def side_by_side(results: list[dict], photos: int) -> None:
    """The host stages' step wall times per run, and the photos per second through them."""
    print(f"\n## host stages side by side ({photos} photos)")
    print("| run | " + " | ".join(f"{stage} s" for stage in HOST_STAGES) + " | host stages s | photos/s through them | run wall s |")
    print("|---|" + "---|" * (len(HOST_STAGES) + 3))
    for result in results:
        steps = [result["steps"][stage] for stage in HOST_STAGES]
        print(f"| {result['mode']} | " + " | ".join(f"{s:.2f}" for s in steps) +
              f" | {sum(steps):.2f} | {photos / sum(steps):.2f} | {result['wall']:.1f} |")


if __name__ == "__main__":
    main()
