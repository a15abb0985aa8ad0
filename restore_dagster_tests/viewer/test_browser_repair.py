"""The repair-mask editor in a real browser at phone size, painted with a finger (real touch events).

Open a restored photo's Repair panel, paint a stroke, undo it, paint again and erase somewhere
else, clear and undo the clear, zoom in with two fingers and paint close up, press "Repair again": the correction file on disk has white where the brush went, black where
the eraser went and nothing where the undone stroke was; the viewer's badge says the photo waits
to be restored again, and the pipeline's plan re-runs that photo from ``repaired`` and nothing
before it. Screenshots go to ``test-artifacts/screenshots/`` (2x-repair-*).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from restore_dagster.lineage import read_record, repair_mask_path, stage_file, write_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 (fixtures)
    PHONE, TIMEOUT_MS, Watched, _images_loaded, browser, log_in, logged_in_owner, playwright_api, site,
)

SCAN = (480, 360)


def _restored_and_scanned(app, layout) -> tuple[str, str]:
    """A photo done through every stage, with a scan and a repaired mask showing one scratch."""
    library = app.state.services.library
    album = library.create_album("Scratched prints")
    write_scan(library.root / album.folder / "grandpa.jpg", grey=True, size=SCAN, seed=4)
    SettingsStore(layout.state).set_defaults(repair="auto")
    key = plan(layout).added[0]
    write_scan(stage_file(layout, "scanned", key, "png"), grey=False, size=SCAN, seed=4, fmt="PNG")
    _pipeline_done(layout, key)
    mask = Image.new("L", SCAN, 0)
    ImageDraw.Draw(mask).line([(40, 300), (440, 260)], fill=255, width=3)  # the scratch the detector found
    mask.save(stage_file(layout, "repaired", key, "mask.png"))
    library.gallery.publish(f"{album.folder}/grandpa.jpg", write_scan(layout.root / "restored.jpg", size=SCAN, seed=4).read_bytes(), "jpg")
    assert plan(layout).requests == []
    return f"/albums/{album.folder}/photos/grandpa.jpg", key


def _pipeline_done(layout, key) -> None:
    """Every stage recorded as made from the current inputs, as a finished run leaves them."""
    mark_done(layout, key)
    scan = stage_file(layout, "scanned", key, "png")
    fingerprint = read_record(layout, "scanned", key).fingerprint
    write_record(layout, "scanned", key, fingerprint, scan, {"width": SCAN[0], "height": SCAN[1]})


def _swipe(cdp, points) -> None:
    """One finger down at the first point, moved through the rest, lifted: real touch events."""
    first, *rest = points
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": first[0], "y": first[1]}]})
    for x, y in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _pinch(cdp, centre, start, end, steps=8) -> None:
    """Two fingers put down ``start`` pixels either side of ``centre`` and spread to ``end``."""
    x, y = centre
    fingers = lambda d: [{"x": x - d, "y": y, "id": 1}, {"x": x + d, "y": y, "id": 2}]  # noqa: E731
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(start + (end - start) * i / steps)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _line(box, start, end, steps=12):
    """Viewport points along a line given in fractions of the canvas box."""
    return [(box["x"] + box["width"] * (start[0] + (end[0] - start[0]) * i / steps),
             box["y"] + box["height"] * (start[1] + (end[1] - start[1]) * i / steps)) for i in range(steps + 1)]


def _canvas_alpha(page, fx, fy) -> int:
    """The stroke layer's opacity at a point of the canvas (fractions of its size)."""
    return page.evaluate(
        "([fx, fy]) => { const c = document.getElementById('mask-canvas');"
        " return c.getContext('2d').getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data[3]; }",
        [fx, fy])


