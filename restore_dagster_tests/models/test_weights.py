"""Weights download, cache and verification, against a real HTTP server on 127.0.0.1.

The official checkpoints are hundreds of MB and not reachable here, so most tests use small made-up
WeightsFile specs whose URLs point at the local server.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from restore_dagster.models import weights as w
from restore_dagster.models.weights import (
    DEOLDIFY_WEIGHTS,
    WeightsChecksumError,
    WeightsFile,
    WeightsMissingError,
    WeightsPathError,
    resolve_weights,
    sha256_file,
    verify_sha256,
    weights_status,
)
from restore_dagster_tests.models.download_fixtures import no_user_weights_env, server  # noqa: F401 (fixtures)
from restore_dagster_tests.models.local_http import Route

# Several chunks' worth, so progress and cut-short bodies exercise the streaming loop.
PAYLOAD = bytes(range(256)) * 9000 + b"tail"
NAME = "Toy_gen.pth"


def spec(*urls: str, body: bytes = PAYLOAD, name: str = NAME) -> WeightsFile:
    return WeightsFile(name=name, size=len(body), sha256=hashlib.sha256(body).hexdigest(), urls=urls)


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# ----------------------------------------------------------------------------------------------------
# The official files


def test_official_weights_are_the_ones_in_the_design_notes():
    artistic, stable = DEOLDIFY_WEIGHTS["artistic"], DEOLDIFY_WEIGHTS["stable"]
    assert set(DEOLDIFY_WEIGHTS) == {"artistic", "stable"}
    assert artistic == WeightsFile(
        name="ColorizeArtistic_gen.pth",
        size=255144681,
        sha256="3f750246fa220529323b85a8905f9b49c0e5d427099185334d048fb5b5e22477",
        urls=(
            "https://data.deepai.org/deoldify/ColorizeArtistic_gen.pth",
            "https://huggingface.co/spensercai/DeOldify/resolve/main/ColorizeArtistic_gen.pth",
        ),
    )
    assert stable == WeightsFile(
        name="ColorizeStable_gen.pth",
        size=874066230,
        sha256="ca9cd7f43fb8b222c9a70f7b292e305a000694b0ff9d2ae4a6747b1a2e1ee5af",
        urls=(
            "https://www.dropbox.com/s/axsd2g85uyixaho/ColorizeStable_gen.pth?dl=1",
            "https://huggingface.co/spensercai/DeOldify/resolve/main/ColorizeStable_gen.pth",
        ),
    )


def test_sha256_helpers_hash_in_chunks_to_the_known_digest(tmp_path):
    f = tmp_path / "abc"
    f.write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 test vector
    assert sha256_file(f) == digest
    assert verify_sha256(f, digest.upper())
    assert not verify_sha256(f, "0" * 64)
    big = tmp_path / "big"
    big.write_bytes(PAYLOAD * 3)  # larger than one read chunk
    assert sha256_file(big) == hashlib.sha256(PAYLOAD * 3).hexdigest()


# ----------------------------------------------------------------------------------------------------
# Downloading


@pytest.mark.parametrize("progress", [True, False])
def test_download_succeeds_and_is_remembered(server, tmp_path, capsys, progress):
    url = server.add("/toy", Route(body=PAYLOAD))
    cache = tmp_path / "cache" / "nested"  # created on demand

    path = resolve_weights(spec(url), cache, progress=progress)

    assert path == cache / NAME
    assert path.read_bytes() == PAYLOAD
    assert listing(cache) == [NAME, NAME + ".sha256"]
    record = json.loads((cache / (NAME + ".sha256")).read_text())
    assert record["sha256"] == hashlib.sha256(PAYLOAD).hexdigest() and record["size"] == len(PAYLOAD)
    assert server.requests == ["/toy"]
    bar = capsys.readouterr().err
    assert (NAME in bar) is progress  # tqdm writes its bar to stderr, only when asked


def test_redirects_are_followed_like_the_huggingface_mirror(server, tmp_path):
    server.add("/blob", Route(body=PAYLOAD))
    url = server.add("/resolve/main/toy", Route(redirect_to="/blob"))
    assert resolve_weights(spec(url), tmp_path, progress=False).read_bytes() == PAYLOAD
    assert server.requests == ["/resolve/main/toy", "/blob"]


def test_wrong_checksum_is_rejected_and_nothing_is_left_behind(server, tmp_path):
    tampered = bytes(reversed(PAYLOAD))  # same size, other bytes
    url = server.add("/toy", Route(body=tampered))

    with pytest.raises(WeightsMissingError) as err:
        resolve_weights(spec(url), tmp_path, progress=False)

    message = str(err.value)
    assert NAME in message and str(tmp_path / NAME) in message
    assert f"{url}: SHA-256 mismatch: got {hashlib.sha256(tampered).hexdigest()}" in message
    assert listing(tmp_path) == []


def test_a_body_of_the_wrong_size_is_rejected_before_it_is_read(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD + b"<html>extra</html>"))
    with pytest.raises(WeightsMissingError, match=f"server announced {len(PAYLOAD) + 18:,} bytes"):
        resolve_weights(spec(url), tmp_path, progress=False)
    assert listing(tmp_path) == []


def test_first_mirror_404_then_second_succeeds(server, tmp_path):
    missing = server.base_url + "/gone"
    good = server.add("/toy", Route(body=PAYLOAD))
    path = resolve_weights(spec(missing, good), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/gone", "/toy"]


def test_connection_dropped_mid_file_then_second_mirror_succeeds(server, tmp_path):
    dropping = server.add("/drop", Route(body=PAYLOAD, cut_after=len(PAYLOAD) // 3))
    good = server.add("/toy", Route(body=PAYLOAD))
    path = resolve_weights(spec(dropping, good), tmp_path, progress=True)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/drop", "/toy"]
    assert listing(tmp_path) == [NAME, NAME + ".sha256"]


def test_only_mirror_drops_the_connection(server, tmp_path):
    cut = len(PAYLOAD) // 2
    dropping = server.add("/drop", Route(body=PAYLOAD, cut_after=cut))

    with pytest.raises(WeightsMissingError) as err:
        resolve_weights(spec(dropping), tmp_path, progress=False)

    message = str(err.value)
    assert str(tmp_path / NAME) in message
    assert f"{dropping}: connection closed after {cut:,} of {len(PAYLOAD):,} bytes" in message
    assert err.value.attempts == ((dropping, f"connection closed after {cut:,} of {len(PAYLOAD):,} bytes"),)
    assert listing(tmp_path) == []  # no temp file


def test_stalled_mirror_times_out_then_next_mirror_succeeds(server, tmp_path):
    stalled = server.add("/stall", Route(body=PAYLOAD, stall_after=1000))
    good = server.add("/toy", Route(body=PAYLOAD))
    started = time.monotonic()
    path = resolve_weights(spec(stalled, good), tmp_path, progress=False, timeout=0.5)
    assert time.monotonic() - started < 10
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/stall", "/toy"]


def test_every_failure_reason_is_reported_in_order(server, tmp_path):
    refused = "http://127.0.0.1:9/nothing-listens-here"
    not_found = server.base_url + "/gone"
    with pytest.raises(WeightsMissingError) as err:
        resolve_weights(spec(not_found, refused, "not a url"), tmp_path, progress=False, timeout=2)
    (url1, reason1), (url2, reason2), (url3, reason3) = err.value.attempts
    assert (url1, reason1) == (not_found, "HTTP 404 Not Found")
    assert url2 == refused and reason2.startswith("cannot connect")
    assert (url3, reason3) == ("not a url", "invalid URL: unknown url type: 'not a url'")
    assert listing(tmp_path) == []


def test_urls_argument_replaces_the_mirrors(server, tmp_path):
    good = server.add("/toy", Route(body=PAYLOAD))
    path = resolve_weights(spec("http://127.0.0.1:9/never-used"), tmp_path, progress=False, urls=[good])
    assert path.read_bytes() == PAYLOAD


def test_parallel_callers_download_once(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD, delay_s=0.3))
    results, errors = [], []

    def fetch():
        try:
            results.append(resolve_weights(spec(url), tmp_path, progress=False))
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert results == [tmp_path / NAME] * 3
    assert server.requests == ["/toy"]  # the others waited on the cache lock, then found the file


def test_stale_partial_downloads_are_cleaned_but_fresh_ones_kept(server, tmp_path):
    stale = tmp_path / f".{NAME}.dead.part"
    fresh = tmp_path / f".{NAME}.live.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    url = server.add("/toy", Route(body=PAYLOAD))
    resolve_weights(spec(url), tmp_path, progress=False)
    assert listing(tmp_path) == sorted([NAME, NAME + ".sha256", fresh.name])


# ----------------------------------------------------------------------------------------------------
# The cache


def test_download_disabled_with_missing_file_names_the_exact_path(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD))
    with pytest.raises(WeightsMissingError) as err:
        resolve_weights(spec(url), tmp_path / "cache", download=False)
    message = str(err.value)
    assert f"put it at exactly\n  {tmp_path / 'cache' / NAME}\n" in message
    assert "download=False" in message and url in message
    assert server.requests == []
    assert not (tmp_path / "cache").exists()


def test_missing_official_weights_message_says_how_to_fix_it(tmp_path):
    with pytest.raises(WeightsMissingError) as err:
        resolve_weights("artistic", tmp_path, download=False)
    message = str(err.value)
    for expected in (
        "ColorizeArtistic_gen.pth",
        "243.3 MiB (255,144,681 bytes)",
        "3f750246fa220529323b85a8905f9b49c0e5d427099185334d048fb5b5e22477",
        "https://data.deepai.org/deoldify/ColorizeArtistic_gen.pth",
        "https://huggingface.co/spensercai/DeOldify/resolve/main/ColorizeArtistic_gen.pth",
        str(tmp_path / "ColorizeArtistic_gen.pth"),
        "RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS",
    ):
        assert expected in message
    assert isinstance(err.value, RuntimeError)


def test_cached_good_file_is_neither_downloaded_nor_rehashed(server, tmp_path, monkeypatch):
    url = server.add("/toy", Route(body=PAYLOAD))
    (tmp_path / NAME).write_bytes(PAYLOAD)  # placed by hand
    hashed = []
    real_sha256_file = w.sha256_file
    monkeypatch.setattr(w, "sha256_file", lambda p: hashed.append(Path(p)) or real_sha256_file(p))

    assert resolve_weights(spec(url), tmp_path) == tmp_path / NAME
    assert hashed == [tmp_path / NAME]
    assert resolve_weights(spec(url), tmp_path) == tmp_path / NAME
    assert hashed == [tmp_path / NAME]  # the sidecar vouched for it
    assert server.requests == []

    os.utime(tmp_path / NAME, ns=(0, 10**18))  # touched: the remembered digest no longer applies
    resolve_weights(spec(url), tmp_path)
    assert len(hashed) == 2
    assert server.requests == []


def test_downloaded_file_is_not_rehashed(server, tmp_path, monkeypatch):
    url = server.add("/toy", Route(body=PAYLOAD))
    resolve_weights(spec(url), tmp_path, progress=False)

    def must_not_hash(path):
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(w, "sha256_file", must_not_hash)
    assert resolve_weights(spec(url), tmp_path) == tmp_path / NAME
    assert server.requests == ["/toy"]


def test_remembered_digest_is_tied_to_the_file_not_its_name(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD))
    target = resolve_weights(spec(url), tmp_path, progress=False)
    before = target.stat()
    # A different file of the same size, with the same mtime (as `cp --preserve` would give),
    # moved into place: only its inode differs, and that is enough to distrust the sidecar.
    wrong = bytes(reversed(PAYLOAD))
    copy = tmp_path / "copy"
    copy.write_bytes(wrong)
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(copy, target)
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    assert resolve_weights(spec(url), tmp_path, progress=False).read_bytes() == PAYLOAD
    assert (tmp_path / (NAME + ".corrupt")).read_bytes() == wrong
    assert server.requests == ["/toy", "/toy"]


def test_corrupt_cached_file_is_set_aside_and_downloaded_again(server, tmp_path, caplog):
    url = server.add("/toy", Route(body=PAYLOAD))
    corrupt = PAYLOAD[:-4] + b"oops"
    (tmp_path / NAME).write_bytes(corrupt)

    path = resolve_weights(spec(url), tmp_path, progress=False)

    assert path.read_bytes() == PAYLOAD
    assert (tmp_path / (NAME + ".corrupt")).read_bytes() == corrupt  # never deleted
    assert server.requests == ["/toy"]
    assert f"moved it to {tmp_path / (NAME + '.corrupt')}" in caplog.text


def test_corrupt_file_without_download_is_set_aside_and_reported(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD))
    (tmp_path / (NAME + ".corrupt")).write_bytes(b"an earlier bad copy")
    (tmp_path / NAME).write_bytes(b"truncated")

    with pytest.raises(WeightsChecksumError) as err:
        resolve_weights(spec(url), tmp_path, download=False)

    set_aside = tmp_path / (NAME + ".corrupt.1")
    assert err.value.set_aside == set_aside
    assert set_aside.read_bytes() == b"truncated"
    assert (tmp_path / (NAME + ".corrupt")).read_bytes() == b"an earlier bad copy"
    message = str(err.value)
    assert f"size 9 bytes, expected {len(PAYLOAD):,}" in message and str(set_aside) in message
    assert isinstance(err.value, WeightsMissingError)
    assert server.requests == []


# ----------------------------------------------------------------------------------------------------
# Explicit paths


def test_explicit_path_is_returned_as_given_without_a_checksum(server, tmp_path):
    url = server.add("/toy", Route(body=PAYLOAD))
    own = tmp_path / "my_finetuned.pth"
    own.write_bytes(b"not the official bytes at all")
    cache = tmp_path / "cache"

    assert resolve_weights(spec(url), cache, explicit_path=str(own)) == own
    assert resolve_weights("stable", cache, explicit_path=own) == own
    assert server.requests == []
    assert not cache.exists()


def test_explicit_path_from_the_environment(tmp_path, monkeypatch):
    own = tmp_path / "artistic_own.pth"
    own.write_bytes(b"weights")
    monkeypatch.setenv("RESTORE_DEOLDIFY_ARTISTIC_WEIGHTS", str(own))
    assert resolve_weights("artistic", tmp_path / "cache", download=False) == own
    with pytest.raises(WeightsMissingError):  # the other kind has its own variable
        resolve_weights("stable", tmp_path / "cache", download=False)


def test_explicit_missing_path_is_a_clear_error(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(WeightsPathError, match=f"{missing} \\(from explicit_path argument\\) does not exist"):
        resolve_weights("artistic", tmp_path, explicit_path=missing)
    with pytest.raises(WeightsPathError, match="is not a regular file"):
        resolve_weights("artistic", tmp_path, explicit_path=tmp_path)
    monkeypatch.setenv("RESTORE_DEOLDIFY_STABLE_WEIGHTS", str(missing))
    with pytest.raises(WeightsPathError, match="environment variable RESTORE_DEOLDIFY_STABLE_WEIGHTS"):
        resolve_weights("stable", tmp_path)


def test_unknown_kind_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="expected one of: artistic, stable"):
        resolve_weights("vivid", tmp_path)


# ----------------------------------------------------------------------------------------------------
# Status for the CLI


def test_weights_status_reports_each_kind(tmp_path, monkeypatch):
    toy = spec("http://127.0.0.1:9/unused", name="ColorizeArtistic_gen.pth")
    monkeypatch.setitem(DEOLDIFY_WEIGHTS, "artistic", toy)
    (tmp_path / toy.name).write_bytes(PAYLOAD)
    (tmp_path / "ColorizeStable_gen.pth").write_bytes(b"short")
    monkeypatch.setenv("RESTORE_DEOLDIFY_STABLE_WEIGHTS", "/data/own_stable.pth")

    artistic, stable, *archive_rows = weights_status(tmp_path)
    # test_archive_weights.py and test_pinned_weights.py cover them
    assert [row["kind"] for row in archive_rows] == ["scratch", "lama", "ddcolor", "ddcolor-artistic", "ddcolor-tiny"]

    assert artistic["kind"] == "artistic" and artistic["path"] == str(tmp_path / toy.name)
    assert (artistic["present"], artistic["verified"], artistic["problem"]) == (True, True, None)
    assert artistic["size"] == artistic["expected_size"] == len(PAYLOAD)
    assert artistic["explicit_path"] is None
    assert (stable["present"], stable["verified"], stable["size"]) == (True, False, 5)
    assert stable["problem"] == "size 5 bytes, expected 874,066,230"
    assert stable["explicit_path"] == "/data/own_stable.pth"
    assert stable["env_var"] == "RESTORE_DEOLDIFY_STABLE_WEIGHTS"
    assert (tmp_path / "ColorizeStable_gen.pth").exists()  # status never moves files
    json.dumps([artistic, stable])  # the CLI can print it as JSON
    assert weights_status(tmp_path / "empty")[0]["present"] is False
