"""DDColor checkpoints: plain downloads of a stated size whose SHA-256 is pinned on first download.

The real files are 220-912 MB and unreachable here, so each test gives the spec a small body's size
and serves it from a real HTTP server on 127.0.0.1 (the spec's URLs are replaced).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path

import pytest

from restore_dagster.models import pinned_weights as pw
from restore_dagster.models import weights as w
from restore_dagster_tests.models.download_fixtures import no_user_weights_env, server  # noqa: F401 (fixtures)
from restore_dagster_tests.models.local_http import LocalHTTPServer, Route

BODY = bytes(range(256)) * 5000 + b"ddcolor"  # several download chunks
DIGEST = hashlib.sha256(BODY).hexdigest()
KIND = "ddcolor-tiny"


@pytest.fixture
def small_spec(monkeypatch):
    """The tiny spec with BODY's size (and, by default, BODY's hash as the third-party figure)."""

    def use(reported: str | None = DIGEST) -> pw.PinnedWeights:
        spec = dataclasses.replace(pw.PINNED_WEIGHTS[KIND], size=len(BODY), reported_sha256=reported)
        monkeypatch.setitem(pw.PINNED_WEIGHTS, KIND, spec)
        return spec

    return use


def resolve(cache: Path, *urls: str, kind: str = KIND, **kw) -> Path:
    return w.resolve_weights(kind, cache_dir=cache, urls=urls, progress=False, timeout=5, **kw)


def pin(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".pin.json").read_text())


def test_official_specs_are_the_fixture_readmes():
    hf = "https://huggingface.co/piddnad/DDColor-models/resolve/main/"
    specs = pw.PINNED_WEIGHTS
    assert set(specs) == set(w.PINNED_KINDS) == {"ddcolor", "ddcolor-artistic", "ddcolor-tiny"}
    assert (specs["ddcolor"].name, specs["ddcolor"].size, specs["ddcolor"].urls) == (
        "ddcolor_modelscope.pth", 911_950_059, (hf + "ddcolor_modelscope.pth",))
    assert specs["ddcolor"].reported_sha256 == "17c460d7e55b32a598370621d77173be59e03c24b0823f06821db23a50c263ce"
    assert (specs["ddcolor-artistic"].name, specs["ddcolor-artistic"].size) == ("ddcolor_artistic.pth", 911_950_059)
    assert specs["ddcolor-artistic"].reported_sha256 == (
        "a591ee5beedad36de703d8977e92d0c30c1eedc6453fd1b300f3b460842a23a9")
    assert (specs["ddcolor-tiny"].name, specs["ddcolor-tiny"].size, specs["ddcolor-tiny"].reported_sha256) == (
        "ddcolor_paper_tiny.pth", 220_393_145, None)
    assert {k: s.env_var for k, s in specs.items()} == {
        "ddcolor": "RESTORE_DDCOLOR_WEIGHTS", "ddcolor-artistic": "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS",
        "ddcolor-tiny": "RESTORE_DDCOLOR_TINY_WEIGHTS"}
    assert all(w.WEIGHTS_ENV_VARS[k] == s.env_var for k, s in specs.items())


def test_download_checks_the_size_and_pins_the_hash(server, tmp_path, small_spec):
    small_spec()
    url = server.add("/ddcolor_paper_tiny.pth", Route(body=BODY))
    path = resolve(tmp_path, url)
    assert path == tmp_path / "ddcolor_paper_tiny.pth" and path.read_bytes() == BODY
    record = pin(path)
    assert (record["size"], record["sha256"], record["source"]) == (len(BODY), DIGEST, url)
    assert record["matches_reported"] is True
    assert sorted(os.listdir(tmp_path)) == ["ddcolor_paper_tiny.pth", "ddcolor_paper_tiny.pth.pin.json",
                                            "ddcolor_paper_tiny.pth.sha256"]
    assert resolve(tmp_path, url) == path and server.requests == ["/ddcolor_paper_tiny.pth"]  # cached


def test_a_hash_other_than_the_third_party_one_is_pinned_with_a_warning(server, tmp_path, small_spec, caplog):
    small_spec(reported="0" * 64)
    url = server.add("/f", Route(body=BODY))
    with caplog.at_level(logging.WARNING, logger=pw.__name__):
        path = resolve(tmp_path, url)
    assert pin(path)["sha256"] == DIGEST and pin(path)["matches_reported"] is False
    assert "differs from the third-party figure" in caplog.text


def test_without_a_third_party_hash_the_pin_says_so(server, tmp_path, small_spec):
    small_spec(reported=None)
    path = resolve(tmp_path, server.add("/f", Route(body=BODY)))
    assert pin(path)["matches_reported"] is None and pin(path)["reported_sha256"] is None


def test_wrong_size_mirror_is_refused_and_the_next_one_used(server, tmp_path, small_spec):
    small_spec()
    short = server.add("/short", Route(body=BODY[:-1]))
    long = server.add("/long", Route(body=BODY + b"x"))
    cut = server.add("/cut", Route(body=BODY, cut_after=len(BODY) // 2))
    good = server.add("/good", Route(body=BODY))
    assert resolve(tmp_path, short, long, cut, good).read_bytes() == BODY
    assert server.requests == ["/short", "/long", "/cut", "/good"]


def test_no_good_mirror_says_how_to_fix_and_leaves_nothing(server, tmp_path, small_spec):
    small_spec()
    with LocalHTTPServer() as down:
        refused = down.base_url + "/gone.pth"
    short = server.add("/short", Route(body=BODY[:-1]))
    with pytest.raises(w.WeightsMissingError) as info:
        resolve(tmp_path, refused, short)
    error, message = info.value, str(info.value)
    assert error.missing is True
    assert "cannot connect" in message and "announced" in message and refused in message
    assert str(tmp_path / "ddcolor_paper_tiny.pth") in message and "RESTORE_DDCOLOR_TINY_WEIGHTS" in message
    assert f"{len(BODY):,} bytes" in message and "no SHA-256 is published" not in message
    assert os.listdir(tmp_path) == []


def test_changed_file_is_refused_and_never_moved_or_redownloaded(server, tmp_path, small_spec):
    small_spec()
    url = server.add("/f", Route(body=BODY))
    path = resolve(tmp_path, url)
    path.write_bytes(BODY[:-1] + b"X")  # same size, other bytes
    with pytest.raises(w.WeightsChecksumError) as info:
        resolve(tmp_path, url)
    message = str(info.value)
    assert str(path) in message and "pinned" in message and "RESTORE_DDCOLOR_TINY_WEIGHTS" in message
    assert info.value.missing is False and path.read_bytes().endswith(b"X")
    assert server.requests == ["/f"]


def test_a_wrong_sized_file_is_set_aside_and_downloaded_again(server, tmp_path, small_spec):
    small_spec()
    (tmp_path / "ddcolor_paper_tiny.pth").write_bytes(b"half a download")
    path = resolve(tmp_path, server.add("/f", Route(body=BODY)))
    assert path.read_bytes() == BODY
    assert (tmp_path / "ddcolor_paper_tiny.pth.corrupt").read_bytes() == b"half a download"


def test_redownload_after_deletion_must_match_the_pin(server, tmp_path, small_spec):
    small_spec()
    first = server.add("/a", Route(body=BODY))
    path = resolve(tmp_path, first)
    path.unlink()
    other = server.add("/b", Route(body=BODY[::-1]))  # same size, other file
    with pytest.raises(w.WeightsMissingError, match="pinned") as info:
        resolve(tmp_path, other)
    assert not path.exists() and info.value.missing is True
    assert resolve(tmp_path, first).read_bytes() == BODY


def test_hand_placed_file_is_size_checked_and_pinned_on_first_use(tmp_path, small_spec):
    small_spec()
    (tmp_path / "ddcolor_paper_tiny.pth").write_bytes(BODY)
    assert resolve(tmp_path, download=False) == tmp_path / "ddcolor_paper_tiny.pth"
    assert pin(tmp_path / "ddcolor_paper_tiny.pth")["sha256"] == DIGEST


def test_download_disabled_and_env_var(tmp_path, monkeypatch, small_spec):
    small_spec()
    with pytest.raises(w.WeightsMissingError, match="download=False") as info:
        resolve(tmp_path, download=False)
    assert info.value.missing is True
    own = tmp_path / "mine.pth"
    own.write_bytes(b"anything")
    monkeypatch.setenv("RESTORE_DDCOLOR_WEIGHTS", str(own))
    assert resolve(tmp_path / "cache", kind="ddcolor") == own
    monkeypatch.setenv("RESTORE_DDCOLOR_WEIGHTS", str(tmp_path / "absent.pth"))
    with pytest.raises(w.WeightsPathError, match="RESTORE_DDCOLOR_WEIGHTS") as info:
        resolve(tmp_path / "cache", kind="ddcolor")
    assert info.value.missing is True


def test_status_lists_the_pinned_kinds(server, tmp_path, small_spec):
    small_spec()
    resolve(tmp_path, server.add("/f", Route(body=BODY)))
    rows = {row["kind"]: row for row in w.weights_status(tmp_path)}
    assert (rows[KIND]["present"], rows[KIND]["verified"], rows[KIND]["sha256"]) == (True, True, DIGEST)
    assert (rows["ddcolor"]["present"], rows["ddcolor"]["sha256"]) == (False, None)
    assert rows["ddcolor"]["reported_sha256"] == pw.PINNED_WEIGHTS["ddcolor"].reported_sha256
    (tmp_path / "ddcolor_paper_tiny.pth").write_bytes(BODY[::-1])
    rows = {row["kind"]: row for row in w.weights_status(tmp_path)}
    assert rows[KIND]["verified"] is False and "pinned" in rows[KIND]["problem"]
    json.dumps(list(rows.values()))


def test_cli_weights_knows_the_ddcolor_kinds(tmp_path, monkeypatch, capsys):
    from restore_dagster.cli import main

    monkeypatch.setenv("RESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RESTORE_GALLERY", raising=False)
    assert main(["weights", "--kind", "ddcolor-artistic", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ddcolor-artistic: Model weights ddcolor_artistic.pth (DDColor large (artistic)) are not")
    assert "RESTORE_DDCOLOR_ARTISTIC_WEIGHTS" in err and "huggingface.co/piddnad/DDColor-models" in err
