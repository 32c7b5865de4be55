# OneRouter: `make dev` runs the gateway locally, `make test` runs everything CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test lint typecheck pytest template bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/onerouter dev

test: install lint typecheck pytest template

lint: install
	$(BIN)/ruff check shared tests bench functions
	$(BIN)/ruff format --check shared tests bench functions

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest -q

template: install
	scripts/check_template.sh

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .onerouter
