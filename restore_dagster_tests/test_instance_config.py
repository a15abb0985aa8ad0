"""$DAGSTER_HOME/dagster.yaml: the project's file follows RESTORE_POSTGRES_URL; the user's own is kept."""
import stat

import yaml

from restore_dagster.instance import TEMPLATE, prepare_dagster_home

EARLIER_TEMPLATE = TEMPLATE.read_text().split("\n", 2)[2]  # today's body without the ownership lines


def config_of(layout):
    return layout.dagster_home / "dagster.yaml"


def test_without_the_variable_the_instance_is_the_embedded_default(layout):
    prepare_dagster_home(layout)
    config = yaml.safe_load(config_of(layout).read_text())
    assert "storage" not in config and config["concurrency"]["pools"]["default_limit"] == 1


def test_the_variable_adds_postgres_storage_and_unsetting_it_removes_it(layout, monkeypatch):
    monkeypatch.setenv("RESTORE_POSTGRES_URL", "postgres://dagster:pw@db.example/photos")
    prepare_dagster_home(layout)
    path = config_of(layout)
    config = yaml.safe_load(path.read_text())
    assert config["storage"]["postgres"]["postgres_url"] == "postgresql+psycopg2://dagster:pw@db.example/photos"
    assert config["concurrency"]["pools"]["default_limit"] == 1  # the gpu pool still limited
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the password
    monkeypatch.delenv("RESTORE_POSTGRES_URL")
    prepare_dagster_home(layout)
    assert "storage" not in yaml.safe_load(path.read_text())


def test_a_users_own_config_is_never_rewritten(layout, monkeypatch, capsys):
    path = config_of(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    own = "# my cluster\nrun_launcher:\n  module: somewhere\n"
    path.write_text(own)
    monkeypatch.setenv("RESTORE_POSTGRES_URL", "postgresql://me@db/photos")
    prepare_dagster_home(layout)
    assert path.read_text() == own
    assert "is your own" in capsys.readouterr().out


def test_an_unedited_copy_of_an_earlier_template_is_brought_up_to_date(layout):
    path = config_of(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = "# The project's Dagster instance config, copied into $DAGSTER_HOME when it has none.\n" + EARLIER_TEMPLATE
    path.write_text(earlier)
    prepare_dagster_home(layout)
    assert path.read_text() == TEMPLATE.read_text()
    path.write_text(earlier + "run_coordinator: {}\n")  # an edited copy is the user's
    prepare_dagster_home(layout)
    assert path.read_text().endswith("run_coordinator: {}\n")


def test_an_unreachable_database_is_a_clear_error_without_the_password(layout, monkeypatch, capsys):
    import dagster_postgres.utils

    from restore_dagster.cli import main

    # dagster-postgres retries a refused connection with exponential back-off (seconds); not waited here.
    monkeypatch.setattr(dagster_postgres.utils, "calculate_delay", lambda **_: 0)
    monkeypatch.setenv("RESTORE_POSTGRES_URL", "postgresql://me:hunter2@%2Fno%2Fsuch%2Fdir/photos")
    assert main(["run"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: cannot open the Dagster instance's PostgreSQL database")
    assert "/no/such/dir" in error and "hunter2" not in error


def test_a_url_that_is_not_postgres_is_refused_before_anything_runs(layout, monkeypatch, capsys):
    from restore_dagster.cli import main

    monkeypatch.setenv("RESTORE_POSTGRES_URL", "mysql://me@db/photos")
    assert main(["run"]) == 2
    assert "must start with postgresql://" in capsys.readouterr().err
