# The README's two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000
WEB_PORT ?= 8000
# Debian's Chromium drives the web gallery's browser tests (Playwright never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export RESTORE_HOME ?= $(CURDIR)/restore_home
export DAGSTER_HOME ?= $(RESTORE_HOME)/dagster_home
# Dagster 1.13 recommends `dg dev`, but the dg CLI (dagster-dg-cli) lags dagster's releases, pins an
# exact dagster version and brings the Dagster+ CLI with it; `dagster dev` starts the same webserver
# and daemon. Its "use dg dev" notice is silenced, only that one (PYTHONWARNINGS matches its start).
DAGSTER_DEV = PYTHONWARNINGS='ignore:Function `dev_command` is superseded:FutureWarning' $(BIN)/dagster dev

.PHONY: install test-packages run test bench clean

# Re-install when the dependencies change; `pip install torch==2.13.0` resolves the CPU build here
# and the CUDA build of the same version on machines that have it.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $@

install: $(BIN)/.installed

# Commands are not echoed (@): the framed block with the URLs, the generated password (shown once)
# and how to stop is the last thing printed before Dagster's own logs.
run: install
	@$(BIN)/restore-photos seed-demo
	@$(BIN)/python -m restore_dagster.instance >/dev/null
	@password_note="$$($(BIN)/restore-photos password --if-unset)" || exit 1; \
	$(BIN)/python -m restore_dagster.banner --ui http://$(HOST):$(PORT) --web http://$(HOST):$(WEB_PORT) \
	  --home "$(RESTORE_HOME)" --password-note "$$password_note"; \
	$(BIN)/restore-photos serve --host $(HOST) --port $(WEB_PORT) & web=$$!; \
	trap 'kill $$web 2>/dev/null' EXIT INT TERM; \
	$(DAGSTER_DEV) -w workspace.yaml -h $(HOST) -p $(PORT)

# Debian packages the tests drive for real, installed when missing (needs apt-get; uses sudo when
# not root): Chromium and fonts for the browser tests' screenshots (emoji, Chinese); exiftool, an
# independent reader of the dates, captions and names written into restorations; PostgreSQL, whose
# server the instance tests start in a temporary directory (the package's own cluster is not used);
# Redis, the broker of the Celery tests, started likewise on a socket of their own.
TEST_PACKAGES := chromium fonts-noto-color-emoji fonts-wqy-microhei libimage-exiftool-perl postgresql redis-server
test-packages:
	@if ! dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(TEST_PACKAGES) for the tests"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "note: no apt-get here: install Chromium at $(CHROMIUM), PostgreSQL and redis-server to run the browser, Postgres and Celery tests (they are skipped)"; \
	  fi; \
	fi

# With Chromium, PostgreSQL or Redis present their tests must run: a broken set-up fails, never skips.
test: install test-packages
	RESTORE_BROWSER_TESTS=$$([ -x $(CHROMIUM) ] && echo required || echo optional) \
	RESTORE_POSTGRES_TESTS=$$(ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && echo required || echo optional) \
	RESTORE_CELERY_TESTS=$$(command -v redis-server >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && echo required || echo optional) \
	  $(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_waifu2x.py
	$(BIN)/python bench/bench_deoldify.py
	$(BIN)/python bench/bench_sensor.py
	$(BIN)/python bench/bench_viewer.py
	$(BIN)/python bench/bench_specks.py
	$(BIN)/python bench/bench_scratch.py
	$(BIN)/python bench/bench_lama.py
	$(BIN)/python bench/bench_tone.py
	$(BIN)/python bench/bench_print_detection.py

clean:
	rm -rf $(VENV) build *.egg-info
