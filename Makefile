# citytwin — the two commands:
#   make up    set everything up and run the platform on the embedded defaults
#   make test  set everything up and run the whole suite (lint, types, tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.citytwin-installed
SCENARIO ?= thaibinh

.PHONY: up test lint typecheck pytest system venv clean help

help:
	@echo "make up    - install what is needed and run citytwin (embedded stack + $(SCENARIO) scenario)"
	@echo "make test  - install what is needed and run ruff, mypy and the test suite"

system:
	@scripts/ensure-system-packages.sh

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "citytwin needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(STAMP)

up: system venv
	$(BIN)/citytwin up --scenario $(SCENARIO)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

pytest: system venv
	$(BIN)/pytest

test: system venv lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
