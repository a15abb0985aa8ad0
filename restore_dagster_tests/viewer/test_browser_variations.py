"""The Colour variations panel in a real browser at phone size, over the real pipeline.

A black-and-white photo restored by the real sensor and assets (DeOldify artistic, stand-in weights).
The owner opens its Colour variations panel and asks for them; the colour_variations_sensor turns the
request into a run of colour_variations_job, which runs (in a thread, as the daemon would) while the
panel shows its progress ("Making colour variations: 2 of 4"); the grid appears, the owner taps the
DDColor candidate, sees it larger, uses it: the photo's settings hold the candidate's model and input
size, the badge says it waits, the gallery sensor redoes it from ``colorized`` and the viewer swaps
the new restoration in. Screenshots go to ``test-artifacts/screenshots/`` (5x-variations-*).
"""
from __future__ import annotations

import re
import threading
import warnings

import dagster as dg
import pytest

from restore_dagster import variations
from restore_dagster.lineage import read_record
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain
from restore_dagster_tests.pipeline.test_colour_models_pipeline import ddcolor_tiny_weights  # noqa: F401 (fixture)
from restore_dagster_tests.pipeline.test_colour_variations import SMALL
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 (fixtures)
    TIMEOUT_MS, _images_loaded, browser, logged_in_owner, playwright_api, site,
)

RUN_S = 240  # four candidates on a loaded 2-core CPU, with some room


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def _restored(app, layout, instance, resources) -> tuple[str, str]:
    library = app.state.services.library
    album = library.create_album("Wedding 1962")
    write_scan(library.root / album.folder / "couple.jpg", grey=True, size=(160, 120), seed=7)
    drain(instance, resources)
    [key] = list(instance.get_dynamic_partitions("photos"))
    assert read_record(layout, "colorized", key).metadata["model"] == "DeOldify artistic"
    return f"/albums/{album.folder}/photos/couple.jpg", key


def _run_requested_variations(instance, resources, storage) -> threading.Thread:
    """One sensor tick, and the run it asks for executed in a thread (the daemon's part)."""
    from restore_dagster.assets.colour_variations import colour_variations_sensor
    from restore_dagster.definitions import defs

    result = colour_variations_sensor(dg.build_sensor_context(instance=instance, resources={"storage": storage}))
    [request] = result.run_requests
    job = defs.resolve_job_def("colour_variations_job")
    outcome = {}

    def work():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome["result"] = job.execute_in_process(
                instance=instance, resources=resources, partition_key=request.partition_key, tags=request.tags,
                run_config={"ops": {"colour_variations": {"config": SMALL}}})

    thread = threading.Thread(target=work, name="variations-run", daemon=True)
    thread.outcome = outcome
    thread.start()
    return thread


def test_open_variations_pick_one_and_see_the_new_restoration(
        browser, playwright_api, site, layout, resources, instance, monkeypatch, ddcolor_tiny_weights):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    monkeypatch.setenv("RESTORE_DDCOLOR_TINY_WEIGHTS", str(ddcolor_tiny_weights))
    app, base = site
    photo_url, key = _restored(app, layout, instance, resources)

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Restored")
        _images_loaded(page, "#after-image")
        first_restoration = page.locator("#after-image").get_attribute("src")
        expect(page.locator("#variations-panel")).to_be_hidden()  # folded away until asked for
        page.locator("#variations > summary").click()
        make = page.locator("#variations-make")
        expect(make).to_have_text("🎨 Make colour variations")
        size = make.bounding_box()
        assert size["height"] >= 44, f"the button is smaller than a thumb: {size}"
        make.click()
        expect(page.locator("#variations-status")).to_have_text("Asked for: they start within a minute.")
        expect(make).to_be_disabled()
        expect(page.locator("#variations-use")).to_be_hidden()
        owner.shot("50-variations-asked", full_page=False)

        # The daemon's part: the sensor starts the run; the panel follows it candidate by candidate.
        run = _run_requested_variations(instance, resources, resources["storage"])
        expect(page.locator("#variations-status")).to_have_text(re.compile(r"Making colour variations: [1-3] of 4"),
                                                                timeout=RUN_S * 1000)
        expect(page.locator("#variations-progress")).to_be_visible()
        owner.shot("51-variations-progress", full_page=False)
        run.join(RUN_S)
        assert not run.is_alive() and run.outcome["result"].success

        grid = page.locator(".variation")
        expect(grid).to_have_count(4, timeout=10_000)
        _images_loaded(page, ".variation img")
        expect(page.locator("#variations-status")).to_have_text(re.compile(r"^4 made in \d+ s \(cpu\)\.$"))
        expect(page.locator("#variations-omitted")).to_contain_text("DeOldify stable: weights not here")
        expect(page.locator("#variations-use")).to_be_hidden()  # nothing tapped yet
        expect(page.locator(".variation[data-id='deoldify-artistic-8'] .current")).to_have_text("✓ current")
        boxes = [grid.nth(i).bounding_box() for i in range(4)]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[2]["y"] > boxes[0]["y"], "two candidates a row on a phone"
        assert all(b["width"] >= 150 and b["height"] >= 150 for b in boxes), boxes
        page.locator("#variations-grid").scroll_into_view_if_needed()
        owner.shot("52-variations-grid", full_page=False)

        # Tap the DDColor one: it is shown larger, then used.
        page.locator(".variation[data-id='ddcolor-tiny-96']").tap()
        expect(page.locator(".variation[data-id='ddcolor-tiny-96']")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#variations-preview")).to_be_visible()
        expect(page.locator("#variations-preview-caption")).to_have_text("DDColor tiny (paper), input size 96")
        _images_loaded(page, "#variations-preview-image")
        owner.shot("53-variations-preview", full_page=False)
        page.locator("#variations-use").tap()
        expect(page.locator("#variations-message")).to_have_text("Chosen: the photo is coloured again with it.")
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        expect(page.locator(".variation[data-id='ddcolor-tiny-96'] .current")).to_have_text("✓ current")
        owner.shot("54-variations-chosen", full_page=False)
        assert SettingsStore(layout.state).overrides(key) == {"model": "ddcolor-tiny", "input_size": 96}

        # The pipeline redoes the photo from its colour with the chosen model; the viewer shows it.
        requests = drain(instance, resources)
        assert [(r.partition_key, r.tags["restore/start_stage"]) for r in requests] == [(key, "colorized")]
        colour = read_record(layout, "colorized", key).metadata
        assert (colour["model"], colour["input_size"]) == ("DDColor tiny (paper)", 96)
        expect(page.locator("#state-badge")).to_have_text("Restored", timeout=20_000)
        expect(page.locator("#after-image")).not_to_have_attribute("src", first_restoration)
        _images_loaded(page, "#after-image")
        page.reload()
        expect(page.locator("#ai-mark")).to_contain_text("DDColor tiny (paper)")
        page.evaluate("() => window.scrollTo(0, 0)")
        owner.shot("55-variations-restored", full_page=False)
        assert variations.read_listing(layout, key)["state"] == variations.MADE
        owner.assert_no_errors()
