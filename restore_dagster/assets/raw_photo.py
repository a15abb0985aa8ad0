"""raw_photo: the uploads in the gallery, an external asset the sensor reports changes of."""
import dagster as dg

from restore_dagster.partitions import photos

raw_photo = dg.AssetSpec(
    "raw_photo",
    partitions_def=photos,
    group_name="gallery",
    description="An original scan uploaded to the gallery. Never modified by the pipeline; the gallery sensor "
    "reports new and replaced uploads as observations.",
)
