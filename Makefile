# Run `make help` for the targets. Everything runs inside ./venv, the virtualenv Pulumi.yaml names.
VENV ?= venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test lint typecheck pytest pulumi-yaml preview clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(STAMP) ## Create ./venv with runtime and dev requirements

test: lint typecheck pytest ## Lint, type-check and run the tests (what CI runs)

lint: $(STAMP) ## ruff over the whole project
	$(VENV)/bin/ruff check .

typecheck: $(STAMP) ## mypy (strict) over components/
	$(VENV)/bin/mypy components

pytest: $(STAMP) ## The test suite under Pulumi's mock runtime (no CLI, no Kong, no network)
	$(PY) -m pytest -q

pulumi-yaml: $(STAMP) ## Regenerate Pulumi.yaml's config block from components/stack_config.py
	$(PY) -m components.stack_config > Pulumi.yaml

preview: $(STAMP) ## pulumi preview on the selected stack (needs the Pulumi CLI)
	pulumi preview

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
