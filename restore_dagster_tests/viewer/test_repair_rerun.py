"""From the web editor to the pipeline: a correction saved in the viewer re-runs only that photo, from
``repaired`` down, and the new mask has what the owner painted (the real sensor and assets, with
the stand-in weights of the repair networks)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from restore_dagster.config import STAGES
from restore_dagster.lineage import read_record
from restore_dagster_tests.pipeline.harness import drain
from restore_dagster_tests.pipeline.test_repair_stage import (  # noqa: F401 (fixtures)
    SIZE, instance, repair_resources, scratched_scan, stage_mask,
)
from restore_dagster_tests.viewer.conftest import csrf_of

BOX = (40, 4, 52, 12)  # x0, y0, x1, y1: away from the print's scratch and specks


def test_a_correction_saved_in_the_viewer_reruns_only_that_photo_from_repaired(owner, layout, instance, repair_resources):
    scratched_scan(layout.gallery / "al" / "x.png", seed=1)
    scratched_scan(layout.gallery / "al" / "y.png", seed=2)
    drain(instance, repair_resources)
    assert owner.get("/api/albums/al/photos/x.png").json()["state"] == "restored"
    first_mask = stage_mask(layout, "al/x")
    y_records = {stage: read_record(layout, stage, "al/y").at for stage in STAGES}
    x_scanned = read_record(layout, "scanned", "al/x").at

    strokes = np.zeros((SIZE[1], SIZE[0], 4), dtype=np.uint8)  # as the editor sends them
    x0, y0, x1, y1 = BOX
    strokes[y0:y1, x0:x1] = (255, 255, 255, 255)
    buffer = io.BytesIO()
    Image.fromarray(strokes, "RGBA").save(buffer, "PNG")
    response = owner.post("/albums/al/photos/x.png/repair-mask", files={"file": ("m.png", buffer.getvalue(), "image/png")},
                          headers={"X-CSRF-Token": csrf_of(owner)})
    assert response.status_code == 200, response.text
    assert response.json()["photo"]["state"] == "waiting"

    requests = drain(instance, repair_resources)
    assert [r.partition_key for r in requests] == ["al/x"]
    assert [k.path[-1] for k in requests[0].asset_selection] == list(STAGES[1:])  # from repaired down
    assert read_record(layout, "scanned", "al/x").at == x_scanned, "the scan is not redone"
    assert {stage: read_record(layout, stage, "al/y").at for stage in STAGES} == y_records, "the other photo is left alone"
    mask = stage_mask(layout, "al/x")
    painted = np.zeros_like(mask)
    painted[y0:y1, x0:x1] = True
    assert (painted & ~first_mask).any(), "the test paints where the detectors found nothing"
    assert (mask == (first_mask | painted)).all(), "the new mask is the detectors' plus what was painted"
    assert owner.get("/api/albums/al/photos/x.png").json()["state"] == "restored"
    overlay = np.asarray(Image.open(io.BytesIO(owner.get("/albums/al/photos/x.png/repair/mask").content)))
    assert (overlay[y0:y1, x0:x1, 3] > 0).all(), "the editor shows the new mask"
