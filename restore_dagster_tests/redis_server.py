"""A throwaway Redis server for the Celery tests: Debian's ``redis-server``, listening only on a Unix
socket in a temporary directory (no port is taken on the machine), nothing saved to disk, stopped at
the end.

Without the binary the tests that need it skip, unless ``RESTORE_CELERY_TESTS=required`` (as
``make test`` sets after installing it): then they fail.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRED = os.environ.get("RESTORE_CELERY_TESTS", "") == "required"


def unavailable(why: str):
    if REQUIRED:
        pytest.fail(f"RESTORE_CELERY_TESTS=required but {why}", pytrace=False)
    pytest.skip(why)


def _answers_ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def running_server():
    """Yields the socket's path; Celery URLs for it are ``redis+socket://<path>?virtual_host=N``."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if binary is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    # Directly under /tmp: a Unix socket's path must stay under 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="restore-redis-"))
    sock, log = root / "redis.sock", root / "server.log"
    server = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700", "--save", "",
         "--appendonly", "no", "--dir", str(root), "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers_ping(sock):
            if server.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace") if log.exists() else ""
                pytest.fail(f"redis-server did not start (exit {server.poll()}):\n{text}", pytrace=False)
            time.sleep(0.05)
        yield sock
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def url(sock: Path, database: int) -> str:
    return f"redis+socket://{sock}?virtual_host={database}"
