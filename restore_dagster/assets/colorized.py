"""colorized: the photo's colouriser (DeOldify or DDColor) on black-and-white photos; colour photos pass
through unless configured otherwise."""
import dagster as dg
from PIL import Image

from restore_dagster import colour_fixes, imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, pending_metadata, preview_markdown, run_stage
from restore_dagster.assets.checks import not_applicable
from restore_dagster.colourisers import model_label, run_colorizer, should_colorize
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging import colour_fix
from restore_dagster.lineage import colour_fix_path, colour_fix_signature
from restore_dagster.optional_steps import RECORD_FIELD, OptionalStep, weights_missing
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import GpuResource, StorageResource

# Hasler & Süsstrunk colourfulness: ~0 for grey, ~15 "slightly colourful". A colourised photo below
# this looks washed out, which usually means render_factor is too high for the scan's detail.
COLOURFULNESS_FLOOR = 8.0


def load_colorizer(job: PhotoJob) -> tuple[object | None, OptionalStep | None]:
    """The photo's colouriser (DeOldify or DDColor), or (None, pending step) when its weights are missing.

    Only weights that are simply not there (and cannot be downloaded) make colour optional; a wrong or
    corrupt file, or an unreadable explicit path, still fails the photo with its error.
    """
    from restore_dagster.models.pinned_weights import PINNED_WEIGHTS
    from restore_dagster.models.weights import DEOLDIFY_WEIGHTS, WeightsError

    settings = job.settings
    try:
        return job.gpu.colorizer(settings.model), None
    except WeightsError as exc:
        if not exc.missing:
            raise
        kind = settings.weights_kind
        weights = (DEOLDIFY_WEIGHTS.get(kind) or PINNED_WEIGHTS[kind]).name
        return None, weights_missing("colour", model_label(settings.model), weights, str(exc))


def apply_colour_fixes(job: PhotoJob, before, image):
    """``image`` with the owner's colour fixes replayed (colour_fixes.py), and what became of each.

    Fixes apply to every photo, colourised or passed through (a colour print's faded dress is fixed
    the same way), segmented on ``before`` (the colouriser's input, whose luminance colourisation
    keeps). A hand-coloured touch-up replaces the stage's output: the fixes wait for it to go. The
    regions actually coloured are written beside the output for audit (``<photo>.colour-fixes.png``:
    the number of the fix that coloured each pixel, at the segmentation's working size).
    """
    audit = job.output("colorized", "colour-fixes.png")
    path = colour_fix_path(job.layout, job.key)
    fixes, signature = colour_fixes.read_fixes_signed(path)  # a broken file fails this photo, naming it
    if not fixes or job.touchup:
        audit.unlink(missing_ok=True)
        return image, ({"waiting": len(fixes), "reason": "a hand-coloured image (touchups/colorized/) replaces this "
                        "stage; the colour fixes apply once it is removed"} if fixes else {})
    luminance = colour_fix.working_luminance(before)
    for _ in range(3):
        replayed = colour_fixes.replay(image, luminance, fixes)
        # The fingerprint is taken from the file after this stage: a fix the owner added (or undid)
        # while it ran would be recorded as done and never made. Replayed again on the new list instead.
        if colour_fix_signature(path) == signature:
            break
        fixes, signature = colour_fixes.read_fixes_signed(path)
        if not fixes:  # every fix undone meanwhile
            audit.unlink(missing_ok=True)
            return image, {}
    atomic_write_bytes(audit, imaging.encode_png(Image.fromarray(replayed.labels, "L")))
    if replayed.skipped and job.log is not None:
        job.log.warning(f"colorized {job.key}: {len(replayed.skipped)} colour fix(es) skipped: "
                        + "; ".join(f"{s['id']}: {s['reason']}" for s in replayed.skipped))
    return replayed.image, replayed.summary()


