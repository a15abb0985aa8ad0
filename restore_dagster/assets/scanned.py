"""scanned: the original decoded into an upright 8-bit RGB image, framed (by the owner's corners, else a
photographed print found, straightened and cropped) and turned, or the user's touched-up scan."""
import dagster as dg
from PIL import Image

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, StageOutput, preview_markdown, run_stage
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging import framing
from restore_dagster.imaging.print_detection import PrintDetection, detect_print, straighten
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource


def scan_photo(job: PhotoJob) -> StageOutput:
    with job.storage.gallery().open_original(job.entry.source) as (original, stream):  # never through a link
        scan = imaging.load_scan(original, stream=stream)  # never writes to the original
    if job.touchup:  # the owner's own scan wins over everything, framing and detection included
        image = imaging.decode_stage_file(job.touchup)
        framed = {"framing": "none", "rotation": 0,
                  **print_record(None, "a touch-up replaces the scan: it is used as it is")}
    else:
        image, framed = _framed(scan.image, job.settings)
    # Measured again on what is kept: a coloured table around a grey print must not make it "colour".
    same = image is scan.image
    is_grey, greyness = (scan.is_grey, scan.greyness) if same else imaging.is_grey_image(image)
    out = job.image_output("scanned")
    job.write_image(out, image)
    if scan.exif:
        atomic_write_bytes(job.output("scanned", "exif"), scan.exif)
    else:  # a replaced original without EXIF must not inherit the old one's
        job.output("scanned", "exif").unlink(missing_ok=True)
    record = {
        "width": image.width,
        "height": image.height,
        "is_grey": bool(is_grey),
        "greyness": round(float(greyness), 4),
        "source_format": scan.source_format,
        "source_mode": scan.source_mode,
        "source_size": f"{scan.source_size[0]}x{scan.source_size[1]}",
        "capture_date": scan.capture_date or "",
        "has_exif": bool(scan.exif),
        "original": str(original),
        **framed,
    }
    return StageOutput(out, record, {"preview": preview_markdown("scan", imaging.preview_data_uri(image))})


def _framed(upright: Image.Image, settings) -> tuple[Image.Image, dict]:
    """The upright scan framed (the owner's corners, else automatic print detection) and turned, with
    the record of what was done. The original file is never touched: this works on the decoded pixels."""
    record = {"upright_size": f"{upright.width}x{upright.height}"}
    if settings.frame_corners is not None:
        image = framing.frame(upright, settings.frame_corners)
        record.update(framing="manual", frame_corners=[list(p) for p in settings.frame_corners],
                      **print_record(None, "framed by hand: detection not run"))
    else:
        detection = detect_print(upright)
        image = straighten(upright, detection)  # the same image when the detection is not confident
        record.update(print_record(detection))
        if detection.cropped:
            # As fractions, like the owner's corners, so the viewer's Frame panel starts from them.
            width, height = upright.size
            record.update(framing="automatic",
                          frame_corners=[[round(x / width, 5), round(y / height, 5)] for x, y in detection.corners])
        else:
            record["framing"] = "none"
    record["rotation"] = settings.rotation
    return framing.rotate(image, settings.rotation), record


def print_record(detection: PrintDetection | None, why_not_run: str = "") -> dict:
    """The print detection's findings for the stage record (``print_*``; corners on the upright scan)."""
    if detection is None:
        return {"print_cropped": False, "print_confidence": 0.0, "print_corners": None, "print_size": "",
                "print_aspect": "", "print_reason": why_not_run}
    return {
        "print_cropped": detection.cropped,
        "print_confidence": detection.confidence,
        "print_corners": [list(corner) for corner in detection.corners] if detection.corners else None,
        "print_size": f"{detection.size[0]}x{detection.size[1]}" if detection.size else "",
        "print_aspect": detection.aspect_name,
        "print_reason": detection.reason,
    }


@stage_asset(
    deps=[dg.AssetKey("raw_photo")],
    kinds={"pillow"},
    description="The uploaded scan decoded: EXIF-upright, 8-bit RGB, checked against the pixel limit; framed "
    "by the owner's corners (restore-photos frame), else a phone picture of a print is straightened and cropped to "
    "the print when the detection is confident (print_* in the record); turned by 90° steps; grey-or-colour and "
    "capture date recorded. A file in touchups/scanned/<album>/<photo>.* replaces it.",
)
def scanned(context: dg.AssetExecutionContext, storage: StorageResource):
    yield from run_stage(context, "scanned", storage, scan_photo)
