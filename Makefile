# Make every contact count: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

comma := ,

.PHONY: help install lock run stop outbox test test-py312 test-py313 test-unit test-unit-future test-integration test-e2e test-contract lint typecheck check schemas bench load clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

# Every Python dependency (runtime and dev) is pinned with its hashes in $(LOCK); `make lock` writes it
# with uv, itself pinned here and kept in its own virtualenv, apart from the project's.
LOCK := requirements.lock
UV_VERSION := 0.13.8
UV_VENV := .local/uv-$(UV_VERSION)
UV := $(UV_VENV)/bin/uv

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the locked dependencies (requirements.lock, hashes checked) and the project

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install -q uv==$(UV_VERSION)

lock: $(UV) ## Re-resolve requirements.lock from pyproject.toml, keeping pinned versions (UPGRADE=1: all to newest; UPGRADE="pkg ...": those)
	$(UV) pip compile --quiet pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" -o $(LOCK) \
	  $(if $(filter 1,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))

run: $(STAMP) ## Run everything locally: Kafka, the three services, and the outbox of messages
	$(PY) -m infra.frontend install || echo "govuk-frontend not installed (no npm?): the pages will be unstyled"
	$(PY) -m infra.run

stop: $(STAMP) ## Stop the local Kafka broker and OpenID provider (if `make run` was interrupted hard)
	$(PY) -m infra.kafka stop
	$(PY) -m infra.oidc stop

outbox: $(STAMP) ## Show the messages a local run would have sent
	$(PY) -m services.feedback outbox

test: $(STAMP) ## Run every test: unit, integration (real Kafka + PostgreSQL), end-to-end, contract
	$(PY) -m infra.kafka fetch
	$(PY) -m infra.prism install
	$(PY) -m infra.oidc install
	$(PY) -m infra.frontend install
	$(PY) -m pytest -q -ra

#: The other Pythons the project claims (pyproject's requires-python: 3.11 to 3.13); `make test` runs the
#: default one. Each in its own virtualenv, from the same lock (hashes checked).
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))

test-py312: ## Run every test again on Python 3.12, in its own virtualenv (.venv-3.12; PYTHON312= to point elsewhere)
	$(MAKE) VENV=.venv-3.12 PYTHON=$(PYTHON312) test

test-py313: ## Run every test again on Python 3.13, in its own virtualenv (.venv-3.13; PYTHON313= to point elsewhere)
	$(MAKE) VENV=.venv-3.13 PYTHON=$(PYTHON313) test

test-unit: $(STAMP) ## Run the fast, pure tests only (unit and the safety case)
	$(PY) -m pytest -q tests/unit tests/safety

#: When test-unit-future runs: about 18 months ahead, at 23:40 UTC (00:40 or 23:40 in the UK, inside SMS
#: quiet hours, 21:00-08:00), so no unit test can lean on today's date or on the hour it runs at.
FUTURE ?= $(shell date -u -d '+18 months' '+%Y-%m-%d') 23:40:00

test-unit-future: $(STAMP) ## Run the unit tests with the clock moved ~18 months ahead, inside SMS quiet hours (faketime)
	@command -v faketime >/dev/null || { echo "faketime is missing: apt-get install faketime" >&2; exit 1; }
	TZ=UTC faketime -f '@$(FUTURE)' $(PY) -c "import datetime as d; assert str(d.datetime.now(d.UTC)) >= '$(FUTURE)', 'faketime did not move the clock'"
	TZ=UTC faketime -f '@$(FUTURE)' $(PY) -m pytest -q -p no:randomly tests/unit tests/safety

test-integration: $(STAMP) ## Run the tests against a real broker and database
	$(PY) -m pytest -q tests/integration

test-e2e: $(STAMP) ## Run the services as processes, end to end
	$(PY) -m pytest -q tests/e2e

test-contract: $(STAMP) ## Check provider requests against the official API specs (Prism)
	$(PY) -m infra.prism install
	$(PY) -m pytest -q tests/contract

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .

typecheck: $(STAMP) ## mypy: the shipped packages, the tests, the benchmarks and their shared harness
	$(VENV)/bin/mypy schemas services infra harness tests bench

check: lint typecheck test ## Lint, type-check and test (CI also runs test-unit-future, test-py312 and test-py313)

schemas: $(STAMP) ## Export the JSON Schema of every topic's events to build/schemas
	$(PY) -m schemas.export build/schemas

bench: $(STAMP) ## Measure the pipeline (own broker on 39092) and the reads at 10k/100k/1M reports (READ_SIZES=...) (BENCH_QUICK=1: ~2 min)
	$(PY) -m infra.kafka fetch
	mkdir -p build/bench
	$(PY) -m bench.routing --json build/bench/routing.json
	$(PY) -m bench.pipeline --json build/bench/results.json
	$(PY) -m bench.reads --sizes $(or $(READ_SIZES),$(if $(BENCH_QUICK),10000$(comma)100000,10000$(comma)100000$(comma)1000000)) --json build/bench/reads.json

load: $(STAMP) ## Reports through the HTTP intake at RATE a second for SECONDS: lost, duplicates, p99 to acknowledgement
	$(PY) -m infra.kafka fetch
	$(PY) -m tests.load --rate $(or $(RATE),20) --seconds $(or $(SECONDS),30)

clean: ## Remove the virtualenv and local state (broker data, SQLite store, outbox)
	-$(PY) -m infra.kafka stop
	rm -rf $(VENV) .venv-3.13 .local build
