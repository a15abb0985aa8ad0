"""toned: the print's tone and colour restored at scan resolution, between the repair and the upscaler.

Its own step, not part of ``repaired``: the repair needs models and may wait for their weights,
the tone needs none; a photo's tone setting then redoes only this stage and what follows it, and
a hand-made touch-up of either replaces only that one. It runs after the repair so that scratches
and dust (white on a print) do not count as its white point, and before the upscaler so that the
network sees the restored contrast and the curves are applied to a quarter of the pixels.

``tone``: ``auto`` (default) corrects a print measured faded and leaves any other untouched;
``on`` always corrects; ``off`` passes the repaired scan through. Grey or colour is ``repaired``'s
measure (taken without the defects), the same the colouriser decides from. See imaging/tone.py.
"""

import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, preview_markdown, run_stage
from restore_dagster.imaging.tone import restore_tone
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource


def tone_photo(job: PhotoJob) -> StageOutput:
    repaired = job.upstream("repaired")
    before = job.read_image(repaired.file)
    out = job.image_output("toned")
    if job.touchup:  # a hand-toned image replaces the output
        image = imaging.decode_stage_file(job.touchup)
        job.write_image(out, image)
        record = {"toned": False, "tone": "touch-up (hand-toned image)"}
    else:
        grey = bool(repaired.metadata.get("is_grey"))
        image, result = restore_tone(before, grey=grey, mode=job.settings.tone)
        if result.applied:
            job.write_image(out, image)
        else:  # byte for byte: nothing downstream changes when nothing was done
            job.copy_stage_file(repaired.file, out, before)
        record = result.to_json()
    record.update(tone_mode=job.settings.tone, width=image.width, height=image.height)
    metadata = {"before_after": preview_markdown("before | after", imaging.before_after_preview(before, image))}
    return StageOutput(out, record, metadata)


@stage_asset(
    deps=["repaired"],
    kinds={"numpy"},
    description="Tone and colour restored at scan resolution: a black-and-white or toned print's fog and dull "
    "whites taken out of its luminance (its tone kept), a faded colour print's dye fade and cast corrected per "
    "channel. tone auto (default) corrects only prints measured faded (lifted blacks); on, off. "
    "A file in touchups/toned/ replaces it.",
)
def toned(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource):
    yield from run_stage(context, "toned", storage, tone_photo, config)
