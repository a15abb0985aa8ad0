"""colour_variations: a photo's contact sheet of colourings to choose from, made on request only.

Not a stage of the restoration: no sensor or backfill materialises it for every photo (the gallery
sensor selects the seven stages only). It runs in ``colour_variations_job`` for one photo at a time,
asked for by the web viewer (through ``colour_variations_sensor``) or by ``restore-photos
variations KEY``. See restore_dagster/variations.py for what is made and why from ``toned``.
"""

import time
import traceback

import dagster as dg

from restore_dagster import variation_requests, variations
from restore_dagster.partitions import GPU_OP_TAGS, photos
from restore_dagster.progress import PhotoProgress
from restore_dagster.resources import GpuResource, StorageResource
from restore_dagster.run_activity import busy_photo_keys
from restore_dagster.run_claims import ClaimBoard
from restore_dagster.stopping import checkpoint


class VariationsConfig(dg.Config):
    """Which knobs are tried (each family's list in the order offered) and how many candidates at most."""

    render_factors: list[int] = list(variations.KNOBS["deoldify"])
    input_sizes: list[int] = list(variations.KNOBS["ddcolor"])
    max_candidates: int = variations.MAX_CANDIDATES
    working_side: int = variations.WORKING_SIDE

    def knobs(self) -> dict[str, list[int]]:
        return {"deoldify": self.render_factors, "ddcolor": self.input_sizes}


@dg.asset(
    partitions_def=photos,
    deps=["toned"],
    group_name="choices",
    kinds={"pytorch"},
    pool="gpu",
    op_tags=GPU_OP_TAGS,
    description="On request only: the photo coloured by every colouriser whose weights are here, at a few render "
    "factors or input sizes (6-9 candidates), from its toned picture at 1024 pixels; each candidate, a contact "
    "sheet and a listing under stages/colour_variations/. The owner's choice becomes the photo's settings. "
    "Colour photos pass through: nothing to choose.",
)
def colour_variations(context: dg.AssetExecutionContext, config: VariationsConfig, storage: StorageResource,
                      gpu: GpuResource):
    layout = storage.layout
    store = storage.settings()
    keys = context.partition_keys
    done: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for number, key in enumerate(keys, start=1):
        checkpoint()  # a stop asked for ends the step between photos
        started = time.time()
        progress = PhotoProgress(layout.state, variations.STAGE, key, number, len(keys), context.run_id, context.log)
        progress.start()
        try:
            done[key] = variations.make_variations(
                layout, key, store.get(key), gpu, progress, context.log, knobs=config.knobs(),
                limit=config.max_candidates, side=config.working_side, run_id=context.run_id)
            context.log.info(f"{variations.STAGE} {key}: {len(done[key]['candidates'])} candidate(s) in "
                             f"{done[key]['seconds']:.1f}s ({done[key]['state']})")
        except Exception as exc:  # one photo's failure is said in its own listing, never the others'
            reason = str(exc) if type(exc).__module__.startswith("restore_dagster") or isinstance(exc, OSError) else \
                f"{type(exc).__name__}: {exc}"
            failed[key] = reason
            variations.record_failure(layout, key, reason, context.run_id)
            context.log.error(f"{variations.STAGE} {key} failed: {reason}\n{traceback.format_exc(limit=6)}")
        finally:
            progress.clear()
            variation_requests.finish(layout.state, key, started)
            gpu.free_memory(context.log, label=f"{variations.STAGE} {key}")
    if not failed:
        for key, listing in done.items():
            context.add_asset_metadata(_metadata(layout, key, listing), partition_key=key)
        return dg.MaterializeResult()
    for key, listing in done.items():
        context.log_event(dg.AssetMaterialization(asset_key=context.asset_key, partition=key,
                                                  metadata=_metadata(layout, key, listing)))
    lines = "\n".join(f"- {key}: {reason}" for key, reason in failed.items())
    raise dg.Failure(description=f"{variations.STAGE}: {len(failed)} of {len(keys)} photo(s) failed:\n{lines}",
                     metadata={"failed": dg.MetadataValue.json(failed)}, allow_retries=False)


def _metadata(layout, key: str, listing: dict) -> dict:
    from restore_dagster import imaging

    metadata = {
        "state": listing["state"],
        "candidates": len(listing["candidates"]),
        "seconds": listing["seconds"],
        "listing": dg.MetadataValue.path(str(variations.folder(layout, key) / variations.LISTING)),
    }
    if listing.get("message"):
        metadata["message"] = listing["message"]
    if listing.get("omitted"):
        metadata["left_out"] = dg.MetadataValue.json(listing["omitted"])
    sheet = variations.candidate_file(layout, key, listing.get("sheet") or "")
    if sheet is not None:
        from PIL import Image

        with Image.open(sheet) as image:
            preview = imaging.preview_data_uri(image.convert("RGB"), max_side=512, max_bytes=80_000)
        metadata["contact_sheet"] = dg.MetadataValue.md(f"**contact sheet**\n\n![contact sheet]({preview})")
    return metadata


colour_variations_job = dg.define_asset_job(
    "colour_variations_job",
    selection=dg.AssetSelection.assets(colour_variations),
    description="One photo's colour variations (asked for from the web viewer or `restore-photos variations KEY`).",
)

RUN_KEY_PREFIX = "colour-variations"


@dg.sensor(
    name="colour_variations_sensor",
    job=colour_variations_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,  # the owner is looking at a phone waiting for it
    description="Starts a photo's colour variations when its owner asks for them in the web viewer "
    "(state/variation-requests/); a photo being restored gets its turn once that run ends.",
)
def colour_variations_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    state = storage.layout.state
    waiting = variation_requests.pending(state)
    if not waiting:
        return dg.SkipReason("no colour variations asked for")
    order = list(context.instance.get_dynamic_partitions(photos.name))
    known = set(order)
    busy = busy_photo_keys(context.instance, order) | ClaimBoard(state).others()
    run_requests, notes = [], []
    for record in waiting:
        key = record["key"]
        if key not in known:
            variation_requests.finish(state, key, time.time())
            notes.append(f"{key}: not a photo of the gallery (any more); request dropped")
        elif key in busy:
            notes.append(f"{key}: waits for the run processing it")
        else:
            run_key = f"{RUN_KEY_PREFIX}:{key}:{record['id']}"
            run_requests.append(dg.RunRequest(run_key=run_key, partition_key=key,
                                              tags={"restore/via": "variations-request"}))
            variation_requests.mark_sent(state, record, run_key)
    for note in notes:
        context.log.info(note)
    if not run_requests:
        return dg.SkipReason("; ".join(notes))
    return dg.SensorResult(run_requests=run_requests)
