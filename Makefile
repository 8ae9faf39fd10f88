# One set of commands for people and CI. Each target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit bench clean

run: $(VENV)/.run-installed  ## install, load a real example on SQLite, then serve the web app
	$(BIN)/flocon init
	$(BIN)/flocon quickstart
	$(BIN)/flocon run

test: $(VENV)/.dev-installed  ## lint, type-check and run the whole test suite
	bash scripts/test.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

bench: $(VENV)/.dev-installed  ## print the benchmark figures (see BENCHMARKS.md)
	bash scripts/bench.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
