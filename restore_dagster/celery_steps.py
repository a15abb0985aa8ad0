"""Steps on Celery workers (dagster-celery), which may be other machines, when ``RESTORE_CELERY_BROKER``
is set (a Redis URL such as ``redis://broker.example:6379/0``).

A run's coordinator (the run worker the daemon starts) then sends each step to a broker queue instead
of running it itself: the GPU assets' steps to the queue ``gpu`` (their op tag
``dagster-celery/queue``, partitions.py), every other step to ``dagster``, dagster-celery's default.
Workers started with ``celery -A restore_dagster.celery_worker worker -Q gpu`` (or ``-Q dagster``)
take them. What stays true:

- The ``gpu`` pool still serialises GPU steps: the coordinator claims the step's pool slot in the
  instance before sending it, whichever worker then runs it (dagster-celery's executor uses the same
  instance concurrency context as the others). One slot per GPU: with N GPU machines, set the pool's
  limit to N and run one ``-Q gpu -c 1`` worker per GPU.
- A batch loads its models once: a step is one stage over the run's photos, run in one worker
  process, with one GpuResource (the GPU stages use different models, so nothing was shared between
  them in-process either).
- A worker killed mid-step loses nothing: tasks are acknowledged only after they finish
  (``task_acks_late``) and a task whose process died is put back on its queue
  (``task_reject_on_worker_lost``), so another process runs the step again; outputs are written
  atomically, so the killed attempt leaves no partial file. A whole machine lost with its worker is
  noticed by Redis only after the visibility timeout (``RESTORE_CELERY_VISIBILITY_TIMEOUT``, default
  one hour): keep it longer than the longest step, or a slow step is handed to a second worker too.

Requirements: the instance on PostgreSQL (``RESTORE_POSTGRES_URL``, checked here), because the
workers write each step's events into the runs the coordinator reads, from other processes and
machines; and ``RESTORE_HOME`` on storage every worker mounts at the same path (documented in the
README): the stage files one step writes are read by the next step, possibly on another machine,
and ``DAGSTER_HOME`` lives under it.
"""
from __future__ import annotations

import os
from typing import Any

from restore_dagster.postgres_url import ENV_VAR as POSTGRES_ENV_VAR

ENV_BROKER = "RESTORE_CELERY_BROKER"
ENV_BACKEND = "RESTORE_CELERY_BACKEND"  # where workers leave each step's events: the broker when unset
ENV_VISIBILITY = "RESTORE_CELERY_VISIBILITY_TIMEOUT"
QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG, without importing celery
GPU_QUEUE = "gpu"
CPU_QUEUE = "dagster"  # dagster-celery's task_default_queue: steps without the queue tag go there
DEFAULT_VISIBILITY_S = 3600


class CeleryConfigError(RuntimeError):
    """The Celery set-up cannot work as configured; the message says what to set."""


def broker_url() -> str | None:
    return os.environ.get(ENV_BROKER, "").strip() or None


def _visibility_timeout() -> int:
    text = os.environ.get(ENV_VISIBILITY, "").strip()
    if not text:
        return DEFAULT_VISIBILITY_S
    if not text.isdigit() or int(text) < 1:
        raise CeleryConfigError(f"{ENV_VISIBILITY} must be a whole number of seconds, got {text!r}")
    return int(text)


def celery_settings() -> dict[str, Any]:
    """Celery settings for both sides (the coordinator sending steps and the workers taking them)."""
    return {
        # Acknowledge a step's message when the step has finished, and put it back on the queue when
        # the process running it died (killed, out of memory, a crashed driver): the step runs again.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A worker takes one step at a time per process: a long GPU step never holds a second one back.
        "worker_prefetch_multiplier": 1,
        # Results (each step's events) are read by the coordinator within seconds; a day is plenty.
        "result_expires": 86_400,
        "broker_transport_options": {"visibility_timeout": _visibility_timeout()},
        "result_backend_transport_options": {"visibility_timeout": _visibility_timeout()},
        "broker_connection_retry_on_startup": True,
    }


def executor_config() -> dict[str, Any]:
    """The ``celery_executor`` config (broker, backend, settings); raises CeleryConfigError."""
    broker = broker_url()
    if broker is None:
        raise CeleryConfigError(f"{ENV_BROKER} is not set")
    if not os.environ.get(POSTGRES_ENV_VAR, "").strip():
        raise CeleryConfigError(
            f"{ENV_BROKER} is set but {POSTGRES_ENV_VAR} is not: steps on Celery workers run in other "
            "processes (other machines), which must all read and write the same runs, events and gpu pool "
            f"slots; set {POSTGRES_ENV_VAR} (a PostgreSQL database) for the coordinator and every worker")
    return {
        "broker": broker,
        "backend": os.environ.get(ENV_BACKEND, "").strip() or broker,
        "config_source": celery_settings(),
    }


def executor_from_env():
    """The Celery executor when ``RESTORE_CELERY_BROKER`` is set, else None (the caller's default)."""
    if broker_url() is None:
        return None
    config = executor_config()
    from dagster_celery import celery_executor

    return celery_executor.configured(config, name="celery")
