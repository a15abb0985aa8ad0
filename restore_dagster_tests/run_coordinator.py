"""A run's coordinator in a process of its own, as the daemon's run worker is: ``python -m
restore_dagster_tests.run_coordinator '<request as JSON>'`` executes one sensor run request (asset
selection and tags) with the project's job, loaded from its module, through the job's own executor
(the Celery executor when ``RESTORE_CELERY_BROKER`` is set), on the instance of ``$DAGSTER_HOME``.

Loading the job from its module by name (not from an object in this process) is what lets the Celery
workers load the same job; exits 0 when the run succeeded, 1 otherwise.
"""
from __future__ import annotations

import json
import sys
import warnings


def main(argv: list[str]) -> int:
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    request = json.loads(argv[0])
    repository = ReconstructableRepository.for_module("restore_dagster.definitions", "defs")
    job = repository.get_reconstructable_job("__ASSET_JOB")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with dg.DagsterInstance.get() as instance:
            result = dg.execute_job(
                job,
                instance=instance,
                tags=request["tags"],
                asset_selection=[dg.AssetKey(name) for name in request["assets"]],
            )
    print(result.run_id, flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
