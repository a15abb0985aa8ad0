"""A throwaway PostgreSQL server for the tests: Debian's binaries, a fresh cluster in a temporary
directory, listening only on a Unix socket there (no port is taken on the machine), stopped at the end.

PostgreSQL refuses to run as root; as root (CI containers) the cluster is made and run as the
``postgres`` user Debian's package creates. Without the binaries the tests that need a server skip,
unless ``RESTORE_POSTGRES_TESTS=required`` (as ``make test`` sets after installing them): then they fail.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRED = os.environ.get("RESTORE_POSTGRES_TESTS", "") == "required"
PORT = 54329  # names the socket file only: nothing listens on TCP


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable(why: str):
    if REQUIRED:
        pytest.fail(f"RESTORE_POSTGRES_TESTS=required but {why}", pytrace=False)
    pytest.skip(why)


def _runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("running as root and there is no 'postgres' user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def running_server():
    """Yields the libpq URL of the new server's ``postgres`` database (superuser ``postgres``, trust
    authentication on the private socket directory)."""
    bin_dir = binaries()
    if bin_dir is None:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    as_user = _runner()
    # Directly under /tmp: pytest's own temporary tree is private to root, which the postgres user
    # cannot enter; the socket path must also stay under the 107-byte limit.
    root = Path(tempfile.mkdtemp(prefix="restore-pg-"))
    data = root / "data"
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    log = root / "server.log"
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        options = f"-c listen_addresses='' -c unix_socket_directories='{root}' -p {PORT} -c fsync=off"
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                        "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=90)
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}\n{server_log}", pytrace=False)
    try:
        yield f"postgresql://postgres@{str(root).replace('/', '%2F')}:{PORT}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server; returns its libpq URL (the server's URL, other database)."""
    import psycopg2

    from restore_dagster.postgres_url import to_sqlalchemy_url
    from sqlalchemy.engine import make_url

    url = make_url(to_sqlalchemy_url(server_url))
    connection = psycopg2.connect(dbname=url.database, user=url.username, **url.query)
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return server_url.rsplit("/", 1)[0] + "/" + name
