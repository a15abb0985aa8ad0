"""The flatbed split upload in a real browser at phone size: one scanner sheet with four prints on it.

The owner ticks "several prints on this scan", picks the sheet: the row says it was split, the album
grid shows four photos, one per print (each the print's own picture, not the sheet), titled after the
file and the print's place on the sheet, and a print's page shows that print alone. Uploading the
same sheet again, ticked, adds nothing: the four are unchanged, the grid still has four, and the sheet
is kept once. Screenshots go to ``test-artifacts/screenshots/`` (4x-sheet-*).
"""
from __future__ import annotations

import re

import numpy as np
from PIL import Image

from restore_dagster.sheets import print_origin
from restore_dagster_tests.sheet_maker import four_print_sheet
from restore_dagster_tests.viewer.test_browser import (  # noqa: F401 (fixtures)
    TIMEOUT_MS, _images_loaded, browser, logged_in_owner, playwright_api, site,
)

TITLE = "Urlaub 1979"
SPLIT_TIMEOUT_MS = 60_000  # splitting runs on the server's two cores, shared with other tests


def _natural_sizes(page, selector: str) -> list[tuple[int, int]]:
    return [tuple(size) for size in page.eval_on_selector_all(selector, "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")]


def _upload_ticked(page, expect, sheet_path, rows_before: int) -> None:
    """Tick the box (a finger's tap on its label), pick the sheet, and wait for its row's answer."""
    box = page.locator("#upload-split")
    if not box.is_checked():
        page.locator("label.upload-split").tap()
    expect(box).to_be_checked()
    page.set_input_files("#upload-input", [str(sheet_path)])
    rows = page.locator("#upload-list li.upload-row")
    expect(rows).to_have_count(rows_before + 1)
    expect(rows.nth(rows_before)).to_have_attribute("data-result", re.compile(r"split|failed|added"), timeout=SPLIT_TIMEOUT_MS)


def test_a_ticked_sheet_upload_becomes_one_photo_per_print_and_again_adds_nothing(browser, playwright_api, site, layout, tmp_path):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    library = app.state.services.library
    album = library.create_album("Flatbed sheets")
    sheet, _, truths = four_print_sheet()
    sheet_path = tmp_path / f"{TITLE}.png"
    sheet.save(sheet_path)
    # The prints' sizes on the sheet (each rotated a few degrees, so its straightened size is about its sides').
    print_sizes = [(np.linalg.norm(t[1] - t[0]), np.linalg.norm(t[3] - t[0])) for t in truths]

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(f"{base}/albums/{album.folder}")
        expect(page.locator("#grid li.photo-card")).to_have_count(0)
        label = page.locator("label.upload-split")
        expect(label).to_be_visible()
        size = label.bounding_box()
        assert size["height"] >= 44, f"the 'several prints' box is smaller than a thumb: {size}"
        box = page.locator("#upload-split").bounding_box()
        assert box["width"] <= 48, f"the tick box is stretched across the line, squeezing its words: {box}"
        expect(page.locator("#upload-split")).not_to_be_checked()  # a plain upload unless asked

        _upload_ticked(page, expect, sheet_path, 0)
        row = page.locator("#upload-list li.upload-row").nth(0)
        expect(row).to_have_attribute("data-result", "split")
        expect(row.locator(".upload-status")).to_contain_text("Split into prints")
        expect(row.locator(".upload-status")).to_contain_text("4 added")
        cards = page.locator("#grid li.photo-card")
        expect(cards).to_have_count(4)
        expect(page.locator("#empty")).to_have_count(0)
        expect(cards.locator(".photo-title")).to_have_text([f"{TITLE} · {n}" for n in range(1, 5)])
        _images_loaded(page, "#grid li.photo-card img")
        owner.shot("40-sheet-split")

        # Each card is one print, stored as its own photo; the sheet itself is kept aside, once.
        filenames = cards.evaluate_all("cards => cards.map(c => c.dataset.filename)")
        stored = sorted(p.name for p in (library.root / album.folder).iterdir() if p.is_file())
        assert sorted(filenames) == stored and len(stored) == 4, (filenames, stored)
        sheets = list((layout.root / "sheets" / album.folder).iterdir())
        assert len(sheets) == 1
        for name in stored:
            origin, position = print_origin(layout, album.folder, name)
            assert origin == sheets[0]
            with Image.open(library.root / album.folder / name) as picture:
                width, height = picture.size
            expected = print_sizes[position - 1]
            assert abs(width - expected[0]) <= 0.08 * expected[0] and abs(height - expected[1]) <= 0.08 * expected[1], \
                f"print {position} is {width}×{height}, the print on the sheet about {expected}"
        for width, height in _natural_sizes(page, "#grid li.photo-card img"):
            assert width < sheet.width * 0.7, f"a card shows the whole sheet ({width}×{height}), not a print"

        # A print's page: the print alone, under its title.
        cards.nth(1).locator("a").first.click()
        expect(page).to_have_url(re.compile(rf"/albums/{re.escape(album.folder)}/photos/[^/]+$"))
        expect(page.locator("h1")).to_contain_text(f"{TITLE} · 2")
        _images_loaded(page, "#stage img")
        owner.shot("41-sheet-one-print")

        # The same sheet again, ticked: nothing added, the four are unchanged.
        page.goto(f"{base}/albums/{album.folder}")
        expect(cards).to_have_count(4)
        _upload_ticked(page, expect, sheet_path, 0)  # a freshly loaded page: its upload list starts empty
        row = page.locator("#upload-list li.upload-row").nth(0)
        expect(row).to_have_attribute("data-result", "split")
        expect(row.locator(".upload-status")).to_contain_text("0 added, 0 replaced, 4 unchanged")
        expect(cards).to_have_count(4)
        expect(cards.locator(".photo-title")).to_have_text([f"{TITLE} · {n}" for n in range(1, 5)])
        _images_loaded(page, "#grid li.photo-card img")
        owner.shot("42-sheet-again")
        page.reload()
        expect(cards).to_have_count(4)
        assert sorted(p.name for p in (library.root / album.folder).iterdir() if p.is_file()) == stored
        assert len(list((layout.root / "sheets" / album.folder).iterdir())) == 1
        owner.assert_no_errors()
