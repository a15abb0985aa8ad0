"""Scratch and LaMa checkpoints: one member of an official zip, downloaded, extracted and pinned.

The real archives are GBs and unreachable here, so each test builds a small zip shaped like the
official one and serves it from a real HTTP server on 127.0.0.1 (the specs' URLs are replaced).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from restore_dagster.models import archive_weights as aw
from restore_dagster.models import weights as w
from restore_dagster_tests.models.download_fixtures import no_user_weights_env, server  # noqa: F401 (fixtures)
from restore_dagster_tests.models.local_http import LocalHTTPServer, Route

CHECKPOINT = bytes(range(256)) * 5000 + b"model"  # several download chunks
SCRATCH = aw.ARCHIVE_WEIGHTS["scratch"]


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(zipfile.ZipInfo(name), body)  # ZipInfo keeps hostile names as given
    return buffer.getvalue()


def official_like(body: bytes = CHECKPOINT) -> bytes:
    return make_zip({"checkpoints/detection/FT_Epoch_latest.pt": body,
                     "checkpoints/mapping_quality/latest_net_G.pth": b"other model",
                     "checkpoints/detection/readme.txt": b"x"})


def resolve(cache: Path, *urls: str, kind: str = "scratch", **kw) -> Path:
    return w.resolve_weights(kind, cache_dir=cache, urls=urls, progress=False, timeout=5, **kw)


def test_official_specs_name_the_readme_urls_and_members():
    assert SCRATCH.urls == (
        "https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life/releases/download/v1.0/global_checkpoints.zip",
        "https://facevc.blob.core.windows.net/zhanbo/old_photo/pretrain/Global/checkpoints.zip",
    )
    assert SCRATCH.member.endswith("detection/FT_Epoch_latest.pt") and SCRATCH.env_var == "RESTORE_SCRATCH_WEIGHTS"
    lama = aw.ARCHIVE_WEIGHTS["lama"]
    assert lama.urls == ("https://huggingface.co/smartywu/big-lama/resolve/main/big-lama.zip",)
    assert lama.member == "big-lama/models/best.ckpt" and lama.env_var == "RESTORE_LAMA_WEIGHTS"


def test_download_extracts_only_the_member_and_pins_it(server, tmp_path):
    url = server.add("/global_checkpoints.zip", Route(body=official_like()))
    path = resolve(tmp_path, url)
    assert path == tmp_path / "FT_Epoch_latest.pt" and path.read_bytes() == CHECKPOINT
    pin = json.loads((tmp_path / "FT_Epoch_latest.pt.pin.json").read_text())
    assert (pin["size"], pin["sha256"], pin["source"]) == (len(CHECKPOINT), hashlib.sha256(CHECKPOINT).hexdigest(), url)
    # Only the member and its records: no archive, no temp file, no other member.
    assert sorted(os.listdir(tmp_path)) == ["FT_Epoch_latest.pt", "FT_Epoch_latest.pt.pin.json",
                                            "FT_Epoch_latest.pt.sha256"]
    # Re-verified against the pin, without downloading again.
    assert resolve(tmp_path, url) == path and server.requests == ["/global_checkpoints.zip"]


def test_lama_member_and_first_mirror_failing(server, tmp_path):
    dead = server.add("/gone.zip", Route(status=404))
    good = server.add("/big-lama.zip", Route(body=make_zip({"big-lama/config.yaml": b"a: 1",
                                                              "big-lama/models/best.ckpt": CHECKPOINT})))
    path = resolve(tmp_path, dead, good, kind="lama")
    assert path.read_bytes() == CHECKPOINT and path.name == "best.ckpt"


def test_member_accepted_by_suffix_under_another_top_folder(server, tmp_path):
    url = server.add("/z", Route(body=make_zip({"Global/checkpoints/detection/FT_Epoch_latest.pt": CHECKPOINT})))
    assert resolve(tmp_path, url).read_bytes() == CHECKPOINT


def test_changed_file_is_refused_with_how_to_fix(server, tmp_path):
    url = server.add("/z", Route(body=official_like()))
    path = resolve(tmp_path, url)
    path.write_bytes(CHECKPOINT[:-1] + b"X")  # same size, other bytes
    with pytest.raises(w.WeightsChecksumError) as info:
        resolve(tmp_path, url)
    message = str(info.value)
    assert str(path) in message and "pinned" in message and "RESTORE_SCRATCH_WEIGHTS" in message
    assert "delete" in message and info.value.missing is False
    assert path.read_bytes().endswith(b"X")  # the user's file is never deleted or moved
    path.write_bytes(b"short")
    with pytest.raises(w.WeightsChecksumError, match="size 5 bytes, pinned"):
        resolve(tmp_path, url)
    assert server.requests == ["/z"]  # never re-downloaded over a changed file


def test_redownload_after_deletion_must_match_the_pin(server, tmp_path):
    first = server.add("/a", Route(body=official_like()))
    path = resolve(tmp_path, first)
    path.unlink()
    other = server.add("/b", Route(body=official_like(b"a different checkpoint")))
    with pytest.raises(w.WeightsMissingError, match="pinned") as info:
        resolve(tmp_path, other)
    assert not path.exists() and info.value.missing is True
    assert resolve(tmp_path, first).read_bytes() == CHECKPOINT


def test_hand_placed_file_is_pinned_on_first_use(tmp_path):
    (tmp_path / "FT_Epoch_latest.pt").write_bytes(CHECKPOINT)
    assert resolve(tmp_path, download=False) == tmp_path / "FT_Epoch_latest.pt"
    pin = json.loads((tmp_path / "FT_Epoch_latest.pt.pin.json").read_text())
    assert pin["sha256"] == hashlib.sha256(CHECKPOINT).hexdigest()


def test_archive_without_the_member(server, tmp_path):
    url = server.add("/z", Route(body=make_zip({"checkpoints/mapping_quality/latest_net_G.pth": b"x"})))
    with pytest.raises(w.WeightsMissingError) as info:
        resolve(tmp_path, url)
    assert "no member checkpoints/detection/FT_Epoch_latest.pt" in str(info.value)
    assert os.listdir(tmp_path) == []  # no archive or partial left behind


@pytest.mark.parametrize("hostile", ["../../detection/FT_Epoch_latest.pt", "/etc/detection/FT_Epoch_latest.pt",
                                     "a/../../detection/FT_Epoch_latest.pt", "..\\detection/FT_Epoch_latest.pt"])
def test_traversal_member_names_are_never_taken_or_written(server, tmp_path, hostile):
    cache = tmp_path / "cache" / "inner"
    url = server.add("/z", Route(body=make_zip({hostile: CHECKPOINT})))
    with pytest.raises(w.WeightsMissingError, match="no member"):
        resolve(cache, url)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == ["cache", "cache/inner"]


def test_hostile_member_beside_the_real_one_is_ignored(server, tmp_path):
    url = server.add("/z", Route(body=make_zip({"../checkpoints/detection/FT_Epoch_latest.pt": b"evil",
                                                "checkpoints/detection/FT_Epoch_latest.pt": CHECKPOINT})))
    assert resolve(tmp_path / "c", url).read_bytes() == CHECKPOINT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_size_limits_refuse_big_archives_and_members(server, tmp_path, monkeypatch):
    url = server.add("/z", Route(body=official_like()))
    small = aw.ArchiveWeights(**{**SCRATCH.__dict__, "max_member_bytes": 1000})
    monkeypatch.setitem(aw.ARCHIVE_WEIGHTS, "scratch", small)
    with pytest.raises(w.WeightsMissingError, match="over the 1,000 limit"):
        resolve(tmp_path, url)
    tiny = aw.ArchiveWeights(**{**SCRATCH.__dict__, "max_archive_bytes": 100})
    monkeypatch.setitem(aw.ARCHIVE_WEIGHTS, "scratch", tiny)
    with pytest.raises(w.WeightsMissingError, match="100 limit"):
        resolve(tmp_path, url)
    assert os.listdir(tmp_path) == []


def test_not_a_zip_and_cut_short(server, tmp_path):
    junk = server.add("/junk", Route(body=b"<html>not found</html>"))
    body = official_like()
    cut = server.add("/cut", Route(body=body, cut_after=len(body) // 2))
    with pytest.raises(w.WeightsMissingError) as info:
        resolve(tmp_path, junk, cut)
    message = str(info.value)
    assert "not a valid zip" in message and "connection closed after" in message
    assert os.listdir(tmp_path) == []


def test_server_down_says_how_to_fix(tmp_path):
    with LocalHTTPServer() as srv:
        url = srv.base_url + "/global_checkpoints.zip"
    with pytest.raises(w.WeightsMissingError) as info:  # the server is stopped: connection refused
        resolve(tmp_path, url)
    error = info.value
    message = str(error)
    assert error.missing is True and "cannot connect" in message and url in message
    assert str(tmp_path / "FT_Epoch_latest.pt") in message and "RESTORE_SCRATCH_WEIGHTS" in message
    assert "checkpoints/detection/FT_Epoch_latest.pt" in message and "global_checkpoints.zip" in message
    assert os.listdir(tmp_path) == []


def test_download_disabled_and_env_var(tmp_path, monkeypatch):
    with pytest.raises(w.WeightsMissingError, match="download=False"):
        resolve(tmp_path, download=False)
    own = tmp_path / "mine.ckpt"
    own.write_bytes(b"anything")
    monkeypatch.setenv("RESTORE_LAMA_WEIGHTS", str(own))
    assert resolve(tmp_path / "cache", kind="lama") == own
    monkeypatch.setenv("RESTORE_LAMA_WEIGHTS", str(tmp_path / "absent.ckpt"))
    with pytest.raises(w.WeightsPathError, match="RESTORE_LAMA_WEIGHTS") as info:
        resolve(tmp_path / "cache", kind="lama")
    assert info.value.missing is True


def test_status_and_lineage_cover_the_archive_kinds(server, tmp_path, monkeypatch):
    from restore_dagster.config import Layout
    from restore_dagster.lineage import weights_signatures

    monkeypatch.setenv("RESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RESTORE_GALLERY", raising=False)
    layout = Layout.from_env().ensure()
    before = weights_signatures(layout)
    assert before["scratch"] == "cache:missing" and before["lama"] == "cache:missing"
    url = server.add("/z", Route(body=official_like()))
    resolve(layout.weights, url)
    after = weights_signatures(layout)
    assert after["scratch"].startswith(f"cache:{len(CHECKPOINT)}:") and after["lama"] == "cache:missing"
    rows = {row["kind"]: row for row in w.weights_status(layout.weights)}
    assert (rows["scratch"]["present"], rows["scratch"]["verified"]) == (True, True)
    assert rows["scratch"]["sha256"] == hashlib.sha256(CHECKPOINT).hexdigest()
    assert (rows["lama"]["present"], rows["lama"]["sha256"]) == (False, None)
    (layout.weights / "FT_Epoch_latest.pt").write_bytes(b"tampered")
    rows = {row["kind"]: row for row in w.weights_status(layout.weights)}
    assert rows["scratch"]["verified"] is False and "pinned" in rows["scratch"]["problem"]
    json.dumps(list(rows.values()))


def test_cli_weights_lists_the_new_kinds(tmp_path, monkeypatch, capsys):
    from restore_dagster.cli import main

    monkeypatch.setenv("RESTORE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RESTORE_GALLERY", raising=False)
    assert main(["weights", "--kind", "scratch", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scratch: Model weights FT_Epoch_latest.pt are not available.")
    assert "global_checkpoints.zip" in err and "RESTORE_SCRATCH_WEIGHTS" in err
    own = tmp_path / "best.ckpt"
    own.write_bytes(b"x")
    monkeypatch.setenv("RESTORE_LAMA_WEIGHTS", str(own))
    assert main(["weights", "--kind", "lama"]) == 0
    assert capsys.readouterr().out == f"lama: ready at {own}\n"
