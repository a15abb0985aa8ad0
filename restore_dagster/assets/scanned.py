"""scanned: the original decoded into an upright 8-bit RGB image (a photographed print straightened and
cropped to the print), or the user's touched-up scan."""
import dagster as dg

from restore_dagster import imaging
from restore_dagster.assets.batch import PhotoJob, StageOutput, preview_markdown, run_stage
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging.print_detection import PrintDetection, detect_print, straighten
from restore_dagster.partitions import stage_asset
from restore_dagster.resources import StorageResource


def scan_photo(job: PhotoJob) -> StageOutput:
    with job.storage.gallery().open_original(job.entry.source) as (original, stream):  # never through a link
        scan = imaging.load_scan(original, stream=stream)  # never writes to the original
    image = imaging.decode_stage_file(job.touchup) if job.touchup else scan.image
    # A touch-up is the owner's own framing of the scan: it is used as it is, never cropped again.
    detection = None if job.touchup else detect_print(image)
    if detection is not None and detection.cropped:
        image = straighten(image, detection)
    # Measured again on a cropped print: the table around it must not make a grey print read as colour.
    is_grey, greyness = imaging.is_grey_image(image) if image is not scan.image else (scan.is_grey, scan.greyness)
    out = job.output("scanned", "png")
    atomic_write_bytes(out, imaging.encode_png(image))
    if scan.exif:
        atomic_write_bytes(job.output("scanned", "exif"), scan.exif)
    else:  # a replaced original without EXIF must not inherit the old one's
        job.output("scanned", "exif").unlink(missing_ok=True)
    record = {
        "width": image.width,
        "height": image.height,
        "bytes": out.stat().st_size,
        "is_grey": bool(is_grey),
        "greyness": round(float(greyness), 4),
        "source_format": scan.source_format,
        "source_mode": scan.source_mode,
        "source_size": f"{scan.source_size[0]}x{scan.source_size[1]}",
        "capture_date": scan.capture_date or "",
        "has_exif": bool(scan.exif),
        "original": str(original),
        **print_record(detection),
    }
    return StageOutput(out, record, {"preview": preview_markdown("scan", imaging.preview_data_uri(image))})


def print_record(detection: PrintDetection | None) -> dict:
    """The print detection's findings for the stage record (``print_*``; corners on the upright scan)."""
    if detection is None:
        return {"print_cropped": False, "print_confidence": 0.0, "print_corners": None, "print_size": "",
                "print_aspect": "", "print_reason": "a touch-up replaces the scan: it is used as it is"}
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
    description="The uploaded scan decoded: EXIF-upright, 8-bit RGB, checked against the pixel limit; "
    "grey-or-colour and capture date recorded; a phone picture of a print is straightened and cropped to the print "
    "when the detection is confident (print_* in the record). A file in touchups/scanned/<album>/<photo>.* replaces it.",
)
def scanned(context: dg.AssetExecutionContext, storage: StorageResource):
    yield from run_stage(context, "scanned", storage, scan_photo)
