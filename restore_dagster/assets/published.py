"""published: the web version put back into the gallery beside the original, replacing an older one."""
import threading
from pathlib import Path

import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, StageOutput, pending_metadata, preview_markdown, run_stage
from restore_dagster.config import STAGES
from restore_dagster.descriptions import Description
from restore_dagster.imaging.metadata import PhotoFacts, describe_file
from restore_dagster.optional_steps import RECORD_FIELD, pending_steps
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource

# The batch's photos are published on several threads (host_workers.py), their gallery writes one at
# a time: Lychee's publish finds or creates the album "<album> (restored)" and keeps a file of the
# albums it made, which two photos of one album at once would each create and rewrite.
GALLERY_WRITES = threading.Lock()


def describe(data: bytes, description: Description) -> bytes:
    """The family's date, caption, place and names written into the restoration (pixels untouched)."""
    if description.is_empty():
        return data
    when = description.photo_date
    facts = PhotoFacts(
        exif_datetime=when.exif_datetime if when else "",
        offset=when.offset if when else None,
        xmp_date=when.xmp_date if when else "",
        caption=description.caption,
        place=description.place,
        coordinates=description.coordinates,
        people=description.people,
        replace_gps=bool(description.place or description.coordinates),
    )
    return describe_file(data, facts)


def publish_photo(job: PhotoJob) -> StageOutput:
    compressed = job.upstream("compressed")
    description = job.storage.descriptions().effective(job.entry.source, job.entry.album)
    web = Path(compressed.file)
    download_file = compressed.metadata.get("download", {}).get("file")
    download = describe(Path(download_file).read_bytes(), description) if download_file else None
    fmt = compressed.metadata.get("format", "")
    if fmt == "AVIF" and not description.is_empty() and download is not None:
        # Nothing here rewrites an AVIF's EXIF and XMP without re-encoding it, and a description
        # must travel with the file: the JPEG is published alone.
        data, suffix, fmt, download = download, ".jpg", "JPEG", None
    else:
        data, suffix = describe(web.read_bytes(), description), web.suffix
    gallery = job.storage.gallery()
    with GALLERY_WRITES:
        location = gallery.publish(job.entry.source, data, suffix, download)
        if not description.is_empty():
            gallery.describe_published(job.entry.source, location, description)
    before = job.read_image(job.upstream("scanned").file)
    # The stage decoder reads what scans may be, which excludes AVIF: its download JPEG is the same picture.
    after = imaging.decode_stage_file(web if web.suffix != ".avif" else download_file)
    record = {
        "location": location,
        "bytes": len(data),
        "format": fmt,
        "width": after.width,
        "height": after.height,
        "source": job.entry.source,
        "note": compressed.metadata.get("note", ""),
    }
    if download is not None:
        record["download"] = {"format": "JPEG", "bytes": len(download)}
    if not description.is_empty():
        record["description"] = {**description.to_json(), "from_album": list(description.from_album)}
    # What this restoration still lacks, gathered here so one record (the one the web gallery and
    # the catalogue read first) tells it; the stages above keep their own entries.
    pending = pending_steps(job.upstream(stage) for stage in STAGES[: STAGES.index("published")])
    if pending:
        record[RECORD_FIELD] = [step.to_json() for step in pending]
    return StageOutput(None, record, {
        "location": dg.MetadataValue.path(location),
        "before_after": preview_markdown("original | restored", imaging.before_after_preview(before, after)),
        **(pending_metadata(pending) if pending else {}),
        **({"description": dg.MetadataValue.json(record["description"])} if "description" in record else {}),
    })


@stage_asset(
    deps=["compressed"],
    description="The restoration published into the gallery (<album>/restored/<scan name>.restored.jpg|webp|avif, "
    "with a .jpg of the same name for downloads beside a WebP or AVIF), "
    "replacing the previous restoration; the original is never touched. The family's date, caption, place and "
    "names (restore-photos describe) are written into its EXIF and XMP; only this stage depends on them.",
)
def published(context: dg.AssetExecutionContext, storage: StorageResource):
    yield from run_stage(context, "published", storage, publish_photo)
