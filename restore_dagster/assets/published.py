"""published: the web version put back into the gallery beside the original, replacing an older one."""
from pathlib import Path

import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, StageOutput, preview_markdown, run_stage
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource


def publish_photo(job: PhotoJob) -> StageOutput:
    compressed = job.upstream("compressed")
    data = Path(compressed.file).read_bytes()
    location = job.storage.gallery().publish(job.entry.source, data, Path(compressed.file).suffix)
    before = imaging.decode_stage_file(job.upstream("scanned").file)
    after = imaging.decode_stage_file(compressed.file)
    record = {
        "location": location,
        "bytes": len(data),
        "format": compressed.metadata.get("format", ""),
        "width": after.width,
        "height": after.height,
        "source": job.entry.source,
        "note": compressed.metadata.get("note", ""),
    }
    return StageOutput(None, record, {
        "location": dg.MetadataValue.path(location),
        "before_after": preview_markdown("original | restored", imaging.before_after_preview(before, after)),
    })


@stage_asset(
    deps=["compressed"],
    description="The restoration published into the gallery (<album>/restored/<name>.restored.jpg|webp), "
    "replacing the previous restoration; the original is never touched.",
)
def published(context: dg.AssetExecutionContext, storage: StorageResource):
    yield from run_stage(context, "published", storage, publish_photo)
