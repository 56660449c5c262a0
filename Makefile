# Marsad: `make demo` sets everything up and serves the platform; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
DEMO_PROJECTS ?= 3000
DEMO_SEED ?= 1

.PHONY: demo setup install test test-sqlite test-pg stress lint format clean messages

$(BIN)/marsad: pyproject.toml connector/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Marsad needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet -e connector
	@touch $@

install: $(BIN)/marsad

setup: install
	$(BIN)/marsad migrate --noinput
	$(BIN)/marsad createcachetable
	$(BIN)/marsad territories_load
	$(BIN)/marsad reference_load

# The platform with its task worker and scheduler, and the simulated Al Omrane information system
# sending through marsad-connect every 30 seconds (scripts/demo.py); Ctrl+C stops everything.
demo: setup
	$(BIN)/marsad demo_data --projects $(DEMO_PROJECTS) --seed $(DEMO_SEED)
	$(BIN)/marsad indicators_rebuild
	$(BIN)/marsad alerts_evaluate
	$(BIN)/python scripts/demo.py --host $(HOST) --port $(PORT)

test: test-sqlite test-pg

test-sqlite: install
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest connector/tests -q

test-pg: install
	MARSAD_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python scripts/postgres_pass.py

# The heavy sizes of the reliability scenarios (concurrent submitters, crash and resume, fuzzing),
# on SQLite then PostgreSQL.
stress: install
	MARSAD_STRESS=1 MARSAD_FUZZ_EXAMPLES=300 $(BIN)/python -m pytest -m stress -p no:cacheprovider
	MARSAD_STRESS=1 MARSAD_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -m "stress and dbsensitive" -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/marsad makemigrations --check --dry-run
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

messages: install
	$(BIN)/python scripts/messages.py
