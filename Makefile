# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
DB ?= llmledger.db

.PHONY: setup run demo test lint bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Record demo traces into ./$(DB) (once), then serve the UI and API on it. Ctrl-C stops.
run: setup
	$(BIN)/llmledger demo --if-empty --tracking-uri sqlite:///$(CURDIR)/$(DB)
	$(BIN)/llmledger costs --tracking-uri sqlite:///$(CURDIR)/$(DB) --days 8
	@echo "llmledger UI: http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/llmledger server --host $(HOST) --port $(PORT) --backend-store-uri sqlite:///$(CURDIR)/$(DB)

lint: setup
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	cd typescript && npm ci --ignore-scripts --no-audit --no-fund && npm test
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/run.py
