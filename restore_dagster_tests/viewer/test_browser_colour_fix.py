"""The colour fix by hand in a real browser at phone size: tap a region, pick a colour, apply, undo.

Open a restored photo's "Fix a colour" panel, tap the dress with a finger: the area the server found
is outlined and tinted over the picture; narrow it with the slider; pick blue: the tint turns blue;
Apply: the fix is on disk, the badge says the photo waits, the pipeline's plan redoes it from
``colorized``. Once it is coloured again the panel shows the new picture and says the fix was
applied; Undo takes it back (the file goes, the photo is redone again). Then the album page's
colouriser select. Screenshots go to ``test-artifacts/screenshots/`` (5x-colour-fix-*).
"""
from __future__ import annotations

from PIL import Image

from restore_dagster import colour_fixes
from restore_dagster.imaging import colour_fix as cf
from restore_dagster.lineage import colour_fix_path, read_record, stage_file, stage_image_file, write_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.imaging.colour_fix_scene import scene
from restore_dagster_tests.test_sync import mark_done, plan
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 (fixtures)
    PHONE, TIMEOUT_MS, _images_loaded, browser, logged_in_owner, playwright_api, site,
)

SIZE = (480, 360)
BLUE = "#2b4f9e"  # the palette's "Blue"
DRESS, WALL = (0.45, 0.8), (0.1, 0.1)


