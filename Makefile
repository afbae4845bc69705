# Tendril — the two commands: `make dev` (run it) and `make test` (test it).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=

.PHONY: dev test install install-dev assets chromium spamassassin lint typecheck bench clean

dev: install assets ## set up everything and run web + worker + beat with a demo workspace
	@bash scripts/ensure_system_packages.sh spamassassin || echo "(the pre-send spam check will say it is unavailable)"
	$(PY) scripts/dev.py

test: install-dev assets chromium spamassassin ## install dev dependencies and run the whole suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	npm test --silent
	$(VENV)/bin/pytest $(PYTEST_ARGS)

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q -U pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

node_modules/.installed: package.json package-lock.json
	@# The lockfile is the one npm 11 writes (all platforms' optional binaries), so npm ci
	@# installs exactly it and set-up never changes a tracked file.
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/dist/.built: node_modules/.installed vite.config.js $(shell find frontend -type f)
	npm run --silent build
	touch $@

assets: static/dist/.built

chromium: ## the real browser for end-to-end tests (Debian's package)
	@bash scripts/ensure_system_packages.sh chromium

spamassassin: ## the pre-send checklist's spam score (Debian's package, its shipped rules)
	@bash scripts/ensure_system_packages.sh spamassassin

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the architecture's contracts (pyproject.toml, docs/architecture.md)

typecheck:
	$(VENV)/bin/mypy

bench: install-dev assets ## run every bench/ scenario (see docs/benchmarks.md)
	$(PY) -m bench all

clean:
	rm -rf $(VENV) node_modules static/dist .data
