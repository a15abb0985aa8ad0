"""Symbolic links through the real sensor and assets: never listed, never opened, never published through."""
from __future__ import annotations

import pytest

from restore_dagster.lineage import read_failure
from restore_dagster_tests.conftest import file_digest, write_scan
from restore_dagster_tests.pipeline.harness import drain, execute, materialized, tick


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_links_are_never_followed_from_listing_to_publishing(layout, resources, instance, tmp_path):
    outside = tmp_path / "outside"
    secret = write_scan(outside / "secret.jpg", seed=5)  # readable, like /etc/passwd, and a valid photo
    write_scan(outside / "album" / "other.jpg", seed=6)
    before = file_digest(secret)
    write_scan(layout.gallery / "al" / "real.jpg", seed=1)
    swapped = write_scan(layout.gallery / "al" / "swapped.jpg", seed=2)
    (layout.gallery / "al" / "link.jpg").symlink_to(secret)
    (layout.gallery / "linked").symlink_to(outside / "album")

    first = tick(instance, resources)
    assert sorted(instance.get_dynamic_partitions("photos")) == ["al/real", "al/swapped"]
    # Listed as a real file, then replaced by a link before the run opens it: refused at the open.
    swapped.unlink()
    swapped.symlink_to(secret)
    for request in first.run_requests:
        execute(instance, resources, request)
    drain(instance, resources)  # the failed photo fails its batch's step; later ticks finish the others

    assert materialized(instance, "published") == {"al/real"}
    failure = read_failure(layout, "al/swapped")
    assert failure and "symbolic link" in failure["reason"], failure
    assert {p.name.split(".")[0] for p in (layout.gallery / "al" / "restored").iterdir()} == {"real"}
    assert not (outside / "album" / "restored").exists() and sorted(p.name for p in outside.iterdir()) == ["album", "secret.jpg"]
    assert file_digest(secret) == before
