"""How long gallery_sensor ticks take over a gallery of N photos, on SQLite or PostgreSQL.

Targets: an unchanged tick under 3 s on SQLite and under 5 s on PostgreSQL at 100,000 photos (no
re-hashing of unchanged files), and every tick well inside the daemon's 60 s sensor timeout while a
new gallery is registered. Builds a throwaway storage root with N tiny files (the sensor never
decodes images), ticks until every photo is a partition (the sensor adds at most
NEW_PARTITIONS_PER_TICK a tick, applying its partition requests as the daemon does), writes the
published records a finished pipeline would leave, then times unchanged ticks.

    python bench/bench_sensor.py --photos 100000 --albums 200 [--postgres]

``--postgres`` starts Debian's PostgreSQL in a temporary directory (as the tests do).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def server(postgres: bool):
    if not postgres:
        return contextlib.nullcontext(None)
    from restore_dagster_tests.postgres_server import running_server

    return running_server()


def _root(keep: Path | None):
    if keep is None:
        return tempfile.TemporaryDirectory()
    keep.mkdir(parents=True, exist_ok=True)
    return contextlib.nullcontext(str(keep))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--albums", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", type=Path, help="build the storage root here, or reuse it when it is there (SQLite only)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the last unchanged tick here, print the top 25")
    args = parser.parse_args()
    if args.keep and args.postgres:
        parser.error("--keep reuses a SQLite instance; PostgreSQL's is thrown away with its server")

    with _root(args.keep) as tmp, server(args.postgres) as url:
        os.environ["RESTORE_HOME"] = str(Path(tmp) / "home")
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home" / "dagster_home")
        if url:
            os.environ["RESTORE_POSTGRES_URL"] = url
        import dagster as dg

        from restore_dagster.config import Layout
        from restore_dagster.instance import get_instance
        from restore_dagster.lineage import StageRecord, fingerprints, record_path, weights_signatures
        from restore_dagster.partitions import photos
        from restore_dagster.resources import StorageResource
        from restore_dagster.sensors import gallery_sensor

        reused = (Path(tmp) / "home" / "gallery").is_dir()
        layout = Layout.from_env().ensure()
        for i in range(0 if reused else args.photos):
            album = layout.gallery / f"album {i % args.albums:03d}"
            album.mkdir(exist_ok=True)
            (album / f"scan {i:06d}.jpg").write_bytes(b"\xff\xd8 not decoded by the sensor")
        storage = StorageResource(home=str(layout.root))

        def timed_tick(instance, cursor):
            start, cpu = time.perf_counter(), time.process_time()
            result = gallery_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"storage": storage}))
            evaluated = time.perf_counter() - start
            cpu_seconds.append(time.process_time() - cpu)
            for request in getattr(result, "dynamic_partitions_requests", None) or []:
                instance.add_dynamic_partitions(photos.name, list(request.partition_keys))
            return result, evaluated, time.perf_counter() - start

        cpu_seconds = []  # this process's CPU time per tick: what the tick costs on an idle machine, about
        with get_instance(layout) as instance:
            cursor, registering = None, []
            while len(instance.get_dynamic_partitions(photos.name)) < args.photos:
                result, evaluated, applied = timed_tick(instance, cursor)
                registering.append((evaluated, applied, cpu_seconds[-1]))
                cursor = getattr(result, "cursor", None) or cursor
            if not (Path(tmp) / "home" / "stages" / "published").is_dir():
                # A finished photo's published record is all an unchanged tick reads of it (the other
                # stages' records only when published is not current): written as write_record would,
                # without its fsync, or writing 100,000 of them would take longer than the benchmark.
                registry = storage.registry().load()
                settings = storage.settings()
                weights = weights_signatures(layout)
                for key, entry in registry.photos.items():
                    fp = fingerprints(entry.signature, settings.get(key), {}, weights)["published"]
                    path = record_path(layout, "published", key)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(StageRecord("published", key, fp, None, {}, time.time()).to_json()))
            times, cpu_seconds[:] = [], []
            profiler = cProfile.Profile() if args.profile else None
            for tick in range(args.ticks):
                if profiler and tick == args.ticks - 1:
                    profiler.enable()
                result, evaluated, _applied = timed_tick(instance, cursor)
                times.append(evaluated)
                cursor = getattr(result, "cursor", None) or cursor
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            last = result.skip_message if isinstance(result, dg.SkipReason) else f"{len(result.run_requests)} run request(s)"
        backend = "PostgreSQL" if url else "SQLite"
        slowest = max(registering, default=(float("nan"),) * 3)  # none when --keep found it registered
        print(f"| storage | photos | ticks to register all | slowest registering tick (sensor / + partition adds; sensor CPU) "
              f"| unchanged tick, first | unchanged tick, best of {args.ticks} (CPU) | last tick said |")
        print("|---|---|---|---|---|---|---|")
        best = min(range(1, len(times)) or [0], key=lambda i: times[i])
        print(f"| {backend} | {args.photos:,} | {len(registering)} | {slowest[0]:.2f} s / {slowest[1]:.2f} s ({slowest[2]:.2f} s) "
              f"| {times[0]:.2f} s | {times[best]:.2f} s ({cpu_seconds[best]:.2f} s) | {last} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
