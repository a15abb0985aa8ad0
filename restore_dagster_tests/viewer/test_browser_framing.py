"""The Frame panel in a real browser at phone size: a photo of a print lying at an angle on a table.

Open the restored photo's Frame panel, drag the four corner handles onto the print's corners (three
with a finger: real touch events, one with the mouse), turn it right, save: the stored corners are
where the print's corners are, the turn is 90°, the badge says the photo waits, and the pipeline
(the real sensor and assets) redoes it from ``scanned``: the new scan is the print alone, turned.
A magnifier shows the corner while it is dragged. Screenshots go to ``test-artifacts/screenshots/`` (3x-frame-*).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from restore_dagster.config import STAGES
from restore_dagster.lineage import read_record, stage_file
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.pipeline.harness import drain
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 (fixtures)
    TIMEOUT_MS, _images_loaded, browser, logged_in_owner, playwright_api, site,
)

SIZE = (480, 360)
PRINT = [(130, 60), (400, 90), (370, 300), (100, 270)]  # the print's corners on the table, in pixels
TOLERANCE = 0.01  # of the picture's side: a finger's placement, as the owner would see it


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def _print_on_a_table(path) -> None:
    image = Image.new("RGB", SIZE, (150, 45, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle([SIZE[0] // 2, 0, SIZE[0], SIZE[1]], fill=(40, 60, 160))
    draw.polygon(PRINT, fill=(235, 232, 225))
    draw.line([PRINT[0], PRINT[2]], fill=(30, 30, 30), width=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=95)


def _restored(app, layout) -> tuple[str, str]:
    """The photo registered and recorded as restored from its current inputs: (photo url, key)."""
    library = app.state.services.library
    album = library.create_album("Prints on the table")
    _print_on_a_table(library.root / album.folder / "beach.jpg")
    key = plan(layout).added[0]
    mark_done(layout, key)
    with open(library.root / album.folder / "beach.jpg", "rb") as original:
        library.gallery.publish(f"{album.folder}/beach.jpg", original.read(), "jpg")
    assert plan(layout).requests == []
    return f"/albums/{album.folder}/photos/beach.jpg", key


def _touch_drag(cdp, start, end, steps=10) -> None:
    """One finger put down at ``start``, moved to ``end`` and lifted: real touch events."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for i in range(1, steps + 1):
        x, y = (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_drag_the_corners_turn_save_and_the_photo_is_redone_from_its_scan(browser, playwright_api, site, layout, resources, instance):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored(app, layout)

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Restored")
        expect(page.locator("#frame-stage")).to_be_hidden()  # folded away until asked for
        page.locator("#framing > summary").click()
        _images_loaded(page, "#frame-photo")
        photo = page.locator("#frame-photo")
        # Centred, not just "in view": a handle on the picture's bottom edge must be on the screen
        # whatever the page's length below the panel.
        photo.evaluate("el => el.scrollIntoView({block: 'center'})")
        expect(page.locator("#frame-save")).to_be_disabled()  # nothing changed yet
        for control in (".frame-handle >> nth=0", "#frame-rotate-left", "#frame-rotate-right", "#frame-save"):
            size = page.locator(control).bounding_box()
            assert size["height"] >= 44 and size["width"] >= 44, f"{control} is smaller than a thumb: {size}"
        owner.shot("30-frame-panel", full_page=False)

        # The handles start on the picture's corners; each is dragged onto the print's corner.
        box = photo.bounding_box()
        width = page.evaluate("() => window.innerWidth")
        assert box["x"] - 24 >= 0 and box["x"] + box["width"] + 24 <= width, "a corner handle is off the screen"
        target = lambda x, y: (box["x"] + box["width"] * x / SIZE[0], box["y"] + box["height"] * y / SIZE[1])  # noqa: E731
        cdp = page.context.new_cdp_session(page)
        scroll = page.evaluate("() => window.scrollY")
        for corner in range(3):
            _touch_drag(cdp, _centre(page.locator(f".frame-handle[data-corner='{corner}']")), target(*PRINT[corner]))
        assert page.evaluate("() => window.scrollY") == scroll, "dragging a corner scrolled the page"
        start = _centre(page.locator(".frame-handle[data-corner='3']"))  # the last one with the mouse
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*target(*PRINT[3]), steps=8)
        expect(page.locator("#frame-loupe")).to_be_visible()  # the magnifier shows what the finger hides
        owner.shot("31-frame-loupe", full_page=False)
        page.mouse.up()
        expect(page.locator("#frame-loupe")).to_be_hidden()
        expect(page.locator("#frame-save")).to_be_enabled()
        owner.shot("31-frame-dragged", full_page=False)

        # Turn right: the picture turns on screen, the handles stay on the print's corners.
        page.locator("#frame-rotate-right").click()
        expect(page.locator("#frame-turned")).to_have_text("Turned 90° clockwise")
        stage = page.locator("#frame-stage").bounding_box()
        assert stage["height"] > stage["width"], f"the landscape picture is not turned upright on screen: {stage}"
        top_left = _centre(page.locator(".frame-handle[data-corner='0']"))
        assert top_left[0] > stage["x"] + stage["width"] / 2, "turned right, the print's top-left is on the right"
        owner.shot("32-frame-turned", full_page=False)

        page.locator("#frame-save").click()
        expect(page.locator("#frame-message")).to_have_text("Saved: the photo is restored again from its scan.")
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        expect(page.locator("#frame-save")).to_be_disabled()
        owner.shot("33-frame-saved", full_page=False)

        settings = SettingsStore(layout.state).get(key)
        assert settings.rotation == 90
        for (fx, fy), (px, py) in zip(settings.frame_corners, PRINT):
            assert abs(fx - px / SIZE[0]) < TOLERANCE and abs(fy - py / SIZE[1]) < TOLERANCE, settings.frame_corners
        assert [(r.start, r.keys) for r in plan(layout).requests] == [("scanned", (key,))]

        # The pipeline redoes the photo from its scan: the print alone, turned; the viewer shows it restored.
        before = {stage: read_record(layout, stage, key).at for stage in STAGES}
        drain(instance, resources)
        assert all(read_record(layout, stage, key).at > before[stage] for stage in STAGES)
        scanned = read_record(layout, "scanned", key).metadata
        assert (scanned["framing"], scanned["rotation"]) == ("manual", 90)
        assert scanned["height"] > scanned["width"], "turned: the landscape print stands upright"
        with Image.open(stage_file(layout, "scanned", key, "png")) as scan:
            pixels = np.asarray(scan.convert("RGB").resize((20, 20))).reshape(-1, 3).astype(int)
        table = sum(1 for r, g, b in pixels if abs(r - g) > 60 or abs(b - g) > 60)
        assert table <= 4, f"{table} of 400 samples are still table"
        expect(page.locator("#state-badge")).to_have_text("Restored", timeout=20_000)
        # Reopened, the viewer compares the restoration with the framed, turned scan, not the table.
        page.reload()
        _images_loaded(page, "#stage img.layer")
        before = page.locator(".before-cell img.layer")
        assert "/scan?v=" in before.get_attribute("src")
        natural = before.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert natural[1] > natural[0], f"the before picture is not the turned print: {natural}"
        page.evaluate("() => window.scrollTo(0, 0)")
        owner.shot("34-frame-restored", full_page=False)
        owner.assert_no_errors()
