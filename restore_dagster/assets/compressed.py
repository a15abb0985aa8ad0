"""compressed: the smallest JPEG, WebP or AVIF that keeps the quality floor against `colorized`, under the cap,
and a JPEG for downloads beside a WebP or AVIF (every program opens a JPEG)."""

import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, preview_markdown, run_stage
from restore_dagster.assets.checks import not_applicable
from restore_dagster.files import atomic_write_bytes
from restore_dagster.optional_steps import pending_steps
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource
from restore_dagster.settings import parse_web_formats

EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif"}
# The JPEG for downloads lives in a folder of its own, ``stages/compressed-download/<album>/<photo>.jpg``:
# beside the web file, ``x.download.jpg`` would be the web JPEG of a photo whose slug is ``x.download``.
DOWNLOAD_STAGE = "compressed-download"


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
    image = job.read_image(colorized.file)
    note = restoration_note(job)
    settings = job.settings
    floors = {"ssim_floor": settings.ssim_floor, "detail_floor_1to1": settings.detail_floor_1to1}
    touched = imaging.load_scan(job.touchup) if job.touchup else None
    if touched is not None and touched.source_format in ("JPEG", "WEBP"):
        # A finished JPEG or WebP is published byte for byte; its format comes from its content, so
        # the published file's extension always says what it holds.
        score = imaging.fidelity(image, touched.image)
        web = imaging.Encoded(job.touchup.read_bytes(), touched.source_format, 0, score.screen, score.detail,
                              touched.image.width, touched.image.height)
        download = web
        if web.format != "JPEG":  # the download is still a JPEG: encoded from the touch-up, not the model's output
            download = imaging.encode_for_web(touched.image, max_bytes=_NO_CAP, formats=("JPEG",), exif=exif,
                                              comment=note, **floors).web
    else:  # the model's output, or a PNG/TIFF/BMP touch-up: encoded for the web like any other
        encoding = imaging.encode_for_web(
            touched.image if touched else image, max_bytes=settings.max_bytes,
            formats=parse_web_formats(settings.web_formats), exif=exif, comment=note, **floors,
        )
        web, download = encoding.web, encoding.download
    out = job.output("compressed", EXTENSIONS[web.format])
    for other in EXTENSIONS.values():  # a previous restoration in another format is stale
        if other != EXTENSIONS[web.format]:
            job.output("compressed", other).unlink(missing_ok=True)
    download_file = job.output(DOWNLOAD_STAGE, "jpg")
    download_file.unlink(missing_ok=True)  # so is a previous download, when this web file is a JPEG
    atomic_write_bytes(out, web.data)
    record = {
        "format": web.format,
        "quality": web.quality,
        "ssim": round(float(web.ssim), 4),
        "ssim_floor": settings.ssim_floor,
        "detail_1to1": round(float(web.detail_1to1), 4),
        "detail_floor_1to1": settings.detail_floor_1to1,
        "bytes": len(web.data),
        "max_bytes": settings.max_bytes,
        "width": image.width,
        "height": image.height,
        "note": note,
        "exif_kept": bool(exif),
    }
    if download is not web:
        atomic_write_bytes(download_file, download.data)
        record["download"] = {
            "file": str(download_file),
            "format": download.format,
            "quality": download.quality,
            "ssim": round(float(download.ssim), 4),
            "detail_1to1": round(float(download.detail_1to1), 4),
            "bytes": len(download.data),
        }
    return StageOutput(out, record, {"preview": preview_markdown("web version", imaging.preview_data_uri(image))})


# A download is not what a page loads: its JPEG takes the quality the floors need, however large.
_NO_CAP = 1 << 62


def budget_check(done):
    if not done:
        return [not_applicable("within_budget", "no photo succeeded in this run", photos_checked=0)]
    bad = {k: f"{o.record['bytes']} bytes, SSIM {o.record['ssim']} on screen, detail {o.record.get('detail_1to1')} at 1:1"
           for k, o in done.items() if outside_budget(o.record)}
    return [dg.AssetCheckResult(
        check_name="within_budget",
        passed=not bad,
        metadata={"applicable": True, "photos_checked": len(done), "outside_budget": dg.MetadataValue.json(bad)},
        description="within the size cap and above the SSIM floors" if not bad else f"{len(bad)} photo(s) outside the budget",
    )]


def outside_budget(record: dict) -> bool:
    """Over the cap, or below either floor. A record from before the 1:1 floor has no detail score:
    it is re-encoded anyway (the stage's salt changed), and judged on what it has until then."""
    if record["bytes"] > record["max_bytes"] or record["ssim"] < record["ssim_floor"]:
        return True
    return "detail_1to1" in record and record["detail_1to1"] < record.get("detail_floor_1to1", 0.0)


@stage_asset(
    deps=["colorized"],
    kinds={"jpeg", "webp", "avif"},
    check_specs=[dg.AssetCheckSpec("within_budget", asset="compressed",
                                   description="At most max_bytes, SSIM against colorized at least ssim_floor on a "
                                   "screen, and at least detail_floor_1to1 of its fine texture kept at 1:1.")],
    description="The smallest JPEG or WebP (AVIF when web_formats allows it) whose SSIM against `colorized` meets "
    "the floors (SSIM 0.97 at screen scale, and 90 % of the grain and fine texture kept at 1:1, where it would "
    "turn to blotches) under the size cap "
    "(4 MB), with a JPEG for downloads beside a WebP or AVIF; EXIF kept, plus a note of how the photo was restored.",
)
def compressed(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource):
    yield from run_stage(context, "compressed", storage, compress_photo, config, checks=budget_check)
