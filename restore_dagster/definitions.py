"""The one Definitions object: assets, checks, resources, the gallery sensor."""
import dagster as dg

from restore_dagster.assets import STAGE_ASSETS, catalogue, raw_photo
from restore_dagster.resources import GpuResource, StorageResource
from restore_dagster.sensors import gallery_sensor

defs = dg.Definitions(
    assets=[raw_photo, *STAGE_ASSETS, catalogue],
    sensors=[gallery_sensor],
    resources={"storage": StorageResource(), "gpu": GpuResource()},
    # In-process: one GpuResource per run, so a batch's stages share the loaded models.
    executor=dg.in_process_executor,
)
