# defwatch: `make run` runs the daemon, `make test` runs every check, `make demo` the offline demo.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test demo lint typecheck pytest bench clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres,scrapyd]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/defwatch run

demo: $(STAMP)
	$(BIN)/defwatch demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# The option tables of docs/sources.md and docs/alerts.md, from core/sources/ and core/channels/.
docs: $(STAMP)
	$(BIN)/python -m core.option_tables

bench: $(TEST_STAMP)
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
