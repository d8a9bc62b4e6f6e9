# Run `make help` for the targets. Everything runs inside ./venv, the virtualenv Pulumi.yaml names.
VENV ?= venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test lint typecheck pytest actionlint generate schema validate preview up down e2e bench clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(STAMP) ## Create ./venv with runtime and dev requirements

test: lint typecheck actionlint pytest ## Lint, type-check and run the tests (what CI runs)

lint: $(STAMP) ## ruff over the whole project
	$(VENV)/bin/ruff check .

typecheck: $(STAMP) ## mypy (strict) over every Python directory
	$(VENV)/bin/mypy components tools testkit tests benchmarks
	$(VENV)/bin/mypy policy  # apart: the pack imports its rules as a top-level module

pytest: $(STAMP) ## The test suite under Pulumi's mock runtime (no CLI, no Kong, no network)
	$(PY) -m pytest -q

actionlint: $(STAMP) ## Lint .github/workflows with actionlint
	bash scripts/actionlint.sh

generate: $(STAMP) ## Regenerate what is generated from one source: Pulumi.yaml, the config table, the pack's weakening table
	$(PY) -m tools.config_reference pulumi-yaml > Pulumi.yaml
	$(PY) -m tools.config_reference docs-table --write docs/configuration.md
	cp components/weakening.py policy/weakening.py

schema: $(STAMP) ## Print the package schema (JSON) exactly as the component provider serves it
	@$(PY) -m tools.schema

validate: $(STAMP) ## Check Pulumi.yaml + Pulumi.$(STACK).yaml as the program would, no CLI needed: make validate STACK=dev [OFFLINE=1]
	@test -n "$(STACK)" || { echo 'usage: make validate STACK=<name> [OFFLINE=1]' >&2; exit 2; }
	$(PY) -m tools.validate_stack $(STACK) $(if $(OFFLINE),--offline)

preview: $(STAMP) ## pulumi preview on the selected stack (names what is missing: the Pulumi CLI, a selected stack)
	@command -v pulumi >/dev/null || { printf '%s\n' 'Missing prerequisites:' '  - the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/' '  - then a selected stack: `pulumi login` (or set PULUMI_BACKEND_URL), then `pulumi stack select <name>`'; exit 1; } >&2
	@why=$$(pulumi stack --show-name --non-interactive 2>&1 >/dev/null) || { printf '%s\n' 'Missing prerequisites:' "  - a selected stack (pulumi: $$why)" '    `pulumi login` (or set PULUMI_BACKEND_URL), then `pulumi stack select <name>`; `pulumi stack ls` lists them'; exit 1; } >&2
	pulumi preview

up: $(STAMP) ## Local Kong in Docker + `pulumi up` on the local stack + the gateway verifier
	bash scripts/up.sh

down: ## Destroy the local stack and stop the containers
	bash scripts/down.sh

e2e: $(STAMP) ## End-to-end suite: the real engine against a live Kong (fails, naming what is missing)
	bash scripts/e2e.sh

bench: $(STAMP) ## Benchmark the components' cost as APIs grow (BENCH_ARGS="--write-doc docs/benchmarks.md" refreshes the doc)
	$(PY) benchmarks/component_cost.py $(BENCH_ARGS)

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
