"""The Celery app workers run: ``celery -A restore_dagster.celery_worker worker -Q gpu -c 1``.

dagster-celery's own ``dagster_celery.app`` reads its settings from a module its CLI writes under
``$DAGSTER_HOME``; this one takes them from the same environment as the coordinator
(``RESTORE_CELERY_BROKER`` and the settings in celery_steps.py), so both sides always agree on the
broker, the result backend and late acknowledgement. The task is dagster-celery's: it loads the job
from this package, opens the instance the coordinator names and runs the one step it was sent.
"""
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import restore_dagster.definitions  # noqa: F401  imported once here, before the pool processes fork
from restore_dagster.celery_steps import executor_config

_config = executor_config()
app = make_app(CeleryExecutor.for_cli(broker=_config["broker"], backend=_config["backend"],
                                      config_source=_config["config_source"]).app_args())
execute_plan = create_task(app)
