"""`restore-photos password` and `restore-photos serve`."""
from __future__ import annotations

import io
import socket
import subprocess
import sys
import time

import requests

from restore_dagster import cli
from restore_dagster.viewer.accounts import OwnerAccount
from restore_dagster.viewer.webstate import WebState


def _owner(layout):
    return OwnerAccount(layout.state, WebState(layout.state / "web.sqlite3"))


def test_password_from_stdin_is_hashed_and_checked(layout, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough secret\n"))
    assert cli.main(["password"]) == 0
    assert _owner(layout).check_password("a long enough secret")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["password"]) == 2
    assert "at least" in capsys.readouterr().err
    assert _owner(layout).check_password("a long enough secret")  # a refused change keeps the old one


def test_password_if_unset_generates_once(layout, capsys):
    assert cli.main(["password", "--if-unset"]) == 0
    generated = capsys.readouterr().out.split("owner password set to ")[1].split()[0]
    assert _owner(layout).check_password(generated)
    assert cli.main(["password", "--if-unset"]) == 0
    assert "already set" in capsys.readouterr().out
    assert _owner(layout).check_password(generated)


def test_serve_refuses_a_lychee_gallery(layout, monkeypatch, capsys):
    monkeypatch.setenv("RESTORE_GALLERY_KIND", "lychee")
    assert cli.main(["serve"]) == 2
    assert "folder gallery" in capsys.readouterr().err


def test_serve_answers_on_its_port(layout):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "restore_dagster.cli", "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.time() < deadline, server.stdout.read() if server.poll() is not None else "timeout"
                time.sleep(0.3)
        assert response.status_code == 200 and "password" in response.text
        assert requests.get(f"http://127.0.0.1:{port}/", headers={"Accept": "text/html"}, timeout=5, allow_redirects=False).status_code == 303
    finally:
        server.terminate()
        server.wait(timeout=20)
