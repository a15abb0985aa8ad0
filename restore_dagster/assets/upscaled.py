"""upscaled: waifu2x UpPhoto denoise and 2x passes up to the target long side (4K by default), capped at a
magnification of the scan (4x by default); the record says how many passes ran and why."""
import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, preview_markdown, run_stage
from restore_dagster.assets.checks import not_applicable
from restore_dagster.imaging.keep_levels import keep_levels
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import GpuResource, StorageResource


def upscale_photo(job: PhotoJob) -> StageOutput:
    from restore_dagster.models import waifu2x

    toned = job.upstream("toned")  # the scan repaired, its tone and colour restored
    settings = job.settings
    plan = levels = None
    if job.touchup:
        image, model_note = imaging.decode_stage_file(job.touchup), "touch-up"
    else:
        source = job.read_image(toned.file)
        plan = waifu2x.plan_upscale(source.size, settings.long_side, settings.max_magnification)
        image = waifu2x.upscale_to(
            source,
            long_side=settings.long_side,
            noise_level=settings.noise_level,
            device=job.gpu.torch_device,
            model=job.gpu.upphoto,  # a getter: later 2x passes use the scale-only network, cached too
            progress=job.progress.tiles if job.progress else None,  # tiles over all passes, for the log and web
            max_magnification=settings.max_magnification,
        )
        model_note = "waifu2x UpPhoto"
        # The networks darken a little on every pass (−0.5 level at mid-grey, −1 in the highlights): undone here.
        image, levels = keep_levels(image, source)
    out = job.image_output("upscaled")
    job.write_image(out, image)
    record = {
        "width": image.width,
        "height": image.height,
        # What this photo aims at: the configured long side, or less where the magnification cap holds it.
        "target_long_side": settings.long_side if plan is None else max(plan.final_size),
        "configured_long_side": settings.long_side,
        "max_magnification": settings.max_magnification,
        "noise_level": settings.noise_level,
        "model": model_note,
        "device": job.gpu.torch_device,
    }
    if plan is not None:
        record.update(passes=plan.passes, capped=plan.capped, plan=plan.reason)
    if levels is not None:
        record["levels_kept"] = levels.to_json()
    return StageOutput(out, record, {"preview": preview_markdown("upscaled", imaging.preview_data_uri(image))})


def target_size_check(done):
    checked = {k: o for k, o in done.items() if o.record["model"] != "touch-up"}  # a touch-up keeps its own size
    if not checked:
        return [not_applicable("reached_target_size", f"no photo was upscaled by the model in this run "
                               f"({len(done)} succeeded, all touch-ups)" if done else "no photo succeeded in this run",
                               photos_checked=0)]
    misses = {k: f"{o.record['width']}x{o.record['height']}" for k, o in checked.items()
              if max(o.record["width"], o.record["height"]) != o.record["target_long_side"]}
    return [dg.AssetCheckResult(
        check_name="reached_target_size",
        passed=not misses,
        metadata={"applicable": True, "photos_checked": len(checked), "missed": dg.MetadataValue.json(misses)},
        description="long side equals the target (the configured one, or the magnification cap's)" if not misses else f"{len(misses)} photo(s) off target",
    )]


@stage_asset(
    gpu=True,
    deps=["toned"],
    kinds={"pytorch"},
    check_specs=[dg.AssetCheckSpec("reached_target_size", asset="upscaled",
                                   description="The upscaled photo's long side is exactly its target: the configured "
                                   "one, or max_magnification times the scan's where that is smaller.")],
    description="waifu2x UpPhoto (upconv_7 photo): a denoising 2x pass, more 2x passes only while over sqrt(2) is "
    "still missing to the target (3840 by default, at most max_magnification (4) times the scan), then a Lanczos "
    "resize to exactly the target.",
)
def upscaled(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource, gpu: GpuResource):
    yield from run_stage(context, "upscaled", storage, upscale_photo, config, gpu, target_size_check)
