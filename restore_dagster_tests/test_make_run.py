"""`make run` as a newcomer sees it: the password in a framed block after the URLs, how to stop, no noise.

The recipe runs for real with stand-ins for the installed programs (no Dagster started): what it
prints and how it calls them is what this checks.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_NOTICE_FILTER = "ignore:Function `dev_command` is superseded:FutureWarning"


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


@pytest.fixture
def stub_bin(tmp_path) -> Path:
    stub = tmp_path / "bin"
    stub.mkdir()
    _stub(stub / "restore-photos", """
case "$1" in
  seed-demo) echo "demo album: 6 aged scan(s) written";;
  password) printf 'web gallery: owner password set to S3cret-Pa55\\n  (shown once; change it with `restore-photos password`)\\n';;
  serve) echo "web gallery: serving";;
esac
""")
    _stub(stub / "python", f"""
if [ "$1 $2" = "-m restore_dagster.instance" ]; then echo "DAGSTER_HOME: $DAGSTER_HOME"; exit 0; fi
exec {sys.executable} "$@"
""")
    _stub(stub / "dagster", 'echo "dagster $* PYTHONWARNINGS=$PYTHONWARNINGS"\n')
    (stub / ".installed").touch()
    os.utime(stub / ".installed", (2**31, 2**31))  # newer than pyproject.toml: no install
    return stub


def test_make_run_prints_the_password_in_a_framed_block_after_the_urls(stub_bin, tmp_path):
    env = dict(os.environ, RESTORE_HOME=str(tmp_path / "home"))
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run(["make", "--no-print-directory", "run", f"BIN={stub_bin}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert not [line for line in lines if str(stub_bin) in line]  # make's commands are not echoed

    top = next(i for i, line in enumerate(lines) if line.startswith("┌"))
    bottom = next(i for i, line in enumerate(lines) if line.startswith("└"))
    block = lines[top + 1:bottom]
    assert all(line.startswith("│") and line.endswith("│") for line in block)
    text = "\n".join(block)
    assert text.index("http://127.0.0.1:3000") < text.index("S3cret-Pa55")  # after the URLs
    assert "http://127.0.0.1:8000" in text and "Ctrl-C" in text
    assert len({len(line) for line in lines[top:bottom + 1]}) == 1  # a closed frame

    dev = next(line for line in lines if line.startswith("dagster dev"))
    assert lines.index(dev) > bottom  # Dagster's logs come after the block
    assert "-w workspace.yaml -h 127.0.0.1 -p 3000" in dev and f"PYTHONWARNINGS={DEV_NOTICE_FILTER}" in dev


def test_the_dev_notice_filter_silences_only_that_notice():
    code = (
        "import warnings\n"
        "from dagster_shared.utils.warnings import SupersessionWarning\n"
        "warnings.warn(SupersessionWarning('Function `dev_command` is superseded and its usage is discouraged. "
        "Use \\'dg dev\\' instead.'))\n"
        "warnings.warn(SupersessionWarning('Function `other_command` is superseded'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONWARNINGS=DEV_NOTICE_FILTER),
                            capture_output=True, text=True, timeout=60)
    assert "dev_command" not in result.stderr and "other_command" in result.stderr


@pytest.mark.parametrize("module", ["restore_dagster.definitions", "restore_dagster.runner", "restore_dagster.cli"])
def test_importing_the_project_prints_no_beta_or_preview_warning(module):
    result = subprocess.run([sys.executable, "-W", "default", "-c", f"import {module}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "BetaWarning" not in result.stderr and "PreviewWarning" not in result.stderr, result.stderr