def test_paint_undo_paint_erase_and_repair_again_with_a_finger(browser, playwright_api, site, layout):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored_and_scanned(app, layout)

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Restored")
        expect(page.locator("#mask-canvas")).to_be_hidden()  # folded away until asked for
        # The repair setting and threshold sit in the "Restore again" form.
        page.locator("summary", has_text="Restore again").click()
        expect(page.locator('#settings-form select[name="repair"]')).to_have_value("auto")
        threshold = page.locator('#settings-form input[name="repair_threshold"]')
        expect(threshold).to_have_value("0.4")
        threshold.fill("0.42")  # a value the CLI may have set: the form must not refuse to send it
        assert threshold.evaluate("el => el.checkValidity()"), "the browser refuses 0.42"
        threshold.fill("0.4")
        owner.shot("20b-repair-settings")
        page.locator("summary", has_text="Restore again").click()
        page.locator("#repair-panel > summary").click()
        canvas = page.locator("#mask-canvas")
        expect(canvas).to_be_visible()
        assert canvas.evaluate("el => getComputedStyle(el).touchAction") == "none"
        _images_loaded(page, "#mask-stage img.mask-photo")
        canvas.scroll_into_view_if_needed()
        # The detector's scratch is drawn over the scan (red) before anything is painted.
        page.wait_for_function("() => { const c = document.getElementById('mask-canvas');"
                               " const y = Math.floor(c.height * 280 / 360);"
                               " return c.getContext('2d').getImageData(Math.floor(c.width / 2), y, 1, 1).data[3] > 0; }")
        for button in ("#mask-undo", "#mask-clear", "#mask-submit"):
            expect(page.locator(button)).to_be_disabled()
        box = canvas.bounding_box()
        width = page.evaluate("() => window.innerWidth")
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        for control in ("[data-tool=brush]", "[data-tool=eraser]", "#mask-undo", "#mask-clear", "#mask-submit"):
            size = page.locator(control).bounding_box()
            assert size["height"] >= 44 and size["width"] >= 44, f"{control} is smaller than a thumb: {size}"
        owner.shot("21-repair-editor", full_page=False)

        cdp = page.context.new_cdp_session(page)
        scroll = page.evaluate("() => window.scrollY")
        # 1. A vertical stroke: the finger paints, the page does not scroll.
        _swipe(cdp, _line(box, (0.15, 0.15), (0.15, 0.45)))
        assert page.evaluate("() => window.scrollY") == scroll, "painting scrolled the page"
        expect(page.locator("#mask-undo")).to_be_enabled()
        expect(page.locator("#mask-submit")).to_be_enabled()
        assert _canvas_alpha(page, 0.15, 0.3) > 0, "the stroke is not drawn"
        # 2. Undo takes it away again.
        page.locator("#mask-undo").click()
        assert _canvas_alpha(page, 0.15, 0.3) == 0, "undo left the stroke"
        expect(page.locator("#mask-submit")).to_be_disabled()
        # 3. Paint again, a wider brush, across the middle; then erase a piece of the scratch.
        page.locator("#mask-size").fill("40")
        box = canvas.bounding_box()  # the clicks above may have scrolled the page (how far depends on what follows the panel)
        _swipe(cdp, _line(box, (0.2, 0.5), (0.8, 0.5)))
        page.locator("[data-tool=eraser]").click()
        expect(page.locator("[data-tool=eraser]")).to_have_attribute("aria-pressed", "true")
        box = canvas.bounding_box()
        _swipe(cdp, _line(box, (0.3, 0.78), (0.45, 0.78)))
        expect(page.locator("#mask-undo")).to_be_enabled()
        owner.shot("22-repair-painted", full_page=False)
        # Clear wipes the strokes (and is undone like any other step).
        assert _canvas_alpha(page, 0.5, 0.5) > 0
        page.locator("#mask-clear").click()
        assert _canvas_alpha(page, 0.5, 0.5) == 0, "clear left the stroke"
        expect(page.locator("#mask-submit")).to_be_disabled()
        page.locator("#mask-undo").click()
        assert _canvas_alpha(page, 0.5, 0.5) > 0, "undoing the clear did not bring the strokes back"
        expect(page.locator("#mask-submit")).to_be_enabled()

        # 4. Two fingers zoom in (and paint nothing); a stroke close up is finer and lands where the finger is.
        expect(page.locator("#mask-reset-zoom")).to_be_hidden()
        page.locator("[data-tool=brush]").click()
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()  # the click may have scrolled the page
        cx, cy = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.2
        _pinch(cdp, (cx, cy), 20, 80)
        zoomed = canvas.bounding_box()
        assert zoomed["width"] > 3 * box["width"], f"the pinch did not zoom: {zoomed}"
        expect(page.locator("#mask-reset-zoom")).to_be_visible()
        first_finger = ((cx - 20 - box["x"]) / box["width"], (cy - box["y"]) / box["height"])
        assert _canvas_alpha(page, *first_finger) == 0, "the pinch's first finger left a stroke"
        _swipe(cdp, [(cx - 10, cy), (cx, cy), (cx + 10, cy)])
        owner.shot("22b-repair-zoomed", full_page=False)
        page.locator("#mask-reset-zoom").click()
        expect(page.locator("#mask-reset-zoom")).to_be_hidden()
        assert abs(canvas.bounding_box()["width"] - box["width"]) < 1

        page.locator("#mask-submit").click()
        message = page.locator("#mask-message")
        expect(message).to_have_text("Saved: the photo is repaired again with your corrections.")
        assert message.bounding_box()["y"] + message.bounding_box()["height"] <= PHONE["viewport"]["height"] + 1, "the answer is off-screen"
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        expect(page.locator("#mask-submit")).to_be_disabled()
        owner.shot("23-repair-saved", full_page=False)
        # The pipeline redoes this photo from `repaired`: the scan is kept.
        assert [(r.start, r.keys) for r in plan(layout).requests] == [("repaired", (key,))]

        # The pipeline repairs it again (its mask now also has a speck top right): the open editor
        # shows the new mask once the badge is back to "Restored".
        assert _canvas_alpha(page, 0.9, 0.1) == 0
        mask = Image.new("L", SCAN, 0)
        ImageDraw.Draw(mask).rectangle((420, 26, 444, 46), fill=255)
        mask.save(stage_file(layout, "repaired", key, "mask.png"))
        _pipeline_done(layout, key)
        expect(page.locator("#state-badge")).to_have_text("Restored", timeout=20_000)
        page.wait_for_function("() => { const c = document.getElementById('mask-canvas');"
                               " return c.getContext('2d').getImageData(Math.floor(c.width * 0.9), Math.floor(c.height * 0.1), 1, 1).data[3] > 0; }")
        owner.assert_no_errors()

    # In Chinese, a second visit shows the corrections on file (blue where erased) and says they are kept.
    zh = Watched(browser.new_context(**{**PHONE, "locale": "zh-CN"}))
    try:
        page = zh.page
        page.goto(base + "/login")
        page.fill('input[name="password"]', OWNER_PASSWORD)
        page.locator('button[type="submit"]').click()
        page.goto(base + photo_url)
        page.locator("#repair-panel > summary").click()
        expect(page.locator("[data-tool=brush]")).to_have_text("🖌 修这里")
        expect(page.locator("[data-tool=eraser]")).to_have_text("⌫ 不修这里")
        expect(page.locator("#mask-submit")).to_have_text("↻ 重新修复划痕")
        expect(page.locator("#mask-forget")).to_contain_text("你之前的修改会保留")
        _images_loaded(page, "#mask-stage img.mask-photo")
        page.wait_for_function("() => { const c = document.getElementById('mask-canvas');"
                               " const p = c.getContext('2d').getImageData(Math.floor(c.width * 0.37), Math.floor(c.height * 0.78), 1, 1).data;"
                               " return p[3] > 0 && p[2] > p[0]; }")  # blue: kept as it is
        page.locator("#mask-canvas").scroll_into_view_if_needed()
        zh.shot("24-repair-editor-zh", full_page=False)
        zh.assert_no_errors()
    finally:
        zh.context.close()

    with Image.open(repair_mask_path(layout, key)) as image:
        assert image.size == SCAN and image.mode == "L"
        written = np.asarray(image)
    at = lambda fx, fy: int(written[int(fy * SCAN[1]), int(fx * SCAN[0])])  # noqa: E731
    assert at(0.5, 0.5) == 255 and at(0.25, 0.5) == 255 and at(0.75, 0.5) == 255, "white where the brush went"
    assert at(0.37, 0.78) == 0, "black where the eraser went"
    assert at(0.15, 0.3) == 128, "nothing where the undone stroke was"
    assert at(0.9, 0.1) == 128
    # The close-up stroke: a 40-pixel brush at 4x zoom is about 10 screen pixels of the unzoomed picture.
    close = written[int(0.2 * SCAN[1]) - 12:int(0.2 * SCAN[1]) + 12, int(0.75 * SCAN[0]) - 12:int(0.75 * SCAN[0]) + 12]
    assert (close == 255).any(), "the close-up stroke is not where the finger was"
    rows = np.nonzero((written[:, int(0.75 * SCAN[0])] == 255))[0]
    near = rows[np.abs(rows - 0.2 * SCAN[1]) < 30]
    assert 0 < len(near) < 20, f"the close-up stroke is {len(near)} pixels thick: zooming did not make it finer"
    assert set(np.unique(written)) == {0, 128, 255}


