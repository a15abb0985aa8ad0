"""repaired: scratches, cracks and dust found and painted out at scan resolution, before the upscaler
would make them crisper.

The mask is the scratch network's (BOPBTL, cut at the photo's ``repair_threshold``) joined with the
speck detector's, corrected by the owner (``touchups/repair-mask/<album>/<photo>.png``: white adds,
black removes); LaMa fills it. Outputs: the repaired image and the mask used (all 0 when nothing was
repaired), and the grey-or-colour measure that ``colorized`` decides from, taken without the defects
(white scratches and dust read as colour on a sepia print).

Both networks are optional steps: without the scratch network's weights the photo is repaired from
the specks and the owner's corrections only; without LaMa's it is not repaired at all. Either way it
is published, marked "repair pending: weights missing", and repaired again once the weights appear
(they are part of this stage's fingerprint). Weights that are there but wrong still fail the photo.
"""

import functools
from dataclasses import dataclass, field

import dagster as dg
import numpy as np

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, RestoreConfig, StageOutput, pending_metadata, preview_markdown, run_stage
from restore_dagster.imaging import repair_mask
from restore_dagster.lineage import repair_mask_path
from restore_dagster.optional_steps import RECORD_FIELD, OptionalStep, weights_missing
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import GpuResource, StorageResource

# `auto` repairs what the detectors found only while it covers at most this share of the photo.
# Damage is thin: a print crossed by 40 scratches 1000 px long and 3 px wide, dusted with hundreds of specks,
# has about 4 % of a 2000×1500 scan damaged; the speck detector's own size limit keeps dust to
# fractions of a percent. When a mask covers more than this the scratch network is reading the
# picture itself (hair, foliage, fabric, halftone dots, film grain on a dark print) and painting
# that out would smooth real detail away: `auto` then leaves the scan as it is and says why, and
# `on` repairs regardless. The owner's own "repair here" strokes are always repaired.
AUTO_MAX_COVERAGE_PERCENT = 10.0

MODELS = {  # kind → (what the owner sees, the checkpoint's file name)
    "scratch": ("BOPBTL scratch detection", "FT_Epoch_latest.pt"),
    "lama": ("LaMa big-lama", "best.ckpt"),
}


@dataclass
class Damage:
    """What the detectors and the owner say about one scan; masks are boolean H×W arrays."""

    scratches: np.ndarray
    specks: np.ndarray
    add: np.ndarray
    remove: np.ndarray
    corrected: bool
    missing: list[tuple[str, str]] = field(default_factory=list)  # (kind, the weights error's text)

    @property
    def detected(self) -> np.ndarray:
        """What the detectors found, less what the owner said never to repair."""
        return (self.scratches | self.specks) & ~self.remove


def auto_decision(mode: str, detected_percent: float) -> tuple[bool, str]:
    """(repair what was detected?, why not when not) for the photo's ``repair`` setting."""
    if mode == "on" or detected_percent <= AUTO_MAX_COVERAGE_PERCENT:
        return True, ""
    return False, (f"auto: {detected_percent:.1f}% of the photo detected, more than damage covers "
                   f"(over {AUTO_MAX_COVERAGE_PERCENT:g}%: texture, not damage); set repair on to repair it anyway")


def load_model(job: PhotoJob, kind: str, missing: list[tuple[str, str]]):
    """The model, or None (noted in ``missing``) when its weights are simply not there.

    Only absent weights (and no way to download them) make a model optional; a wrong or corrupt
    file, or an unreadable explicit path, fails the photo with its error.
    """
    from restore_dagster.models.weights import WeightsError

    try:
        return job.gpu.scratch_detector() if kind == "scratch" else job.gpu.inpainter()
    except WeightsError as exc:
        if not exc.missing:
            raise
        missing.append((kind, str(exc)))
        return None


def pending_repair(missing: list[tuple[str, str]]) -> OptionalStep:
    """One "repair pending: weights missing" step naming every missing checkpoint and how to get it."""
    models = [MODELS[kind] for kind, _ in missing]
    consequence = ("without scratch detection (specks and your corrections only)" if [k for k, _ in missing] == ["scratch"]
                   else "not repaired")
    detail = "\n\n".join([f"Published {consequence}; repaired automatically once the weights are in place.",
                          *(text for _, text in missing)])
    return weights_missing("repair", ", ".join(m[0] for m in models), ", ".join(m[1] for m in models), detail)


def find_damage(job: PhotoJob, scan) -> Damage:
    from restore_dagster.imaging.specks import detect_specks
    from restore_dagster.models.scratch_detection import detect_scratches

    missing: list[tuple[str, str]] = []
    detector = load_model(job, "scratch", missing)
    empty = np.zeros((scan.height, scan.width), dtype=bool)
    scratches = (repair_mask.as_mask(detect_scratches(scan, detector, threshold=job.settings.repair_threshold))
                 if detector is not None else empty)
    specks = repair_mask.as_mask(detect_specks(scan))
    corrections = repair_mask_path(job.layout, job.key)
    corrected = corrections.is_file()
    add, remove = repair_mask.read_corrections(corrections, scan.size) if corrected else (empty, empty)
    return Damage(scratches, specks, add, remove, corrected, missing)


