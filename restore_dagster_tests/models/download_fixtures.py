"""Fixtures the weights-download tests share: a local HTTP server, and no user weights in the environment."""
from __future__ import annotations

import pytest

from restore_dagster.models import weights as w
from restore_dagster_tests.models.local_http import LocalHTTPServer


@pytest.fixture
def server():
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_user_weights_env(monkeypatch):
    """The developer's own RESTORE_*_WEIGHTS must not turn a download test into an explicit-path one."""
    for var in w.WEIGHTS_ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
