"""The photos partitions: one dynamic partition per photo, keyed ``<album>/<photo>`` (see keys.py)."""
import warnings

import dagster as dg

from restore_dagster.celery_steps import GPU_QUEUE, QUEUE_TAG

# ``backfill_policy=`` on ``@asset`` is Beta in Dagster 1.13 and used here on purpose (a backfill of an
# album runs in batches of PHOTOS_PER_RUN). Its warning would otherwise be printed on every import of
# the project (every CLI command, every code-server start): silence exactly that one, nothing else.
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` of function `asset` is currently in beta", category=dg.BetaWarning
)

photos = dg.DynamicPartitionsDefinition(name="photos")

# Several photos per run so the GPU stages load their models once per batch; small enough that one
# run's failure or a cancelled run costs little. The sensor batches the same way (sync.DEFAULT_BATCH).
PHOTOS_PER_RUN = 8
photos_backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=PHOTOS_PER_RUN)

# Read only by the Kubernetes executor (dagster-k8s): one GPU per step of the GPU assets; and by the
# Celery executor (celery_steps.py): their steps go to the workers of the queue "gpu".
# Elsewhere these tags are inert; GPU steps are serialised by the "gpu" pool in every case.
GPU_OP_TAGS = {
    "dagster-k8s/config": {"container_config": {"resources": {"limits": {"nvidia.com/gpu": 1}}}},
    QUEUE_TAG: GPU_QUEUE,
}


def stage_asset(*, gpu: bool = False, **kwargs):
    """``@dg.asset`` for a per-photo stage: photos partitions, the batch policy, the restoration group;
    ``gpu=True`` adds the "gpu" pool and the Kubernetes GPU request."""
    gpu_args = {"pool": "gpu", "op_tags": GPU_OP_TAGS} if gpu else {}
    return dg.asset(
        partitions_def=photos, backfill_policy=photos_backfill_policy, group_name="restoration", **gpu_args, **kwargs
    )
