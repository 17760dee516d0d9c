# Two commands: `make run` and `make test`. Everything else is here for those two.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup setup-test migrate demo lint format messages permissions bench-ingest bench-transactions bench-deliveries bench-reconciliation bench-extracts fuzz-api bench-dashboards clean help

help:
	@echo "make run    set up everything and start web + worker + beat on http://127.0.0.1:8000"
	@echo "make test   set up and run the whole suite (ruff, migrations check, unit, browser)"

$(VENV)/.run-installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.run-installed
	$(PIP) install --quiet -e '.[test]'
	@touch $@

setup: $(VENV)/.run-installed

setup-test: $(VENV)/.test-installed

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	$(PY) -m backoffice.run

test: setup-test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: setup
	$(PY) manage.py makemessages -l pt --ignore=.venv --ignore=var --ignore=staticfiles --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv

permissions: setup
	$(PY) manage.py permissions_matrix

# Inbound notifications acknowledged and stored per second by one web process (Granian, as
# shipped), PostgreSQL at 127.0.0.1:5432 (a throw-away database); first with the production
# broker (Redis at 127.0.0.1:6379), then with the embedded one. Extra options: BENCH_ARGS="…"
bench-ingest: setup
	$(PY) bench/ingest.py --broker redis $(BENCH_ARGS)
	$(PY) bench/ingest.py --broker sqlite $(BENCH_ARGS)

# Outbound webhook deliveries acknowledged per second by one worker process, against a local
# endpoint (own process) that decrypts and acknowledges; PostgreSQL at 127.0.0.1:5432 (a
# throw-away database). Extra options: BENCH_ARGS="--count 10000 --threads 16"
bench-deliveries: setup
	$(PY) bench/deliveries.py $(BENCH_ARGS)

# The transaction list (first page, page 1,000, filtered page, searches, tab counts, live poll)
# on 1,000,000 transactions in a throw-away PostgreSQL database at 127.0.0.1:5432: p50/p95 of
# the server time and the EXPLAIN ANALYZE of each query. Extra options: BENCH_ARGS="…"
bench-transactions: setup
	$(PY) bench/transactions.py $(BENCH_ARGS)

# Settlement file import and matching: 1,000,000 transactions and a 1,000,000-line file in a
# throw-away PostgreSQL database at 127.0.0.1:5432; lines/s end to end, peak RSS, re-import time,
# and the parser alone and a bare COPY as baselines. Extra options: BENCH_ARGS="--rows 100000"
bench-reconciliation: setup
	$(PY) bench/reconciliation.py $(BENCH_ARGS)

# Extracts of 1,000,000 transactions in a throw-away PostgreSQL database at 127.0.0.1:5432: the
# COPY baseline, then each format through the real task (rows/s, the worker's peak RSS), and the
# time the web side takes to accept the request. Extra options: BENCH_ARGS="--rows 100000 --keep"
bench-extracts: setup
	$(PY) bench/extracts.py $(BENCH_ARGS)

# The API against its own OpenAPI schema: schemathesis (`st run --checks all`) over every operation,
# on one live web process with two merchants, in a throw-away PostgreSQL database at
# 127.0.0.1:5432. Fails on any 5xx, undocumented answer, or input refused/accepted against the
# schema. Extra options: FUZZ_ARGS="--max-examples 20"
fuzz-api: setup-test
	$(PY) tools/api_fuzz.py $(FUZZ_ARGS)

# The dashboards (cockpit, history 30 days / 12 months / 2 years, metrics API) on 10,000,000
# transactions loaded with COPY into a throw-away PostgreSQL database at 127.0.0.1:5432: p50/p95
# of whole requests, beside the same aggregates by GROUP BY over the transactions, and notification
# processing with and without the rollup mark. Extra options: BENCH_ARGS="--rows 200000 --runs 10"
bench-dashboards: setup
	$(PY) bench/dashboards.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