def repair_photo(job: PhotoJob) -> StageOutput:
    scanned = job.upstream("scanned")
    scan = job.read_image(scanned.file)
    settings = job.settings
    out, mask_out = job.image_output("repaired"), job.output("repaired", "mask.png")
    record: dict = {"repair_mode": settings.repair, "repair_threshold": settings.repair_threshold}
    pending: OptionalStep | None = None
    declined = ""
    if job.touchup:  # a hand-repaired image replaces the output; nothing was painted by the stage
        image = imaging.decode_stage_file(job.touchup)
        used = np.zeros((image.height, image.width), dtype=bool)
        is_grey, greyness = imaging.is_grey_image(image)
        job.write_image(out, image)
        record.update(repair="touch-up (hand-repaired image)", repaired=False, device="")
    elif settings.repair == "off":
        image, used = scan, np.zeros((scan.height, scan.width), dtype=bool)
        is_grey, greyness = bool(scanned.metadata.get("is_grey")), float(scanned.metadata.get("greyness") or 0.0)
        job.copy_stage_file(scanned.file, out, scan)
        record.update(repair="off: the scan passed through unchanged", repaired=False, device="")
    else:
        damage = find_damage(job, scan)
        detected = damage.detected
        record.update(scratch_percent=round(repair_mask.coverage_percent(damage.scratches), 3),
                      speck_percent=round(repair_mask.coverage_percent(damage.specks), 3),
                      detected_percent=round(repair_mask.coverage_percent(detected), 3),
                      corrected=damage.corrected)
        accept, declined = auto_decision(settings.repair, record["detected_percent"])
        wanted = (detected if accept else np.zeros_like(detected)) | damage.add
        # Grey or colour without the defects: white scratches and dust on a sepia print are not colour.
        wanted_image = repair_mask.mask_image(wanted)
        is_grey, greyness = imaging.is_grey_image(scan, ignore=wanted_image)
        inpainter = load_model(job, "lama", damage.missing) if wanted.any() else None
        if inpainter is not None:
            from restore_dagster.models.lama import inpaint

            progress = functools.partial(job.progress.tiles, unit="pieces") if job.progress else None
            image = inpaint(scan, wanted_image, inpainter, progress=progress)
            used = wanted
            job.write_image(out, image)
        else:
            image, used = scan, np.zeros_like(wanted)
            job.copy_stage_file(scanned.file, out, scan)
        pending = pending_repair(damage.missing) if damage.missing else None
        ran_a_model = inpainter is not None or "scratch" not in dict(damage.missing)
        record.update(repaired=bool(used.any()), device=job.gpu.torch_device if ran_a_model else "")
    job.write_image(mask_out, repair_mask.mask_image(used))
    regions, coverage = repair_mask.count_regions(used), repair_mask.coverage_percent(used)
    record.setdefault("repair", _summary(regions, coverage, declined, pending))  # the other branches said it
    record.update(
        width=image.width, height=image.height,
        coverage_percent=round(coverage, 3), regions=regions,
        is_grey=bool(is_grey), greyness=round(float(greyness), 4), mask=str(mask_out),
    )
    on_scan = used if used.shape == (scan.height, scan.width) else np.zeros((scan.height, scan.width), bool)  # touch-up
    metadata = {
        "mask_overlay": preview_markdown("scan with the repair mask", imaging.preview_data_uri(
            repair_mask.mask_overlay(scan, on_scan))),
        "before_after": preview_markdown("before | after", imaging.before_after_preview(scan, image)),
    }
    if pending is not None:
        record[RECORD_FIELD] = [pending.to_json()]
        metadata.update(pending_metadata([pending]))
        if job.log is not None:
            job.log.warning(f"repaired {job.key}: {pending.headline} ({pending.weights}); published "
                            f"{'without scratch detection' if record['repaired'] else 'unrepaired'}, "
                            "repaired automatically once the weights are in place")
    return StageOutput(out, record, metadata)


def _summary(regions: int, coverage: float, declined: str, pending: OptionalStep | None) -> str:
    """The short "what happened" of the record: the catalogue and the web viewer show it."""
    if regions:
        text = f"repaired {regions} region(s), {coverage:.2f}% of the photo"
        return text + (" (without scratch detection: weights missing)" if pending else "")
    if pending is not None:
        return "not repaired: weights missing"
    return f"not repaired: {declined}" if declined else "nothing to repair"


@stage_asset(
    gpu=True,
    deps=["scanned"],
    kinds={"pytorch"},
    description="Scratches, cracks and dust painted out at scan resolution: BOPBTL's scratch network (threshold "
    "0.4) and a speck detector make the mask, corrected by touchups/repair-mask/<album>/<photo>.png (white adds, "
    "black removes); LaMa big-lama fills it. repair auto (default) skips masks over "
    f"{AUTO_MAX_COVERAGE_PERCENT:g}% of the photo (texture, not damage). A file in touchups/repaired/ replaces it.",
)
def repaired(context: dg.AssetExecutionContext, config: RestoreConfig, storage: StorageResource, gpu: GpuResource):
    try:
        yield from run_stage(context, "repaired", storage, repair_photo, config, gpu)
    finally:  # the upscaler and the colouriser that follow get the memory
        gpu.release_models("repair")
