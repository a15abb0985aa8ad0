"""How long a gallery_sensor tick takes over a gallery of N unchanged, fully restored photos.

Target: under 2 s for 10,000 photos (no re-hashing of unchanged files). Builds a throwaway storage
root with N tiny files (the sensor never decodes images), lets a first tick register them, writes the
stage records a finished pipeline would leave, then times further ticks on an on-disk instance.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--albums", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RESTORE_HOME"] = str(Path(tmp) / "home")
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home" / "dagster_home")
        import dagster as dg

        from restore_dagster.config import Layout
        from restore_dagster.instance import get_instance
        from restore_dagster.lineage import fingerprints, weights_signatures, write_record
        from restore_dagster.partitions import photos
        from restore_dagster.resources import StorageResource
        from restore_dagster.sensors import gallery_sensor

        layout = Layout.from_env().ensure()
        for i in range(args.photos):
            album = layout.gallery / f"album {i % args.albums:03d}"
            album.mkdir(exist_ok=True)
            (album / f"scan {i:05d}.jpg").write_bytes(b"\xff\xd8 not decoded by the sensor")
        storage = StorageResource(home=str(layout.root))
        with get_instance(layout) as instance:
            start = time.perf_counter()
            first = gallery_sensor(dg.build_sensor_context(instance=instance, resources={"storage": storage}))
            first_seconds = time.perf_counter() - start
            instance.add_dynamic_partitions(photos.name, list(first.dynamic_partitions_requests[0].partition_keys))
            registry = storage.registry().load()
            settings = storage.settings()
            weights = weights_signatures(layout)
            for key, entry in registry.photos.items():
                for stage, fp in fingerprints(entry.signature, settings.get(key), {}, weights).items():
                    write_record(layout, stage, key, fp, None, {})
            cursor, times = first.cursor, []
            for _ in range(args.ticks):
                start = time.perf_counter()
                result = gallery_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"storage": storage}))
                times.append(time.perf_counter() - start)
                cursor = getattr(result, "cursor", None) or cursor
            last = result.skip_message if isinstance(result, dg.SkipReason) else f"{len(result.run_requests)} run request(s)"
        print(f"| photos | first tick (registers all) | unchanged tick, first | unchanged tick, best of {args.ticks} | cursor | last tick said |")
        print("|---|---|---|---|---|---|")
        print(f"| {args.photos} | {first_seconds:.2f} s | {times[0]:.2f} s | {min(times[1:] or times):.2f} s | {len(cursor)} chars | {last} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
