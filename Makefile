# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
HOST ?= 127.0.0.1
PORT ?= 5000
DB ?= llmledger.db

.PHONY: setup run demo test test-fast lint bench

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Everything the tests drive (make test): every extra, browser driver, linters.
$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) --upgrade pip
	$(PIP) -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

# Only what `make run` needs: the server, and the openai and anthropic clients that the
# demo's live traces go through (against the local fake providers).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[server,openai,anthropic]'
	touch $(RUN_STAMP)

setup: $(STAMP)

# Record demo traces into ./$(DB) (once), then serve the UI and API on it. Ctrl-C stops.
run: $(RUN_STAMP)
	$(BIN)/llmledger demo --if-empty --tracking-uri sqlite:///$(CURDIR)/$(DB)
	$(BIN)/llmledger costs --tracking-uri sqlite:///$(CURDIR)/$(DB) --days 8
	@echo "llmledger UI: http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/llmledger server --host $(HOST) --port $(PORT) --backend-store-uri sqlite:///$(CURDIR)/$(DB)

lint: setup
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd typescript && npm ci --ignore-scripts --no-audit --no-fund && npm test
	$(BIN)/python -m pytest -q

# The inner loop: everything but the slow tests (browser, packaging venvs, load tests).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python benchmarks/run.py
