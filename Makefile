# The two commands a new user types: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= ./var
# Empty: one worker per core (the server's default).
WORKERS ?=

.PHONY: run test test-deps lint clean bench

# Serving needs the package alone; the tests and linters add the dev extras
# on top. Each stamp is remade when pyproject.toml changes.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev

# setup.py and the speedups' sources (.pyx, .pxd, C headers): pip install -e . (re)builds them.
$(SERVE_STAMP): pyproject.toml setup.py $(wildcard gramstack/speedups/*.pyx gramstack/speedups/*.pxd gramstack/speedups/*.h)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(SERVE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(SERVE_STAMP)
	$(BIN)/gramstack serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) $(if $(WORKERS),--workers $(WORKERS))

# The benchmark: seeds BENCH_DIR once (gramstack seed's defaults: 10,000 users,
# 100,000 posts), serves it with WORKERS workers, runs the mixed workload and a
# hello-world ceiling for BENCH_SECONDS each, and writes bench/results/<time>/.
BENCH_DIR ?= ./var/bench
BENCH_SECONDS ?= 20
bench: $(DEV_STAMP)
	test -f $(BENCH_DIR)/gramstack.db || $(BIN)/gramstack seed --data-dir $(BENCH_DIR)
	$(BIN)/gramstack bench --serve $(BENCH_DIR) --workers $(WORKERS) --seconds $(BENCH_SECONDS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check gramstack tests $(wildcard bench)
	$(BIN)/ruff format --check gramstack tests $(wildcard bench)
	$(BIN)/mypy

# System packages the suite runs for real: Chromium for the browser tests,
# PostgreSQL 15 server binaries for the leader/follower runs (the tests start
# their own throwaway clusters, so Debian's default cluster is not created).
PG_BINDIR ?= /usr/lib/postgresql/15/bin
test-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x $(PG_BINDIR)/initdb || { mkdir -p /etc/postgresql-common && \
		echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf && \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }
	@# wal2json: the logical decoding plugin the invalidation service reads.
	@test -f /usr/lib/postgresql/15/lib/wal2json.so || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-wal2json >/dev/null; }
	@# memcached >= 1.6.10 (meta commands) for the cache tests; they start their own.
	@command -v memcached >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached >/dev/null; }

test: $(DEV_STAMP) test-deps lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
