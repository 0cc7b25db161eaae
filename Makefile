# Make every contact count: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install run stop outbox test test-unit test-unit-future test-integration test-e2e test-contract lint typecheck check schemas bench load clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: $(STAMP) ## Run everything locally: Kafka, the three services, and the outbox of messages
	$(PY) -m infra.frontend install || echo "govuk-frontend not installed (no npm?): the pages will be unstyled"
	$(PY) -m infra.run

stop: $(STAMP) ## Stop the local Kafka broker (if `make run` was interrupted hard)
	$(PY) -m infra.kafka stop

outbox: $(STAMP) ## Show the messages a local run would have sent
	$(PY) -m services.feedback outbox

test: $(STAMP) ## Run every test: unit, integration (real Kafka + PostgreSQL), end-to-end, contract
	$(PY) -m infra.kafka fetch
	$(PY) -m infra.prism install
	$(PY) -m infra.frontend install
	$(PY) -m pytest -q -ra

test-unit: $(STAMP) ## Run the fast, pure tests only
	$(PY) -m pytest -q tests/unit

#: When test-unit-future runs: about 18 months ahead, at 23:40 UTC (00:40 or 23:40 in the UK, inside SMS
#: quiet hours, 21:00-08:00), so no unit test can lean on today's date or on the hour it runs at.
FUTURE ?= $(shell date -u -d '+18 months' '+%Y-%m-%d') 23:40:00

test-unit-future: $(STAMP) ## Run the unit tests with the clock moved ~18 months ahead, inside SMS quiet hours (faketime)
	@command -v faketime >/dev/null || { echo "faketime is missing: apt-get install faketime" >&2; exit 1; }
	TZ=UTC faketime -f '@$(FUTURE)' $(PY) -c "import datetime as d; assert str(d.datetime.now(d.UTC)) >= '$(FUTURE)', 'faketime did not move the clock'"
	TZ=UTC faketime -f '@$(FUTURE)' $(PY) -m pytest -q -p no:randomly tests/unit

test-integration: $(STAMP) ## Run the tests against a real broker and database
	$(PY) -m pytest -q tests/integration

test-e2e: $(STAMP) ## Run the services as processes, end to end
	$(PY) -m pytest -q tests/e2e

test-contract: $(STAMP) ## Check provider requests against the official API specs (Prism)
	$(PY) -m infra.prism install
	$(PY) -m pytest -q tests/contract

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .

typecheck: $(STAMP) ## mypy
	$(VENV)/bin/mypy schemas services infra tests bench

check: lint typecheck test ## Lint, type-check and test: what CI runs

schemas: $(STAMP) ## Export the JSON Schema of every topic's events to build/schemas
	$(PY) -m schemas.export build/schemas

bench: $(STAMP) ## Measure the pipeline (own broker on 39092): floor, router, feedback, intake, end to end, memory, scaling (BENCH_QUICK=1: ~2 min)
	$(PY) -m infra.kafka fetch
	mkdir -p build/bench
	$(PY) -m bench.routing --json build/bench/routing.json
	$(PY) -m bench.pipeline --json build/bench/results.json

load: $(STAMP) ## Reports through the HTTP intake at RATE a second for SECONDS: lost, duplicates, p99 to acknowledgement
	$(PY) -m infra.kafka fetch
	$(PY) -m tests.load --rate $(or $(RATE),20) --seconds $(or $(SECONDS),30)

clean: ## Remove the virtualenv and local state (broker data, SQLite store, outbox)
	-$(PY) -m infra.kafka stop
	rm -rf $(VENV) .local build
