"""compressed: the smallest JPEG or WebP that keeps the quality floor against `colorized`, under the cap."""

import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, preview_markdown, run_stage
from restore_dagster.assets.checks import not_applicable
from restore_dagster.files import atomic_write_bytes
from restore_dagster.optional_steps import pending_steps
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource

EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp"}


def restoration_note(job: PhotoJob) -> str:
    repaired = job.upstream("repaired").metadata
    upscaled = job.upstream("upscaled").metadata
    colorized = job.upstream("colorized").metadata
    parts = []
    if repaired.get("repaired"):
        parts.append(f"scratches and dust painted out by LaMa ({repaired.get('regions')} region(s))")
    if job.upstream("toned").metadata.get("toned"):
        parts.append("fading and colour cast corrected")
    parts.append(f"waifu2x UpPhoto noise {upscaled.get('noise_level')} to {upscaled.get('target_long_side')}px")
    if colorized.get("colorized"):
        knob = (f"input_size {colorized.get('input_size')}" if colorized.get("input_size")
                else f"render_factor {colorized.get('render_factor')}")
        parts.append(f"{colorized.get('model')} {knob} (AI-colourised)")
    # A step skipped for want of its model is said so, never claimed: "no colour yet (colour pending: ...)".
    above = ("scanned", "repaired", "toned", "upscaled", "colorized")
    for step in pending_steps(job.upstream(s) for s in above):
        partly = step.step == "repair" and repaired.get("repaired")  # specks done, scratch detection waits
        parts.append(f"{'no scratch detection' if partly else 'no ' + step.step} yet ({step.headline})")
    if any(job.upstream(s).metadata.get("touched_up") for s in above):
        parts.append("with manual touch-ups")
    return "Restored by restore_dagster: " + ", ".join(parts)


def compress_photo(job: PhotoJob) -> StageOutput:
    colorized = job.upstream("colorized")
    exif_path = job.output("scanned", "exif")
    exif = exif_path.read_bytes() if exif_path.is_file() else b""
    image = imaging.decode_stage_file(colorized.file)
    note = restoration_note(job)
    touched = imaging.load_scan(job.touchup) if job.touchup else None
    if touched is not None and touched.source_format in EXTENSIONS:
        # A finished JPEG or WebP is published byte for byte; its format comes from its content, so
        # the published file's extension always says what it holds.
        fmt, data, quality = touched.source_format, job.touchup.read_bytes(), 0
        score = imaging.ssim(image, touched.image)
    else:  # the model's output, or a PNG/TIFF/BMP touch-up: encoded for the web like any other
        encoded = imaging.encode_smallest(
            touched.image if touched else image, ssim_floor=job.settings.ssim_floor, max_bytes=job.settings.max_bytes,
            exif=exif, comment=note,
        )
        fmt, data, quality, score = encoded.format, encoded.data, encoded.quality, encoded.ssim
    out = job.output("compressed", EXTENSIONS[fmt])
    for other in EXTENSIONS.values():  # a previous restoration in the other format is stale
        if other != EXTENSIONS[fmt]:
            job.output("compressed", other).unlink(missing_ok=True)
    atomic_write_bytes(out, data)
    record = {
        "format": fmt,
        "quality": quality,
        "ssim": round(float(score), 4),
        "ssim_floor": job.settings.ssim_floor,
        "bytes": len(data),
        "max_bytes": job.settings.max_bytes,
        "width": image.width,
        "height": image.height,
        "note": note,
        "exif_kept": bool(exif),
    }
    return StageOutput(out, record, {"preview": preview_markdown("web version", imaging.preview_data_uri(image))})


def budget_check(done):
    if not done:
        return [not_applicable("within_budget", "no photo succeeded in this run", photos_checked=0)]
    bad = {k: f"{o.record['bytes']} bytes, SSIM {o.record['ssim']}" for k, o in done.items()
           if o.record["bytes"] > o.record["max_bytes"] or o.record["ssim"] < o.record["ssim_floor"]}
    return [dg.AssetCheckResult(
        check_name="within_budget",
        passed=not bad,
        metadata={"applicable": True, "photos_checked": len(done), "outside_budget": dg.MetadataValue.json(bad)},
        description="within the size cap and above the SSIM floor" if not bad else f"{len(bad)} photo(s) outside the budget",
    )]


@stage_asset(
    deps=["colorized"],
    kinds={"jpeg", "webp"},
    check_specs=[dg.AssetCheckSpec("within_budget", asset="compressed",
                                   description="At most max_bytes and at least ssim_floor SSIM against colorized.")],
    description="The smallest JPEG or WebP whose SSIM against `colorized` meets the floor (0.97) under the size cap "
    "(4 MB); EXIF kept, plus a note of how the photo was restored.",
)
def compressed(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource):
    yield from run_stage(context, "compressed", storage, compress_photo, config, checks=budget_check)
