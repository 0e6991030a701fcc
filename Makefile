# citebot: `make run` sets up, ingests seeds/ and starts the service; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-slow lint bench eval clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# --prune removes only documents under seeds/ whose files are gone (never documents ingested from elsewhere)
run: setup
	$(BIN)/citebot ingest seeds/ --prune --if-stale
	$(BIN)/citebot serve

test: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	$(BIN)/citebot bench

eval: setup
	$(BIN)/citebot eval

clean:
	rm -rf $(VENV) .citebot .pytest_cache
