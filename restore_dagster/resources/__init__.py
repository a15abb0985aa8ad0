"""Dagster resources: the storage root and gallery, and the GPU (device, model cache, memory)."""
from restore_dagster.resources.gpu import GpuResource
from restore_dagster.resources.storage import StorageResource

__all__ = ["GpuResource", "StorageResource"]
