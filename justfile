# Task Tracker recipes. Each one delegates to the Makefile, which stays the one place that knows how.
# `just` comes with the dev dependencies (PyPI rust-just) into .venv: run `.venv/bin/just <recipe>`.

set shell := ["bash", "-euc"]

# list the recipes
default:
    @just --list

# install, build the dashboard and start everything on http://127.0.0.1:8000
run:
    make run

# install and run the whole test suite (pytest arguments pass through: just test -k chart)
test *pytest_args:
    make test PYTEST_ARGS="{{pytest_args}}"

# ruff, mypy, import-linter, dashboard type check
lint:
    make lint

# api + worker as separate auto-reloading processes on the local PostgreSQL and NATS
services-dev:
    make services-dev

# regenerate docs/configuration.md from Settings
docs:
    make docs

# fetch the pinned helm into .venv/bin (the chart tests need it)
helm:
    make helm

# render the chart with one of its values files (charts/tasktracker/ci/<name>-values.yaml)
template name="default":
    .venv/bin/helm template tasktracker charts/tasktracker -f charts/tasktracker/ci/{{name}}-values.yaml
