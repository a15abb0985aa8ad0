# The README's two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000
export RESTORE_HOME ?= $(CURDIR)/restore_home
export DAGSTER_HOME ?= $(RESTORE_HOME)/dagster_home

.PHONY: install run test bench clean

# Re-install when the dependencies change; `pip install torch==2.13.0` resolves the CPU build here
# and the CUDA build of the same version on machines that have it.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/restore-photos seed-demo
	$(BIN)/python -m restore_dagster.instance
	@echo ""
	@echo "  Dagster UI (assets, partitions, runs): http://$(HOST):$(PORT)"
	@echo "  storage root: $(RESTORE_HOME)   gallery: $(RESTORE_HOME)/gallery"
	@echo ""
	$(BIN)/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_waifu2x.py
	$(BIN)/python bench/bench_deoldify.py
	$(BIN)/python bench/bench_sensor.py

clean:
	rm -rf $(VENV) build *.egg-info
