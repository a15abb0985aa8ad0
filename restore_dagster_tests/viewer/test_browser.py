"""The web gallery in a real browser at phone size: the owner's day and a share-link visitor's view.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the app served by
uvicorn on a loopback port. One walk through, in order:

1. log in (a wrong password first, then the right one);
2. create an album;
3. upload two scans through the file input and see both waiting in the grid;
4. once the pipeline has published a restoration of one, compare before/after (slider and side by side);
5. make a share link and open it with no cookies: read-only album and viewer, the owner's pages closed;
6. delete a photo, find it in the trash, restore it, and see it back with its restoration.

Phone-size screenshots of each step go to ``test-artifacts/screenshots/``. Without a Chromium the
test is skipped, unless ``RESTORE_BROWSER_TESTS=required`` (as ``make`` sets), when it fails instead.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# An iPhone 12/13, held upright.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
         "locale": "en-US"}
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000
REQUIRED = os.environ.get("RESTORE_BROWSER_TESTS", "") == "required"


def _unavailable(why: str):
    if REQUIRED:
        pytest.fail(f"RESTORE_BROWSER_TESTS=required but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def playwright_api():
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed (pip install -e '.[test]')")
    return sync_api


@pytest.fixture(scope="module")
def browser(playwright_api):
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(layout, busy):
    """The gallery served for real over the test's storage root: ``(app, base URL)``."""
    from restore_dagster.viewer.app import create_app
    from restore_dagster_tests.viewer.live_server import LiveServer

    app = create_app(layout, busy_keys=busy, max_upload_bytes=2_000_000)
    app.state.services.accounts.set_password(OWNER_PASSWORD)
    with LiveServer(app) as server:
        yield app, server.url


