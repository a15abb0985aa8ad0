"""Response times of the web gallery over N photos in one album or several, and the process's peak memory.

Builds a throwaway storage root with N small real JPEGs (640×480 grey scans by default) in one album
(``--albums 1``) or spread over several (``--albums 200``: the home page lists them all),
registers them as the sensor would (``plan_sync``), publishes a restoration with its record for every
second photo and records a failure for one in ten of the others, so the album shows all of restored,
waiting and failed. The project's on-disk Dagster instance is in place, as beside a running pipeline,
so every state read also asks it for queued and running runs. Requests go through FastAPI's
TestClient as the logged-in owner (in-process: no network, no server threads).

Target (restore_dagster/viewer/states.py): the states of an album of 1,000 photos in well under a
second; the home page and an album page under 1 s with 100,000 photos in 200 albums:

    python bench/bench_viewer.py --photos 100000 --albums 200 --size 64x48 --distinct 50

and an album page under 1 s when one album holds them all (an archive's single "Scans" folder: the
page shows 200 of them, ``viewer/album_pages.py``):

    python bench/bench_viewer.py --photos 100000 --huge-album --size 64x48 --distinct 50

Times are medians of ``--repeats`` after one warm-up (the home page's first visit, which makes cards
for half a second and the rest in a background thread, is shown on its own rows, with the wait for
that thread, a visit after a simulated restart that reads the saved cards, and, last, a visit after a
change to the project defaults); first thumbnails are each made from the original on request
(cache empty), cached ones are the same URLs asked again. With ``--distinct K`` only K different
scans are encoded and written in turn, and above 2,000 photos restorations and records are written
without fsync (as the pipeline's atomic writes would leave them, only faster to make).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # run from a checkout, installed or not
from bench_common import proc_status_bytes  # noqa: E402  (torch-free: the gallery never loads torch)

warnings.filterwarnings("ignore")


def _mib(nbytes: int | None) -> str:
    return "n/a" if nbytes is None else f"{nbytes / 1024**2:.0f} MiB"


def _scans(count: int, size: tuple[int, int]):
    """``count`` different photo-like grey JPEGs: smooth gradients, grain, shifted per photo."""
    import numpy as np
    from PIL import Image

    width, height = size
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = 128 + 70 * np.sin(x / 37) * np.cos(y / 29) + rng.normal(0, 12, (height, width))
    for i in range(count):
        pixels = np.clip(np.roll(base, (i * 7) % width, axis=1) + (i % 40) - 20, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "L").save(buffer, "JPEG", quality=85)
        yield buffer.getvalue()


def _quick_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def _timed(call, repeats: int) -> list[float]:
    call()  # warm-up: template compilation, the instance's first runs query, the OS file cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _each_once(get, urls: list[str]) -> tuple[list[float], bytes]:
    """Each URL fetched once, in order: the times, and the last body (for its size)."""
    times, body = [], b""
    for url in urls:
        start = time.perf_counter()
        body = get(url).content
        times.append(time.perf_counter() - start)
    return times, body


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--size", default="640x480", help="each scan's width x height")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--thumbs", type=int, default=50, help="photos whose first thumbnail is timed")
    parser.add_argument("--no-instance", action="store_true", help="no Dagster instance beside the gallery")
    parser.add_argument("--albums", type=int, default=1, help="albums the photos are spread over")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of one album's states (album_photos; "
                                                     "with --huge-album, of one album page's) here")
    parser.add_argument("--distinct", type=int, default=0, help="different scans to write in turn (0: every one different)")
    parser.add_argument("--huge-album", action="store_true",
                        help="every photo in one album (an archive's single 'Scans' folder): time its first, middle and "
                             "last pages, its timeline, a search and a page's JSON instead of the whole album's JSON")
    args = parser.parse_args()
    if args.huge_album:
        args.albums = 1
    width, _, height = args.size.lower().partition("x")
    size = (int(width), int(height))

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RESTORE_HOME"] = str(Path(tmp) / "home")
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home" / "dagster_home")
        os.environ.pop("RESTORE_GALLERY", None)
        from fastapi.testclient import TestClient

        from restore_dagster.config import Layout
        from restore_dagster.instance import prepare_dagster_home
        from restore_dagster.config import PUBLISHED_DIRNAME
        from restore_dagster.gallery import FolderGallery
        from restore_dagster.lineage import (
            StageRecord, failure_path, fingerprints, record_failure, record_path, scan_touchups, weights_signatures, write_record,
        )
        from restore_dagster.registry import RegistryStore
        from restore_dagster.settings import SettingsStore
        from restore_dagster.sync import plan_sync
        from restore_dagster.viewer.app import create_app
        from restore_dagster.viewer.library import Library
        from restore_dagster.viewer.webstate import WebState

        layout = Layout.from_env().ensure()
        if not args.no_instance:
            prepare_dagster_home(layout)
        folders = ["family-1960s"] if args.albums == 1 else [f"album-{a:03d}" for a in range(args.albums)]
        folder = folders[0]
        for name in folders:
            (layout.gallery / name).mkdir()
        start = time.perf_counter()
        scans = list(_scans(args.distinct, size)) if args.distinct else None
        restoration = None
        for i, data in enumerate(_scans(args.photos, size) if scans is None else (scans[i % len(scans)] for i in range(args.photos))):
            (layout.gallery / folders[i % len(folders)] / f"scan {i:06d}.jpg").write_bytes(data)
            restoration = restoration or data
        write_seconds = time.perf_counter() - start
        quick = args.photos > 2000  # no fsync for the restorations and records (see the module's doc)

        # What the sensor and the pipeline would have left: keys for all, half restored, some failed.
        library = Library(layout.gallery, WebState(layout.state / "web.sqlite3"))
        store, settings = RegistryStore(layout.state), SettingsStore(layout.state)
        registry = store.load()
        plan_sync(library.gallery, layout, registry, settings)
        store.save(registry)
        weights, touchups = weights_signatures(layout), scan_touchups(layout)
        states = {"restored": 0, "failed": 0, "waiting": 0}
        for i, (key, entry) in enumerate(registry.photos.items()):
            desired = fingerprints(entry.signature, settings.get(key), touchups.get(key, {}), weights)
            if i % 2 == 0:
                meta = {"width": size[0], "height": size[1], "format": "JPEG", "bytes": len(restoration)}
                if quick:
                    published = layout.gallery / entry.album / PUBLISHED_DIRNAME
                    published.mkdir(exist_ok=True)
                    (published / f"{FolderGallery.restoration_name(entry.name)}.jpg").write_bytes(restoration)
                    _quick_json(record_path(layout, "published", key),
                                StageRecord("published", key, desired["published"], None, meta, time.time()).to_json())
                else:
                    library.gallery.publish(entry.source, restoration, "jpg")
                    write_record(layout, "published", key, desired["published"], None, meta)
                states["restored"] += 1
            elif i % 20 == 1:
                if quick:
                    _quick_json(failure_path(layout, key), {"key": key, "stage": "colorized", "fingerprint": desired["colorized"],
                                                           "reason": "CUDA out of memory", "run_id": None, "at": time.time()})
                else:
                    record_failure(layout, key, "colorized", desired["colorized"], "CUDA out of memory", None)
                states["failed"] += 1
            else:
                states["waiting"] += 1

        app = create_app(layout)
        app.state.services.accounts.set_password("benchmark password")
        client = TestClient(app)
        client.get("/login")
        login = client.post("/login", data={"password": "benchmark password", "csrf_token": client.cookies.get("restore_csrf")},
                            follow_redirects=False)
        assert login.status_code == 303, login.text
        rss_before = proc_status_bytes("VmRSS")

        def get(url: str, expect: int = 200):
            response = client.get(url)
            assert response.status_code == expect, (url, response.status_code, response.text[:200])
            return response

        album_url = f"/albums/{quote(folder, safe='')}"
        rows = []
        # Warm-up on another page: the Dagster instance is opened and the registry read once per process.
        start = time.perf_counter()
        get(f"/api/albums/{quote(folders[-1], safe='')}/photos" + ("?page=1" if args.huge_album else ""))
        if args.huge_album:  # the album's names are listed here, then kept while its folder is unchanged
            rows.append(("first request after the server started: page 1's JSON, the album listed and the registry "
                         "read (`?page=1`)", _ms(time.perf_counter() - start), "one request", ""))
        # The first visit makes cards for half a second, the rest in one background thread (album_cards.py).
        start = time.perf_counter()
        page = get("/").text
        visit = time.perf_counter() - start
        counting = page.count('class="counting"')
        rows.append((f"home page, first visit after the server started (`GET /`, {len(folders)} album(s), "
                     f"{len(folders) - counting} counted, {counting} counting…)", _ms(visit), "one visit", f"{len(page):,} B"))
        svc = app.state.services
        svc.album_cards.wait()
        rows.append(("… until the background thread has made every card (from the visit's start)",
                     _ms(time.perf_counter() - start), "one run", ""))
        assert 'class="counting"' not in get("/").text, "cards still counting after the background thread"
        # A restart of the web server: a new AlbumCards reads the cards saved in state/web/album_cards.json
        # (in this process, so the registry's memo stays warm: the restart's registry read is not in this row).
        from restore_dagster.viewer.album_cards import AlbumCards

        svc.album_cards = AlbumCards(layout, svc.library, svc.states)
        start = time.perf_counter()
        page = get("/").text
        visit, counting = time.perf_counter() - start, page.count('class="counting"')
        rows.append((f"home page, first visit after a restart, with the saved cards ({counting} counting…)", _ms(visit),
                     "one visit", f"{len(page):,} B"))
        in_album = len(range(0, args.photos, len(folders)))
        api_url = f"/api/albums/{quote(folder, safe='')}/photos"
        if args.huge_album:  # the whole album's JSON is every photo's state (minutes at 100,000): pages only
            from restore_dagster.viewer.album_pages import PAGE_SIZE

            pages = -(-in_album // PAGE_SIZE)
            middle = pages // 2 + 1
            photos = get(f"{api_url}?page={middle}").json()
            assert len(photos) == min(PAGE_SIZE, in_album - (middle - 1) * PAGE_SIZE), "unexpected page size"
            page_html = get(album_url).text
            assert page_html.count('class="photo-card"') == min(PAGE_SIZE, in_album), "not one page of photos"
            assert f"Page 1 of {pages:,}" in page_html or pages == 1, "unexpected page count"
            timed = (
                (f"album page 1 of {pages:,} ({in_album:,} photos), HTML (`GET {album_url}`)", album_url),
                (f"album page {middle:,} (`?page={middle}`)", f"{album_url}?page={middle}"),
                (f"album page {pages:,}, the last (`?page={pages}`)", f"{album_url}?page={pages}"),
                ("album page 1 of the timeline (`?view=timeline`: every photo's date read and sorted)", f"{album_url}?view=timeline"),
                ("album search with no match (`?q=lake`: every photo's title and description read)", f"{album_url}?q=lake"),
                (f"one page's states, JSON (`GET {api_url}?page={middle}`)", f"{api_url}?page={middle}"),
                (f"home page, cards kept (`GET /`, {len(folders)} album(s))", "/"),
                ("photo viewer page, mid-album (`GET .../photos/<photo>`)", photos[len(photos) // 2]["url"]),
                ("`GET /healthz`, for scale: the TestClient round trip alone", "/healthz"),
            )
        else:
            photos = get(api_url).json()
            assert len(photos) == in_album, "unexpected photo count"
            if args.albums == 1:
                assert {p["state"] for p in photos} == {s for s, n in states.items() if n}, "unexpected states"
            timed = (
                (f"album page of {in_album:,} photos, HTML (`GET {album_url}`)", album_url),
                ("album states, JSON (`GET /api/albums/<folder>/photos`)", api_url),
                (f"home page, cards kept (`GET /`, {len(folders)} album(s))", "/"),
                ("photo viewer page (`GET .../photos/<photo>`)", photos[len(photos) // 2]["url"]),
                ("`GET /healthz`, for scale: the TestClient round trip alone", "/healthz"),
            )
        for label, url in timed:
            body = len(get(url).content)
            times = _timed(lambda url=url: get(url), args.repeats)
            rows.append((label, _ms(statistics.median(times)), f"{_ms(min(times))} – {_ms(max(times))}", f"{body:,} B"))

        step = max(1, len(photos) // args.thumbs)
        thumbs = [p["thumb"] for p in photos[::step]][: args.thumbs]
        first, body = _each_once(get, thumbs)
        rows.append((f"first thumbnail, made from the original (mean of {len(first)} photos)", _ms(statistics.mean(first)),
                     f"{_ms(min(first))} – {_ms(max(first))}", f"{len(body):,} B"))
        cached, _ = _each_once(get, thumbs)
        rows.append((f"cached thumbnail (median of {len(cached)})", _ms(statistics.median(cached)),
                     f"{_ms(min(cached))} – {_ms(max(cached))}", f"{len(body):,} B"))
        restored_thumbs = [p["restored_thumb"] for p in photos if p["restored_thumb"]][: args.thumbs]
        if args.huge_album and restored_thumbs:  # each looks its restoration up among the album's many
            for url in restored_thumbs:
                get(url)  # made once
            cached, body = _each_once(get, restored_thumbs)
            rows.append((f"cached restored thumbnail (median of {len(cached)})", _ms(statistics.median(cached)),
                         f"{_ms(min(cached))} – {_ms(max(cached))}", f"{len(body):,} B"))

        # Last, as it makes every photo stale: a change to the project defaults changes every album's version.
        from restore_dagster.settings import SettingsStore

        SettingsStore(layout.state).set_defaults(long_side=3000)
        start = time.perf_counter()
        page = get("/").text
        visit, counting = time.perf_counter() - start, page.count('class="counting"')
        rows.append((f"home page after a change to the project defaults (last cards shown, {counting} counting…)",
                     _ms(visit), "one visit", f"{len(page):,} B"))
        svc.album_cards.wait()
        rows.append(("… until the background thread has made every card again (from the visit's start)",
                     _ms(time.perf_counter() - start), "one run", ""))

        if args.profile:  # requests run in the TestClient's worker threads: profile the album's states here instead
            import cProfile
            import pstats

            from restore_dagster.viewer.pages import owner_scope
            from restore_dagster.viewer.views import album_photos

            svc = app.state.services
            profiler = cProfile.Profile()
            if args.huge_album:  # what one album page reads: its slice of the album, then its photos' states
                from restore_dagster.viewer.views import _album_slice, page_photos

                def one_page(scope=owner_scope(svc.library.album(folder))):
                    names, descriptions, _ = _album_slice(svc, scope, svc.descriptions.snapshot(), "grid", "", "")
                    return page_photos(svc, scope, names, "en", descriptions)

                profiler.runcall(one_page)
            else:
                profiler.runcall(album_photos, svc, owner_scope(svc.library.album(folder)), "en")
            profiler.dump_stats(args.profile)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        peak = proc_status_bytes("VmHWM")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        instance = "none" if args.no_instance else "on-disk, no runs"
        print(f"{args.photos} photos of {size[0]}×{size[1]} in {len(folders)} album(s) ({write_seconds:.1f} s to write), states: "
              f"{states['restored']} restored, {states['waiting']} waiting, {states['failed']} failed; Dagster instance: {instance}")
        print(f"| request | median of {args.repeats} (thumbnails: see row) | min – max | response |")
        print("|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print(f"\npeak RSS of the process: {_mib(peak)} (VmHWM; ru_maxrss {_mib(maxrss)}); RSS before the timed requests: {_mib(rss_before)}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
