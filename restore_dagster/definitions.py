"""The one Definitions object: assets, checks, resources, the gallery and catalogue sensors."""
import dagster as dg

from restore_dagster.assets import STAGE_ASSETS, catalogue, raw_photo
from restore_dagster.assets.colour_variations import colour_variations, colour_variations_job, colour_variations_sensor
from restore_dagster.celery_steps import executor_from_env
from restore_dagster.resources import GpuResource, StorageResource
from restore_dagster.sensors import gallery_sensor

# Dagster's own automation sensor starts stopped; this one is on, and looks at the catalogue only.
catalogue_sensor = dg.AutomationConditionSensorDefinition(
    "catalogue_sensor",
    target=dg.AssetSelection.assets(catalogue),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Refreshes state/catalogue.csv after photos were processed (once no processing run is going).",
)

defs = dg.Definitions(
    assets=[raw_photo, *STAGE_ASSETS, catalogue, colour_variations],  # variations: on request only
    jobs=[colour_variations_job],
    sensors=[gallery_sensor, catalogue_sensor, colour_variations_sensor],
    resources={"storage": StorageResource(), "gpu": GpuResource()},
    # In-process: one GpuResource per run, so a batch's stages share the loaded models. With
    # RESTORE_CELERY_BROKER set, each step goes to a Celery worker instead (celery_steps.py).
    executor=executor_from_env() or dg.in_process_executor,
)
