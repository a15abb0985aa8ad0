"""RESTORE_POSTGRES_URL in libpq's grammar → the SQLAlchemy URL dagster-postgres uses."""
import pytest
from sqlalchemy.engine import make_url

from restore_dagster.postgres_url import PostgresUrlError, to_sqlalchemy_url


def parsed(libpq: str):
    return make_url(to_sqlalchemy_url(libpq))


def test_a_tcp_url_keeps_every_part():
    url = parsed("postgresql://dagster:s3cr%40t%2Fx@db.example:6543/photos?sslmode=require")
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg2", "dagster", "s3cr@t/x", "db.example", 6543, "photos")
    assert dict(url.query) == {"sslmode": "require"}


def test_the_postgres_scheme_that_sqlalchemy_refuses_is_accepted():
    assert parsed("postgres://me@localhost/db").host == "localhost"


@pytest.mark.parametrize("libpq", [
    "postgresql://me@%2Fvar%2Frun%2FPostgreSQL:5433/db",
    "postgresql://me@/db?host=/var/run/PostgreSQL&port=5433",
    "postgresql:///db?host=%2Fvar%2Frun%2FPostgreSQL&port=5433&user=me",
])
def test_a_socket_directory_becomes_psycopgs_host_keyword(libpq):
    url = parsed(libpq)
    assert url.host is None and url.username == "me" and url.database == "db"
    assert dict(url.query) == {"host": "/var/run/PostgreSQL", "port": "5433"}  # the directory keeps its case


def test_ipv6_and_no_password():
    url = parsed("postgresql://me@[::1]:5432/db")
    assert (url.host, url.port, url.password) == ("::1", 5432, None)


@pytest.mark.parametrize("libpq, reason", [
    ("mysql://me@host/db", "must start with postgresql://"),
    ("db.example:5432", "must start with postgresql://"),
    ("", "must start with postgresql://"),
    ("postgresql://me@a:5432,b:5432/db", "several hosts"),
    ("postgresql://me@host:abc/db", "not a number"),
])
def test_unusable_urls_are_refused_with_the_reason(libpq, reason):
    with pytest.raises(PostgresUrlError, match=reason):
        to_sqlalchemy_url(libpq)


def test_the_password_is_never_in_an_error():
    with pytest.raises(PostgresUrlError) as caught:
        to_sqlalchemy_url("postgresql://me:hunter2@host:xx/db")
    assert "hunter2" not in str(caught.value)
