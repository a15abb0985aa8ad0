"""``RESTORE_POSTGRES_URL`` (a libpq connection URL, as ``psql`` takes it) → the SQLAlchemy URL that
dagster-postgres hands to psycopg2.

The two grammars differ where users trip: libpq accepts ``postgres://`` (SQLAlchemy does not), a
Unix-socket directory as a percent-encoded host (``postgresql://me@%2Fvar%2Frun%2Fpostgresql/db``)
or as ``?host=/var/run/postgresql``, and no host at all (the default socket). Every part is parsed
here and rebuilt with SQLAlchemy's own URL builder, so quoting is never done by hand; what cannot be
expressed (several hosts for failover) is refused with the reason instead of half-working.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

ENV_VAR = "RESTORE_POSTGRES_URL"
_SCHEMES = ("postgresql", "postgres")


class PostgresUrlError(ValueError):
    """The URL is not one we can use; the message says why (it never repeats a password)."""


def _split_netloc(netloc: str) -> tuple[str | None, str | None, str, str]:
    """``user:password@host:port`` → its four parts, percent-decoded (host keeps its case: it may be a
    directory name)."""
    userinfo, at, hostport = netloc.rpartition("@")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user, password = unquote(name) or None, (unquote(secret) if colon else None)
    if "," in hostport:
        raise PostgresUrlError(f"{ENV_VAR} names several hosts; give one (a failover list is not supported)")
    if hostport.startswith("["):  # an IPv6 address: [::1]:5432
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    return user, password, unquote(host), port


def to_sqlalchemy_url(libpq_url: str) -> str:
    """The SQLAlchemy (psycopg2) URL for a libpq URL; raises :class:`PostgresUrlError` with the reason."""
    from sqlalchemy.engine import URL

    text = (libpq_url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in _SCHEMES:
        shown = text.split("://", 1)[0] if "://" in text else "no scheme"
        raise PostgresUrlError(f"{ENV_VAR} must start with postgresql:// (got {shown!r}), e.g. "
                               "postgresql://dagster@db.example:5432/dagster")
    user, password, host, port = _split_netloc(parts.netloc)
    query = dict(parse_qsl(parts.query, keep_blank_values=False))
    # Connection keywords may come as query parameters too; libpq lets them win over the URL's parts.
    host = query.pop("host", None) or host
    port = query.pop("port", None) or port
    user = query.pop("user", None) or user
    password = query.pop("password", None) or password
    database = query.pop("dbname", None) or unquote(parts.path.lstrip("/")) or None
    if port and not port.isdigit():
        raise PostgresUrlError(f"{ENV_VAR} has a port that is not a number: {port!r}")
    if host.startswith("/"):  # a socket directory: psycopg2 takes it as the `host` keyword
        query["host"], host = host, ""
        if port:
            query["port"], port = port, ""
    return URL.create(
        "postgresql+psycopg2",
        username=user,
        password=password,  # None: libpq then reads PGPASSWORD or ~/.pgpass, nothing lands in dagster.yaml
        host=host or None,
        port=int(port) if port else None,
        database=database,
        query=query,
    ).render_as_string(hide_password=False)
