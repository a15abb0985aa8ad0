"""How many photos of a batch a host-only stage works on at once (``$RESTORE_HOST_WORKERS``).

The host-only stages (``scanned``, ``toned``, ``compressed``, ``published``: those that never take
the ``gpu`` resource) spend their time in Pillow's decoders and encoders, NumPy and OpenCV, which
release the GIL while they work: threads of this one process spread a batch's photos over the
cores (1.53× through the host stages with 2 workers on 2 cores, bench/bench_album.py; threads and
processes within the load's noise of each other, bench/bench_host_workers.py), and keep what a
process pool would lose: the stage images handed over in memory (stage_io.STAGE_IMAGES), the step's log,
the background writer and the stop checkpoint. The GPU stages stay one photo at a time: the ``gpu``
pool gives a step the device, and a batch loads its models once.

Default: one worker per core this process may run on. Oversubscription stays bounded: OpenCV runs a
call on its own thread pool only when that pool is idle (a second thread's call runs on that
thread), Pillow and NumPy work on the calling thread, and no host stage calls torch.
"""
from __future__ import annotations

import os

ENV_HOST_WORKERS = "RESTORE_HOST_WORKERS"


def available_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s limit), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def host_workers() -> int:
    """``$RESTORE_HOST_WORKERS`` (a whole number, at least 1), else one per available core."""
    value = (os.environ.get(ENV_HOST_WORKERS) or "").strip()
    if not value:
        return available_cores()
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"${ENV_HOST_WORKERS} must be a whole number of photos at a time, at least 1, got {value!r}")
    return workers