def log_in(page, base: str) -> None:
    """Log the page in as the owner, through the login form."""
    page.goto(base + "/login")
    page.fill('input[name="password"]', OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()


@contextmanager
def logged_in_owner(browser, base: str) -> Iterator[Watched]:
    """The owner logged in on a phone-size page; its browser context is closed afterwards, whatever happened."""
    owner = Watched(browser.new_context(**PHONE))
    try:
        log_in(owner.page, base)
        yield owner
    finally:
        owner.context.close()


class Watched:
    """A phone-size page that records script errors and console errors (CSP refusals show up there)."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.failed: list[tuple[int, str, str]] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self._console)
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append((r.status, r.request.method, _path(r.url))))

    def _console(self, msg) -> None:
        # A failed request is also logged as "Failed to load resource"; those are checked by response.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {msg.text}")

    def shot(self, step: str, full_page: bool = True) -> None:
        """Save a screenshot, after checking nothing makes the page wider than the phone."""
        page = self.page
        page.wait_for_load_state("load")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if full_page:
            page.evaluate("() => window.scrollTo(0, 0)")  # else the sticky bar is drawn part-way down
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{step}.png"), full_page=full_page)
        assert overflow <= 0, f"{step}: the page is {overflow}px wider than the phone's screen"

    def assert_no_errors(self, expected_failures: tuple[tuple[int, str, str], ...] = ()) -> None:
        """No script or CSP error, and no request answered 4xx/5xx but ``expected_failures``."""
        assert not self.errors, "\n".join(self.errors)
        assert sorted(self.failed) == sorted(expected_failures), f"unexpected failed requests: {self.failed}"


def _path(url: str) -> str:
    return urlparse(url).path


def _images_loaded(page, selector: str) -> None:
    """Wait until every image matching ``selector`` has loaded real pixels (not a broken image)."""
    page.wait_for_function(
        "sel => { const imgs = [...document.querySelectorAll(sel)];"
        " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector, timeout=TIMEOUT_MS,
    )


def test_owner_and_share_visitor_on_a_phone(browser, playwright_api, site, tmp_path):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    library = app.state.services.library
    scans = [
        write_scan(tmp_path / "upload" / "Grandma 1962.jpg", grey=True, size=(480, 360), seed=1),
        write_scan(tmp_path / "upload" / "Wedding day.jpg", grey=True, size=(360, 480), seed=2),
    ]
    assert scans[0].read_bytes() != scans[1].read_bytes()
    titles = ["Grandma 1962", "Wedding day"]

    owner = Watched(browser.new_context(**PHONE))
    page = owner.page
    try:
        # 1. Log in: the owner's pages send a visitor to the login form, which then leads back.
        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/login\?next=/$"))
        page.fill('input[name="password"]', "not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert _path(page.url) == "/login"
        owner.shot("01-login-wrong-password")
        page.fill('input[name="password"]', OWNER_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(base + "/")
        expect(page.locator('form[action="/logout"]')).to_have_count(1)

        # 2. Create an album from the "New album" panel.
        new_album = page.locator("details.new-album")
        expect(new_album.locator('input[name="title"]')).to_be_hidden()
        new_album.locator("summary").click()
        new_album.locator('input[name="title"]').fill("Summer at the lake")
        owner.shot("02-new-album")
        new_album.get_by_role("button", name="Create").click()
        expect(page).to_have_url(re.compile(r"/albums/[^/]+$"))
        album_path = _path(page.url)
        folder = unquote(album_path.rsplit("/", 1)[1])
        expect(page.locator("h1.album-heading")).to_have_text("Summer at the lake")
        expect(page.locator("#grid li.photo-card")).to_have_count(0)
        assert (library.root / folder).is_dir()

        # 3. Upload two scans; each row reports its result, then the grid shows both, waiting.
        page.set_input_files("#upload-input", [str(s) for s in scans])
        rows = page.locator("#upload-list li.upload-row")
        expect(rows).to_have_count(2)
        expect(page.locator('#upload-list li.upload-row[data-result="added"]')).to_have_count(2)
        expect(rows.locator(".upload-name")).to_have_text(["Grandma 1962.jpg", "Wedding day.jpg"])
        cards = page.locator("#grid li.photo-card")
        expect(cards).to_have_count(2)
        expect(page.locator("#empty")).to_have_count(0)
        expect(page.locator('#grid li.photo-card[data-state="waiting"]')).to_have_count(2)
        expect(cards.locator(".badge")).to_have_text(["Waiting", "Waiting"])
        assert sorted(cards.locator(".photo-title").all_inner_texts()) == titles
        filenames = {title: page.locator("#grid li.photo-card", has_text=title).get_attribute("data-filename")
                     for title in titles}
        stored = sorted(p.name for p in (library.root / folder).iterdir() if p.is_file())
        assert sorted(filenames.values()) == stored, "the grid and the album folder disagree"
        _images_loaded(page, "#grid li.photo-card img")
        owner.shot("03-album-uploaded")

        # 4. The pipeline publishes a restoration of the first scan: its viewer grows the compare tools.
        restored_name = filenames[titles[0]]
        restored_scan = write_scan(tmp_path / "restored.jpg", grey=False, size=(960, 720), seed=1)
        library.gallery.publish(f"{folder}/{restored_name}", restored_scan.read_bytes(), "jpg")
        page.reload()
        page.locator("#grid li.photo-card", has_text=titles[0]).locator("a").click()
        expect(page).to_have_url(re.compile(re.escape(album_path) + r"/photos/[^/]+$"))
        assert unquote(_path(page.url).rsplit("/", 1)[1]) == restored_name
        expect(page.locator("h1.photo-heading")).to_contain_text(titles[0])
        compare, after, stage = page.locator("#compare"), page.locator("#after-cell"), page.locator("#stage")
        expect(compare).to_be_visible()
        expect(after).to_be_visible()
        expect(stage).to_have_class(re.compile(r"\bslider\b"))
        _images_loaded(page, "#stage img.layer")
        clip = lambda: after.evaluate("el => el.style.clipPath")  # noqa: E731
        assert "50%" in clip(), clip()
        compare.fill("20")
        assert "20%" in clip() and "50%" not in clip(), clip()
        assert page.locator("#divider").evaluate("el => el.style.left") == "20%"
        compare.focus()
        page.keyboard.press("ArrowRight")  # the slider also works from the keyboard
        assert "21%" in clip(), clip()
        owner.shot("04-viewer-slider")
        page.locator('[data-mode="side"]').click()
        expect(stage).to_have_class(re.compile(r"\bside\b"))
        expect(stage).not_to_have_class(re.compile(r"\bslider\b"))
        expect(page.locator('[data-mode="side"]')).to_have_attribute("aria-pressed", "true")
        expect(compare).to_be_hidden()
        assert clip() == "", "side by side shows the whole restoration, not a clipped part"
        owner.shot("05-viewer-side-by-side")
        page.locator('[data-mode="slider"]').click()
        expect(stage).to_have_class(re.compile(r"\bslider\b"))
        expect(compare).to_be_visible()
        assert "21%" in clip(), clip()
        # The other scan has no restoration yet: no compare tools.
        page.goto(base + album_path + "/photos/" + filenames[titles[1]])
        expect(page.locator("#stage")).to_have_class(re.compile(r"\bsingle\b"))
        expect(page.locator("#compare")).to_have_count(0)

        # 5. A share link, opened by someone with no cookies, shows the album read-only.
        page.goto(base + album_path)
        share = page.locator("details#share")
        share.locator("summary").click()
        share.get_by_role("button", name="Make a share link").click()
        expect(page).to_have_url(re.compile(re.escape(album_path) + "#share$"))
        link_input = page.locator("input.share-link")
        expect(link_input).to_be_visible()
        expect(link_input).to_have_value(re.compile("^" + re.escape(base) + r"/s/[A-Za-z0-9_-]{20,}$"))
        link = link_input.input_value()
        owner.shot("06-owner-share-link")

        visitor = Watched(browser.new_context(**PHONE))
        try:
            vpage = visitor.page
            assert visitor.context.cookies() == []
            vpage.goto(link)
            assert vpage.url == link
            expect(vpage.locator("h1.album-heading")).to_have_text("Summer at the lake")
            vcards = vpage.locator("#grid li.photo-card")
            expect(vcards).to_have_count(2)
            assert sorted(vcards.locator(".photo-title").all_inner_texts()) == titles
            _images_loaded(vpage, "#grid li.photo-card img")
            for owner_only in ("#upload-input", "section.upload", "details#share", "input.share-link",
                               'form[action$="/delete"]', 'form[action$="/rename"]', 'form[action$="/share"]',
                               'form[action="/logout"]', 'a[href="/trash"]', 'a[href="/"]'):
                expect(vpage.locator(owner_only)).to_have_count(0)
            assert all(_path(href).startswith(_path(link) + "/photos/")
                       for href in vcards.locator("a").evaluate_all("links => links.map(a => a.href)"))
            visitor.shot("07-shared-album")

            vcards.filter(has_text=titles[0]).locator("a").click()
            expect(vpage).to_have_url(re.compile(re.escape(link) + r"/photos/[^/]+$"))
            expect(vpage.locator("h1.photo-heading")).to_contain_text(titles[0])
            expect(vpage.locator("#compare")).to_be_visible()  # comparing is reading, so visitors may
            _images_loaded(vpage, "#stage img.layer")
            for owner_only in ("#settings-form", "section.owner-tools", 'form[action$="/delete"]',
                               'form[action$="/rename"]', 'form[action$="/retry"]'):
                expect(vpage.locator(owner_only)).to_have_count(0)
            visitor.shot("08-shared-viewer")

            # The owner's own address for the same album asks the visitor to log in.
            vpage.goto(base + album_path)
            expect(vpage).to_have_url(re.compile(r"/login\?next=" + re.escape(album_path) + "$"))
            expect(vpage.locator('input[name="password"]')).to_be_visible()
            expect(vpage.locator("#grid")).to_have_count(0)
            visitor.shot("09-shared-visitor-owner-url")
            visitor.assert_no_errors()
        finally:
            visitor.context.close()

        # 6. Delete the restored photo (after confirming), find it in the trash, and restore it.
        page.goto(base + album_path + "/photos/" + restored_name)
        dialogs: list[str] = []

        def accept(dialog):
            dialogs.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        page.locator('form[action$="/delete"] button').click()
        expect(page).to_have_url(base + album_path)
        assert len(dialogs) == 1 and dialogs[0], "deleting asks for a confirmation first"
        expect(page.locator("#grid li.photo-card")).to_have_count(1)
        expect(page.locator(f'#grid li.photo-card[data-filename="{restored_name}"]')).to_have_count(0)
        assert not (library.root / folder / restored_name).exists()
        owner.shot("10-album-after-delete")

        page.locator('a[href="/trash"]').click()
        expect(page).to_have_url(base + "/trash")
        item = page.locator("li.trash-item", has_text=titles[0])
        expect(item).to_have_count(1)
        expect(item.locator(".from")).to_contain_text("Summer at the lake")
        owner.shot("11-trash")
        item.get_by_role("button", name="Restore").click()
        # Restoring leads to the photo, which has its restoration back (the compare slider).
        expect(page).to_have_url(base + album_path + "/photos/" + restored_name)
        expect(page.locator("#compare")).to_be_visible()
        _images_loaded(page, "#stage img.layer")
        owner.shot("12-restored-photo-viewer")
        page.locator("a.back").click()
        expect(page).to_have_url(base + album_path)
        expect(page.locator("#grid li.photo-card")).to_have_count(2)
        expect(page.locator(f'#grid li.photo-card[data-filename="{restored_name}"]')).to_have_count(1)
        page.goto(base + "/trash")
        expect(page.locator("li.trash-item")).to_have_count(0)
        owner.assert_no_errors(expected_failures=((401, "POST", "/login"),))  # the wrong password
    finally:
        owner.context.close()


def test_restore_again_swaps_the_new_restoration_into_the_open_viewer(browser, playwright_api, site, layout, tmp_path):
    """Change a photo's settings in the viewer; when the pipeline publishes again, the page shows it
    in place (no reload), with the badge back to "Restored"."""
    from restore_dagster_tests.viewer.test_albums import _publish_current

    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    library = app.state.services.library
    album = library.create_album("Again")
    write_scan(library.root / album.folder / "portrait.jpg", grey=True, size=(240, 180), seed=5)
    album_path, photo_url = f"/albums/{album.folder}", f"/albums/{album.folder}/photos/portrait.jpg"
    _publish_current(app, layout, album_path, photo_url)

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        page.goto(base + photo_url)
        expect(page.locator("#state-badge")).to_have_text("Restored")
        first = page.locator("#after-image").get_attribute("src")

        page.locator("summary", has_text="Restore again").click()
        page.select_option('#settings-form select[name="colorize"]', "on")
        page.fill('#settings-form input[name="render_factor"]', "21")
        page.locator("#settings-form").get_by_role("button", name="Restore again").click()
        expect(page.locator("#state-badge")).to_have_text("Waiting")
        assert page.locator("#after-image").get_attribute("src") == first  # the old one stays on show
        page.evaluate("() => { window.stillTheSamePage = true; }")

        _publish_current(app, layout, album_path, photo_url)  # the pipeline ran with the new settings
        expect(page.locator("#state-badge")).to_have_text("Restored", timeout=20_000)
        expect(page.locator("#after-image")).not_to_have_attribute("src", first)
        assert page.evaluate("() => window.stillTheSamePage === true")  # swapped in place, not reloaded
        _images_loaded(page, "#after-image")
        owner.shot("13-restore-again")
        owner.assert_no_errors()


def _register_and_fingerprints(layout):
    """Give every upload its key, as the sensor's tick does; returns ``{source: (key, fingerprints)}``."""
    from restore_dagster.gallery import FolderGallery
    from restore_dagster.lineage import fingerprints, weights_signatures
    from restore_dagster.registry import RegistryStore
    from restore_dagster.settings import SettingsStore
    from restore_dagster.sync import plan_sync

    store, settings = RegistryStore(layout.state), SettingsStore(layout.state)
    plan = plan_sync(FolderGallery(layout.gallery), layout, store.load(), settings)
    store.save(plan.registry)
    weights = weights_signatures(layout)
    return {e.source: (e.key, fingerprints(e.signature, settings.get(e.key), {}, weights)) for e in plan.registry.photos.values()}


def test_failed_and_colour_pending_photos_stay_compact_on_a_phone(browser, playwright_api, site, layout, tmp_path):
    """Six photos failed with the long, multi-line weights error: the album page stays one grid high
    (one ellipsised line per photo), and the viewer wraps the detail to the screen, one tap away.
    A photo published without colour shows "Colour pending" and why, to the owner and a visitor."""
    from restore_dagster.lineage import record_failure, write_record
    from restore_dagster.models.weights import DEOLDIFY_WEIGHTS, WEIGHTS_ENV_VARS, WeightsChecksumError
    from restore_dagster.optional_steps import weights_missing

    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    app, base = site
    library = app.state.services.library
    broken = library.create_album("Six failed")
    for i in range(6):
        write_scan(library.root / broken.folder / f"photo {i}.jpg", grey=True, size=(120, 90), seed=i)
    waiting = library.create_album("Colour to come")
    write_scan(library.root / waiting.folder / "grandpa.jpg", grey=True, size=(240, 180), seed=9)
    spec, cache = DEOLDIFY_WEIGHTS["artistic"], layout.weights / DEOLDIFY_WEIGHTS["artistic"].name
    error = str(WeightsChecksumError(spec, cache, "size 27 bytes, expected 255,144,681", cache.with_name(spec.name + ".corrupt"),
                                     urls=spec.urls, note="Downloading is disabled.", env_var=WEIGHTS_ENV_VARS["artistic"]))
    assert error.count("\n") > 8 and str(layout.root) in error  # as long as the real one
    photos = _register_and_fingerprints(layout)
    for source, (key, wanted) in photos.items():
        if source.startswith(broken.folder + "/"):
            record_failure(layout, key, "colorized", wanted["colorized"], error, "run-1")
    key, wanted = photos[f"{waiting.folder}/grandpa.jpg"]
    location = library.gallery.publish(f"{waiting.folder}/grandpa.jpg",
                                       write_scan(tmp_path / "restored.jpg", grey=True, size=(480, 360), seed=9).read_bytes(), "jpg")
    step = weights_missing("colour", "DeOldify artistic", spec.name, error.replace("failed verification", "are not available"))
    write_record(layout, "upscaled", key, wanted["upscaled"], None, {"noise_level": 1})
    write_record(layout, "colorized", key, wanted["colorized"], None,
                 {"colorized": False, "model": "none (colour pending: weights missing)", "optional_steps": [step.to_json()]})
    write_record(layout, "published", key, wanted["published"], None, {"location": location, "width": 480, "height": 360,
                 "format": "JPEG", "bytes": 1000, "optional_steps": [step.to_json()]})

    with logged_in_owner(browser, base) as owner:
        page = owner.page
        expect(page).to_have_url(base + "/")

        page.goto(base + f"/albums/{broken.folder}")
        cards = page.locator("#grid li.photo-card")
        expect(cards).to_have_count(6)
        expect(cards.locator(".badge")).to_have_text(["Failed"] * 6)
        _images_loaded(page, "#grid li.photo-card img")
        for box in cards.evaluate_all("cs => cs.map(c => [c.getBoundingClientRect().width, c.getBoundingClientRect().height])"):
            assert box[1] <= box[0] + 48, f"a card is {box[1]:.0f}px high for {box[0]:.0f}px wide: its reason is not one line"
        reason = cards.first.locator(".reason")
        expect(reason).to_have_text(re.compile(r"^colorized: Model weights ColorizeArtistic_gen\.pth failed verification"))
        assert reason.evaluate("el => el.scrollWidth > el.clientWidth"), "a long reason is cut with an ellipsis"
        grid = page.locator("#grid").bounding_box()
        assert grid["height"] <= 2 * (grid["width"] / 3 + 48), f"the grid of 6 is {grid['height']:.0f}px high"
        owner.shot("14-album-six-failed")

        cards.first.locator("a").click()
        expect(page.locator("#state-badge")).to_have_text("Failed")
        box = page.locator("#state-reason")
        expect(box.locator(".reason-line")).to_contain_text("failed verification")
        expect(box.locator(".detail-text")).to_be_hidden()  # one tap away
        box.locator("summary", has_text="Details").click()
        expect(box.locator(".detail-text")).to_be_visible()
        expect(box.locator(".detail-text")).to_contain_text(str(layout.weights))
        width = page.evaluate("() => window.innerWidth")
        assert box.bounding_box()["x"] + box.bounding_box()["width"] <= width, "the detail box is wider than the screen"
        owner.shot("15-viewer-failed-detail")

        page.goto(base + f"/albums/{waiting.folder}")
        card = page.locator("#grid li.photo-card")
        expect(card.locator(".badge")).to_have_text("Colour pending")
        expect(card.locator(".reason")).to_contain_text("Restored without colour for now")
        _images_loaded(page, "#grid li.photo-card img")
        owner.shot("16-album-colour-pending")
        card.locator("a").click()
        expect(page.locator("#state-badge")).to_have_text("Colour pending")
        expect(page.locator("#compare")).to_be_visible()  # published: before/after works meanwhile
        page.locator("#state-reason summary").click()
        expect(page.locator("#state-reason .detail-text")).to_contain_text("ColorizeArtistic_gen.pth")
        _images_loaded(page, "#stage img.layer")
        owner.shot("17-viewer-colour-pending")

        links = {}
        for album in (waiting, broken):
            page.goto(base + f"/albums/{album.folder}")
            page.locator("details#share summary").click()
            page.get_by_role("button", name="Make a share link").click()
            expect(page.locator("input.share-link")).to_have_value(re.compile("^" + re.escape(base) + "/s/"))
            links[album.folder] = page.locator("input.share-link").input_value()
        link = links[waiting.folder]
        owner.assert_no_errors()

    visitor = Watched(browser.new_context(**{**PHONE, "locale": "zh-CN"}))
    try:
        vpage = visitor.page
        vpage.goto(link)
        expect(vpage.locator("#grid .badge")).to_have_text("待上色")
        _images_loaded(vpage, "#grid li.photo-card img")
        assert vpage.evaluate("() => document.documentElement.scrollHeight") <= PHONE["viewport"]["height"]
        visitor.shot("18-shared-colour-pending-zh")
        vpage.locator("#grid li.photo-card a").click()
        expect(vpage.locator("#state-reason .reason-line")).to_contain_text("暂时没有上色")
        expect(vpage.locator("#state-reason details")).to_have_count(0)  # no detail for visitors
        html = vpage.content()
        assert str(layout.root) not in html and "RESTORE_" not in html
        _images_loaded(vpage, "#stage img.layer")
        visitor.shot("19-shared-viewer-colour-pending-zh")

        vpage.goto(links[broken.folder])  # six failed photos: one screen, a short reason each, no paths
        expect(vpage.locator("#grid .reason")).to_have_text(["修复失败"] * 6)
        _images_loaded(vpage, "#grid li.photo-card img")
        assert vpage.evaluate("() => document.documentElement.scrollHeight") <= PHONE["viewport"]["height"]
        assert str(layout.root) not in vpage.content()
        visitor.shot("20-shared-six-failed-zh")
        visitor.assert_no_errors()
    finally:
        visitor.context.close()
