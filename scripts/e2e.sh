#!/usr/bin/env bash
# `make e2e`: the end-to-end suite (tests/e2e) against the live Kong of docker-compose.yml; see docs/end-to-end.md.
# Where a prerequisite is missing it fails, naming each one and where to get it: a run that checked nothing must
# never look like a pass. Extra arguments go to pytest (e.g. `bash scripts/e2e.sh -s` to watch the engine's output).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-venv/bin/python}

# The one list of prerequisites is tests/e2e/environment.py; the suite's fixture refuses with the same list. It needs
# only the standard library, so it also runs (with python3) when ./venv does not exist yet, and says so.
checker=$PY
[[ -x "$checker" ]] || checker=python3
"$checker" -m tests.e2e.environment

# -v names each phase as it passes (a long run in CI). -x: the tests are phases of one stack's story, so after a
# failure the later ones would only repeat it; the fixture still destroys the stack.
exec "$PY" -m pytest -v -x -m e2e tests/e2e "$@"
