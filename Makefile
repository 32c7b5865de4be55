# OneRouter: `make dev` runs the gateway locally, `make test` runs everything CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

DASHBOARD_STAMP := web/dist/.built
DASHBOARD_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	$(wildcard web/*.json web/*.ts web/index.html)

.PHONY: dev test lint typecheck pytest template bench install dashboard clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The dashboard: a static page built with Node.js 20+ (npm), served by `onerouter dev` at /.
$(DASHBOARD_STAMP): $(DASHBOARD_SOURCES)
	@command -v npm >/dev/null || { echo "The dashboard needs Node.js 20.19+ and npm on PATH."; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $@

dashboard: $(DASHBOARD_STAMP)

dev: install dashboard
	$(BIN)/onerouter dev

test: install lint typecheck pytest template

lint: install
	$(BIN)/ruff check shared tests bench functions
	$(BIN)/ruff format --check shared tests bench functions

typecheck: install
	$(BIN)/mypy

pytest: install dashboard
	$(BIN)/python -m pytest -q

template: install
	scripts/check_template.sh

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .onerouter web/dist web/node_modules
