"""What a sensor remembers between plans (plan_inputs.PlanMemo) never hides a change.

Folders are made to look old (``os.utime``) so the memo trusts them, as it does in a real gallery
whose folders settled long ago; "forged" cases put a folder's time back after a change, as a file
system that does not update folder times would, and the change must then be caught by the full pass.
"""
import os

import pytest

from restore_dagster import gallery as gallery_module
from restore_dagster.descriptions import DescriptionStore
from restore_dagster.gallery import FolderGallery
from restore_dagster.lineage import fingerprints, record_path, scan_touchups, weights_signatures, write_record
from restore_dagster.plan_inputs import PlanMemo
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import SettingsStore
from restore_dagster.sync import plan_sync
from restore_dagster_tests.conftest import write_scan

OLD_NS = 1_600_000_000 * 10**9  # 2020: long settled


def plan(layout, memo):
    store = RegistryStore(layout.state)
    result = plan_sync(FolderGallery(layout.gallery), layout, store.load(), SettingsStore(layout.state), memo=memo)
    store.save(result.registry)
    return result


def mark_done(layout, key):
    entry = RegistryStore(layout.state).load().photos[key]
    desired = fingerprints(entry.signature, SettingsStore(layout.state).get(key), scan_touchups(layout).get(key, {}),
                           weights_signatures(layout), DescriptionStore(layout.state).snapshot().signature(entry.source, entry.album))
    for stage, fp in desired.items():
        write_record(layout, stage, key, fp, None, {})


def settle(*folders):
    for folder in folders:
        os.utime(folder, ns=(OLD_NS, OLD_NS))


@pytest.fixture
def listed(monkeypatch):
    """The folders os.scandir lists in the gallery module."""
    seen = []
    real = os.scandir

    def scandir(path="."):
        seen.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(gallery_module.os, "scandir", scandir)
    return seen


@pytest.fixture
def done_album(layout):
    """An album of three restored photos, its folder and its records folder settled; a memo that trusts them."""
    album = layout.gallery / "Family"
    for i in range(3):
        write_scan(album / f"p{i}.jpg", seed=i)
    memo = PlanMemo(layout)
    memo.plans = 1  # past the first plan, which is a full pass
    first = plan(layout, memo)
    for key in first.added:
        mark_done(layout, key)
    records = record_path(layout, "published", "family/p0").parent
    settle(album, records)
    assert plan(layout, memo).requests == []  # lists and stats everything, then trusts the settled folders
    return album, records, memo


def test_unchanged_album_is_not_listed_again_and_costs_nothing(layout, done_album, listed):
    album, _, memo = done_album
    result = plan(layout, memo)
    assert result.requests == [] and not result.changed
    assert os.fspath(album) not in listed


def test_original_replaced_in_place_is_seen_at_once(layout, done_album, listed):
    album, _, memo = done_album
    with open(album / "p1.jpg", "r+b") as handle:  # rewritten in place: the folder's time does not change
        handle.seek(0, os.SEEK_END)
        handle.write(b"\0" * 17)
    settle(album)
    result = plan(layout, memo)
    assert os.fspath(album) not in listed  # not listed again, yet each scan was looked at
    assert result.changed == ["family/p1"]
    assert [(r.start, r.keys) for r in result.requests] == [("scanned", ("family/p1",))]


def test_new_photo_is_seen_at_once_and_even_a_hidden_one_by_the_full_pass(layout, done_album):
    album, _, memo = done_album
    write_scan(album / "p3.jpg", seed=3)  # the folder's time changes: listed again
    assert plan(layout, memo).added == ["family/p3"]
    mark_done(layout, "family/p3")
    settle(album)
    assert plan(layout, memo).requests == []  # the album's folder is trusted again

    write_scan(album / "p4.jpg", seed=4)
    settle(album)  # a file system that kept the folder's time
    assert plan(layout, memo).added == []
    added = []
    for _ in range(PlanMemo.FULL_PASS_EVERY):
        added += plan(layout, memo).added
    assert added == ["family/p4"]


def test_deleted_photo_is_seen_at_once_even_where_the_folder_kept_its_time(layout, done_album):
    album, _, memo = done_album
    (album / "p2.jpg").unlink()
    settle(album)
    assert plan(layout, memo).removed == ["family/p2"]


def test_published_record_gone_is_redone(layout, done_album):
    _, records, memo = done_album
    record_path(layout, "published", "family/p0").unlink()
    result = plan(layout, memo)
    assert [(r.start, r.keys) for r in result.requests] == [("published", ("family/p0",))]

    mark_done(layout, "family/p0")
    settle(records)
    assert plan(layout, memo).requests == []
    record_path(layout, "published", "family/p1").unlink()
    settle(records)  # gone behind a folder time that did not change: the full pass finds it
    requested = []
    for _ in range(PlanMemo.FULL_PASS_EVERY):
        requested += [r.keys for r in plan(layout, memo).requests]
    assert ("family/p1",) in requested


def test_changed_settings_touch_ups_and_descriptions_reach_the_photo(layout, done_album):
    album, _, memo = done_album
    SettingsStore(layout.state).set("family/p0", noise_level=3)
    assert [(r.start, r.keys) for r in plan(layout, memo).requests] == [("upscaled", ("family/p0",))]
    mark_done(layout, "family/p0")

    SettingsStore(layout.state).set_album_defaults("family", noise_level=2)
    assert sorted(k for r in plan(layout, memo).requests for k in r.keys) == ["family/p1", "family/p2"]
    for i in range(3):
        mark_done(layout, f"family/p{i}")

    write_scan(layout.touchup_dir("compressed") / "family" / "p1.jpg")
    assert [(r.start, r.keys) for r in plan(layout, memo).requests] == [("compressed", ("family/p1",))]
    mark_done(layout, "family/p1")

    DescriptionStore(layout.state).describe("Family/p2.jpg", caption="Grandma in her garden")
    assert [(r.start, r.keys) for r in plan(layout, memo).requests] == [("published", ("family/p2",))]
