# The two commands a new user types: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= ./var
WORKERS ?= 1

.PHONY: run test test-deps lint clean

$(BIN)/gramstack: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/gramstack
	$(BIN)/gramstack serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --workers $(WORKERS)

lint: $(BIN)/gramstack
	$(BIN)/ruff check gramstack tests $(wildcard bench)
	$(BIN)/ruff format --check gramstack tests $(wildcard bench)
	$(BIN)/mypy

# System packages the suite runs for real: Chromium for the browser tests.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(BIN)/gramstack test-deps lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
