"""The project's on-disk Dagster instance under the storage root ($DAGSTER_HOME).

Its ``dagster.yaml`` is the project's template (the ``gpu`` pool, run limits, run monitoring) plus,
when ``RESTORE_POSTGRES_URL`` is set, PostgreSQL storage for runs, events, schedules and the pool's
slots. The file is the project's as long as it starts with the template's first line: it is then
rewritten whenever what it should say changes (the variable set, changed or unset). A file without
that line is the user's own and is never touched.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from restore_dagster.config import Layout
from restore_dagster.files import atomic_write_bytes
from restore_dagster.postgres_url import ENV_VAR, PostgresUrlError, to_sqlalchemy_url

TEMPLATE = Path(__file__).parent / "instance" / "dagster.yaml"

# Copies of earlier templates (plain copies, before the first line said who owns the file): still
# the project's, so they are brought up to date; an edited copy hashes differently and is kept.
_EARLIER_TEMPLATES = frozenset({
    "307c3cf93d17ec1b84204ee81515524e569ce29cc9a2abedd09580ba720eb3cb",
    "55cf25665fdb2a6a5a1c669609e98dbea7f5413cf914ba02207aa9e4d0bd91f4",
})


def instance_yaml(postgres_url: str | None) -> str:
    """What the project's dagster.yaml says for this environment."""
    text = TEMPLATE.read_text(encoding="utf-8")
    if not postgres_url:
        return text
    # JSON strings are YAML strings: the URL's characters need no hand quoting.
    return text + (
        f"# PostgreSQL from ${ENV_VAR}: runs, events, schedules, sensors' cursors and the gpu pool's slots.\n"
        "storage:\n"
        "  postgres:\n"
        f"    postgres_url: {json.dumps(to_sqlalchemy_url(postgres_url))}\n"
    )


def _is_projects(text: str) -> bool:
    first_line = TEMPLATE.read_text(encoding="utf-8").split("\n", 1)[0]
    return text.split("\n", 1)[0] == first_line or hashlib.sha256(text.encode()).hexdigest() in _EARLIER_TEMPLATES


def prepare_dagster_home(layout: Layout) -> Path:
    """Create ``DAGSTER_HOME`` and bring the project's dagster.yaml up to date (see the module's note)."""
    home = layout.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = instance_yaml(os.environ.get(ENV_VAR) or None)
    current = config.read_text(encoding="utf-8") if config.exists() else None
    if current is None or (current != wanted and _is_projects(current)):
        atomic_write_bytes(config, wanted.encode("utf-8"), private=True)  # may hold the URL's password
    elif current != wanted and os.environ.get(ENV_VAR):
        print(f"note: {config} is your own (its first line is not the project's), so {ENV_VAR} is not "
              "applied to it; add a `storage: postgres:` section there yourself")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


class InstanceUnavailable(RuntimeError):
    """The instance's database cannot be used; the message names it (never its password) and why."""


def get_instance(layout: Layout):
    import dagster as dg

    try:
        prepare_dagster_home(layout)
    except PostgresUrlError as exc:
        raise InstanceUnavailable(str(exc)) from None
    try:
        return dg.DagsterInstance.get()
    except Exception as exc:
        url = os.environ.get(ENV_VAR)
        if not url or type(exc).__module__.split(".")[0] not in ("dagster_postgres", "sqlalchemy", "psycopg2"):
            raise
        from sqlalchemy.engine import make_url

        where = make_url(to_sqlalchemy_url(url)).render_as_string(hide_password=True)
        cause = exc.__cause__ or exc
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise InstanceUnavailable(f"cannot open the Dagster instance's PostgreSQL database {where} "
                                  f"(from ${ENV_VAR}): {reason}") from exc


if __name__ == "__main__":  # `python -m restore_dagster.instance`: used by `make run`
    print(f"DAGSTER_HOME: {prepare_dagster_home(Layout.from_env().ensure())}")