def test_unsent_strokes_are_not_lost_when_a_run_ends_with_repair_pending(browser, playwright_api, site, layout):
    """The viewer reloads itself to show why a run ended "partial"; over unsent strokes it only
    changes the badge, so nothing the owner painted is thrown away."""
    from restore_dagster.optional_steps import weights_missing

    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored_and_scanned(app, layout)
    SettingsStore(layout.state).set(key, repair_threshold=0.3)  # queued again

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        page.locator("#repair-panel > summary").click()
        canvas = page.locator("#mask-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        _swipe(page.context.new_cdp_session(page), _line(box, (0.2, 0.3), (0.6, 0.3)))
        expect(page.locator("#mask-submit")).to_be_enabled()
        page.evaluate("() => { window.stillTheSamePage = true; }")

        _pipeline_done(layout, key)  # the run ends without the repair models: "Repair pending"
        step = weights_missing("repair", "LaMa big-lama", "best.ckpt", "Set RESTORE_LAMA_WEIGHTS")
        published = read_record(layout, "published", key)
        write_record(layout, "published", key, published.fingerprint, None, {"optional_steps": [step.to_json()]})
        expect(page.locator("#state-badge")).to_have_text("Repair pending", timeout=20_000)
        page.wait_for_timeout(5000)  # a poll later: a reload would have happened by now
        assert page.evaluate("() => window.stillTheSamePage === true"), "the page reloaded over unsent strokes"
        assert _canvas_alpha(page, 0.4, 0.3) > 0
        expect(page.locator("#mask-submit")).to_be_enabled()
        owner.assert_no_errors()


def test_paint_with_a_mouse_on_a_desktop(browser, playwright_api, site, layout):
    """The same editor with a mouse: drag to paint, the wheel zooms, Repair again saves it."""
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored_and_scanned(app, layout)
    owner = Watched(browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US"))
    page = owner.page
    try:
        log_in(page, base)
        page.goto(base + photo_url)
        page.locator("#repair-panel > summary").click()
        canvas = page.locator("#mask-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        points = _line(box, (0.1, 0.1), (0.4, 0.1))
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()
        assert _canvas_alpha(page, 0.25, 0.1) > 0
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -300)
        expect(page.locator("#mask-reset-zoom")).to_be_visible()
        assert canvas.bounding_box()["width"] > box["width"] * 1.2
        page.locator("#mask-submit").click()
        expect(page.locator("#mask-message")).to_contain_text("Saved")
        owner.assert_no_errors()
    finally:
        owner.context.close()
    with Image.open(repair_mask_path(layout, key)) as image:
        written = np.asarray(image)
    assert written[int(0.1 * SCAN[1]), int(0.25 * SCAN[0])] == 255
    assert written[int(0.5 * SCAN[1]), int(0.25 * SCAN[0])] == 128
