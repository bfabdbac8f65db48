# Two commands set everything up on a fresh machine:
#   make serve   installs into .venv and starts the gateway on the embedded model (no keys, no config)
#   make test    installs into .venv (and the agent CLIs into .agents) and runs lint, types and all tests
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: serve test lint install agents demo

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/splitlane serve $(ARGS)

# A small session benchmark: the embedded engine against a simulated provider (a few minutes).
demo: $(STAMP)
	$(VENV)/bin/splitlane bench demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy

# PostgreSQL (loopback) and Chromium for the store and dashboard tests: installed and started by
# .ci/services when we are root; otherwise those tests say why they skip (and fail under CI=true).
test: lint agents
	@if [ -z "$$SPLITLANE_TEST_POSTGRES_URL" ] && [ "$$(id -u)" = 0 ]; then \
		url=$$(bash .ci/services) || { echo "make test: .ci/services failed" >&2; exit 1; }; \
	else url="$$SPLITLANE_TEST_POSTGRES_URL"; fi; \
	SPLITLANE_TEST_POSTGRES_URL="$$url" $(VENV)/bin/pytest $(PYTEST_ARGS)

# The real agent CLIs the end-to-end tests drive, at pinned versions (npm registry).
AGENTS := .agents
CODEX_VERSION := 0.169.0
CLAUDE_CODE_VERSION := 2.1.330

agents: $(AGENTS)/.installed

$(AGENTS)/.installed: Makefile
	mkdir -p $(AGENTS)
	npm install --prefix $(AGENTS) --no-audit --no-fund --loglevel=error \
		@openai/codex@$(CODEX_VERSION) @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	touch $@