def _restored_and_coloured(app, layout) -> tuple[str, str]:
    """A photo done through every stage, its upscaled and colorized pictures a grey dress on a wall."""
    library = app.state.services.library
    album = library.create_album("Wedding 1962")
    write_scan(library.root / album.folder / "bride.jpg", grey=True, size=SIZE, seed=4)
    key = plan(layout).added[0]
    rgb, _, _ = scene(size=SIZE, grain=3.0)
    for stage in ("upscaled", "colorized"):
        path = stage_file(layout, stage, key, "png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)
    mark_done(layout, key)
    library.gallery.publish(f"{album.folder}/bride.jpg", write_scan(layout.root / "restored.jpg", size=SIZE, seed=4).read_bytes(), "jpg")
    assert plan(layout).requests == []
    return f"/albums/{album.folder}/photos/bride.jpg", key


def _canvas_pixel(page, canvas_id: str, fx: float, fy: float) -> list[int]:
    return page.evaluate(
        "([id, fx, fy]) => { const c = document.getElementById(id);"
        " return Array.from(c.getContext('2d').getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data); }",
        [canvas_id, fx, fy])


def _tap(page, fx: float, fy: float) -> None:
    """A finger's tap on the picture at fractions of it."""
    box = page.locator("#fix-photo").bounding_box()
    page.touchscreen.tap(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_tap_a_region_pick_a_colour_apply_and_undo_on_a_phone(browser, playwright_api, site, layout):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored_and_coloured(app, layout)

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Restored")
        expect(page.locator("#fix-photo")).to_be_hidden()  # folded away until asked for
        page.locator("#colour-fix-panel > summary").click()
        _images_loaded(page, "#fix-photo")
        page.locator("#fix-stage").scroll_into_view_if_needed()
        expect(page.locator("#fix-info")).to_have_text("Tap the picture to choose an area.")
        expect(page.locator("#fix-apply")).to_be_disabled()
        expect(page.locator("#fix-undo-last")).to_be_disabled()
        box = page.locator("#fix-stage").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
        assert abs(box["width"] / box["height"] - SIZE[0] / SIZE[1]) < 0.02, "the picture keeps its shape"
        for control in ("#fix-apply", "#fix-undo-last", ".swatch >> nth=0", "#fix-colour"):
            size = page.locator(control).bounding_box()
            assert size["height"] >= 44 and size["width"] >= 44, f"{control} is smaller than a thumb: {size}"

        # 1. Tap the dress: the area is found, outlined and lightly marked; the wall is left out.
        _tap(page, *DRESS)
        expect(page.locator("#fix-info")).to_contain_text("Area found:")
        expect(page.locator("#fix-marker")).to_be_visible()
        page.wait_for_function("() => document.getElementById('fix-tint').getContext('2d')"
                               ".getImageData(0, 0, 1, 1) && document.getElementById('fix-stage').dataset.regionPercent")
        wide = float(page.locator("#fix-stage").get_attribute("data-region-percent"))
        assert 10 < wide < 35, f"the dress is {wide}% of the picture"
        assert _canvas_pixel(page, "fix-tint", *DRESS)[3] > 0, "the dress is marked"
        assert _canvas_pixel(page, "fix-tint", *WALL)[3] == 0, "the wall is not"
        expect(page.locator("#fix-apply")).to_be_disabled()  # no colour chosen yet
        owner.shot("50-colour-fix-region", full_page=False)

        # 2. Narrow the area with the slider: a new, smaller area comes back.
        page.locator("#fix-tolerance").fill("6")
        page.wait_for_function(f"() => Number(document.getElementById('fix-stage').dataset.regionPercent) < {wide}")
        page.locator("#fix-tolerance").fill("24")
        page.wait_for_function(f"() => Number(document.getElementById('fix-stage').dataset.regionPercent) === {wide}")

        # 3. Pick blue: the tint over the dress is blue, and Apply can be pressed.
        page.locator('.swatch[aria-label="Blue"]').click()
        expect(page.locator('.swatch[aria-label="Blue"]')).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#fix-apply")).to_be_enabled()
        r, g, b, a = _canvas_pixel(page, "fix-tint", *DRESS)
        assert a == 255 and (r, g, b) == (0x2b, 0x4f, 0x9e), "the preview tint is the chosen colour"
        assert page.evaluate("() => getComputedStyle(document.getElementById('fix-tint')).mixBlendMode") == "color"
        page.locator("#fix-stage").scroll_into_view_if_needed()
        owner.shot("51-colour-fix-blue", full_page=False)

        # 4. Apply: stored, the photo waits, the pipeline redoes it from colorized.
        page.locator("#fix-apply").click()
        message = page.locator("#fix-message")
        expect(message).to_have_text("Applied: the photo is coloured again with your fix.")
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        expect(page.locator(".fix-item")).to_have_count(1)
        expect(page.locator(".fix-item")).to_contain_text("#2b4f9e")
        expect(page.locator(".fix-item")).to_contain_text("applied with the next colouring")
        expect(page.locator("#fix-undo-last")).to_be_enabled()
        [fix] = colour_fixes.fixes_of(layout, key)
        assert (fix.colour, fix.tolerance) == (BLUE, 24)
        assert abs(fix.x - DRESS[0]) < 0.02 and abs(fix.y - DRESS[1]) < 0.02
        assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))]
        owner.shot("52-colour-fix-applied", full_page=False)

        # 5. The pipeline colours it again (the replay, as `colorized` does it): the panel shows the
        # blue dress and says the fix was applied.
        upscaled = Image.open(stage_image_file(layout, "upscaled", key)).convert("RGB")
        replayed = colour_fixes.replay(upscaled, cf.working_luminance(upscaled), [fix])
        replayed.image.save(stage_image_file(layout, "colorized", key))
        mark_done(layout, key)
        record = read_record(layout, "colorized", key)
        write_record(layout, "colorized", key, record.fingerprint, None, {"colour_fixes": replayed.summary()})
        expect(page.locator("#state-badge")).to_have_text("Restored", timeout=20_000)
        expect(page.locator(".fix-item")).to_contain_text("applied", timeout=10_000)
        expect(page.locator(".fix-item")).not_to_contain_text("next colouring")
        page.wait_for_function("() => document.getElementById('fix-photo').src.includes('v=')")
        _images_loaded(page, "#fix-photo")
        shown = page.evaluate(
            "([fx, fy]) => { const img = document.getElementById('fix-photo'); const c = document.createElement('canvas');"
            " c.width = img.naturalWidth; c.height = img.naturalHeight; const x = c.getContext('2d'); x.drawImage(img, 0, 0);"
            " return Array.from(x.getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data); }", list(DRESS))
        assert shown[2] > shown[0] + 20, f"the dress is blue on the picture now: {shown}"
        page.locator("#fix-stage").scroll_into_view_if_needed()
        owner.shot("53-colour-fix-recoloured", full_page=False)

        # 6. Undo: the fix goes, the photo is redone from colorized.
        page.locator(".fix-item .fix-undo").click()
        expect(message).to_have_text("Undone: the photo is coloured again without it.")
        expect(page.locator(".fix-empty")).to_have_text("No colour fix yet.")
        expect(page.locator("#fix-undo-last")).to_be_disabled()
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        assert not colour_fix_path(layout, key).exists()
        assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))]
        page.locator("#fix-list").scroll_into_view_if_needed()
        owner.shot("54-colour-fix-undone", full_page=False)
        owner.assert_no_errors()


def test_choose_the_album_colouriser_on_a_phone(browser, playwright_api, site, layout):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    photo_url, key = _restored_and_coloured(app, layout)
    album_url = photo_url.rsplit("/photos/", 1)[0]
    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + album_url)
        page.locator("#album-colouriser > summary").click()
        select = page.locator("#album-model")
        expect(select).to_have_value("")
        expect(select.locator("option:checked")).to_have_text("Project default: DeOldify artistic (vivid)")
        select.select_option("ddcolor")
        owner.shot("55-album-colouriser", full_page=False)
        page.locator("#album-colouriser-form button[type=submit]").click()
        page.wait_for_url("**#album-colouriser")
        page.locator("#album-colouriser > summary").click()
        expect(page.locator("#album-model")).to_have_value("ddcolor")
        owner.assert_no_errors()
    assert SettingsStore(layout.state).get(key).model == "ddcolor"
    assert [(r.start, r.keys) for r in plan(layout).requests] == [("colorized", (key,))]