def colorize_photo(job: PhotoJob) -> StageOutput:
    upscaled = job.upstream("upscaled")
    # Measured in `repaired` without the defects it found: white scratches on a sepia print are not colour.
    is_grey = bool(job.upstream("repaired").metadata.get("is_grey"))
    settings = job.settings
    out = job.image_output("colorized")
    before = job.read_image(upscaled.file)
    generator, pending = None, None
    if not job.touchup and should_colorize(settings.colorize, is_grey):
        generator, pending = load_colorizer(job)
    if job.touchup:
        image, applied, model = imaging.decode_stage_file(job.touchup), False, "touch-up"
    elif generator is not None:
        image = run_colorizer(before, generator, settings)
        applied, model = True, model_label(settings.model)
    else:
        # A colour photo, or a black-and-white one whose colour waits for its weights: published
        # as it is, and redone from here when the weights appear (they are in this stage's fingerprint).
        image, applied, model = before, False, f"none ({pending.headline if pending else 'colour photo passed through'})"
        if pending is not None and job.log is not None:
            job.log.warning(f"colorized {job.key}: {pending.headline} ({pending.weights}); published without "
                            "colour, coloured automatically once the weights are in place")
    image, fixes = apply_colour_fixes(job, before, image)
    if applied or job.touchup or fixes.get("applied"):
        job.write_image(out, image)
    else:
        job.copy_stage_file(upscaled.file, out, before)  # nothing changed a pixel: the upscaled file as it is
    record = {
        "width": image.width,
        "height": image.height,
        "colorized": applied,
        "was_grey": is_grey,
        "colorize_mode": settings.colorize,
        "model": model,
        "render_factor": settings.render_factor if applied and settings.family == "deoldify" else 0,
        "input_size": settings.input_size if applied and settings.family == "ddcolor" else 0,
        "colourfulness": round(float(imaging.colourfulness(image)), 2),
        "device": job.gpu.torch_device if applied else "",
    }
    if fixes:
        record["colour_fixes"] = fixes
        record["colour_fixes_applied"] = len(fixes.get("applied", []))
        record["colour_fixes_skipped"] = len(fixes.get("skipped", []))
    metadata = {}
    if pending is not None:
        record[RECORD_FIELD] = [pending.to_json()]
        metadata = pending_metadata([pending])
    preview = imaging.before_after_preview(before, image)
    return StageOutput(out, record, {"before_after": preview_markdown("before | after", preview), **metadata})


def colourfulness_check(done):
    checked = {k: o.record["colourfulness"] for k, o in done.items() if o.record["colorized"]}
    if not checked:
        reason = (f"no photo was colourised in this run ({len(done)} passed through: colour photos, colorize "
                  "off or touch-ups)" if done else "no photo succeeded in this run")
        waiting = sum(1 for o in done.values() if o.record.get(RECORD_FIELD))
        if waiting:  # say why, rather than let "colour photos" explain black-and-white ones
            reason += f"; {waiting} of them wait for missing weights (colour pending)"
        return [not_applicable("colourful_enough", reason, floor=COLOURFULNESS_FLOOR, photos_checked=0)]
    washed = {k: v for k, v in checked.items() if v < COLOURFULNESS_FLOOR}
    return [dg.AssetCheckResult(
        check_name="colourful_enough",
        passed=not washed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"applicable": True, "floor": COLOURFULNESS_FLOOR, "photos_checked": len(checked),
                  "colourfulness": dg.MetadataValue.json(checked)},
        description=("colourised photos are above the colourfulness floor" if not washed else
                     f"washed out: {', '.join(washed)} — try a lower render_factor (restore-photos settings KEY --render-factor 20)"),
    )]


@stage_asset(
    gpu=True,
    deps=["upscaled"],
    kinds={"pytorch"},
    check_specs=[dg.AssetCheckSpec("colourful_enough", asset="colorized",
                                   description=f"A colourised photo's colourfulness is at least {COLOURFULNESS_FLOOR}.")],
    description="The photo's colouriser (DeOldify artistic by default, render_factor 35; or DDColor, input_size 512) "
    "on black-and-white photos; colour photos pass through unless their colorize setting is 'on'. Keeps the "
    "upscaled photo's luminance, takes the model's chroma. The owner's colour fixes "
    "(touchups/colour-fix/<album>/<photo>.json) are replayed on top.",
)
def colorized(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource, gpu: GpuResource):
    yield from run_stage(context, "colorized", storage, colorize_photo, config, gpu, colourfulness_check)
