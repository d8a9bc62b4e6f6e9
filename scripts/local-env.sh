# Sourced by scripts/up.sh and scripts/down.sh: prerequisites and the settings of the local stack.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this file

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
PY=${PY:-$ROOT/venv/bin/python}
STACK=local
COMPOSE=(docker compose --file "$ROOT/docker-compose.yml")

# The local stack's state lives in this git-ignored directory, so no Pulumi account is needed.
export PULUMI_BACKEND_URL="file://$ROOT/.pulumi-state"
# Encrypts the stack's secrets (the credential's random secret) in that state. The local stack is throwaway, so a
# well-known default is fine; export your own PULUMI_CONFIG_PASSPHRASE before the first `make up` to use another.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-only-not-a-secret}"
export PULUMI_SKIP_UPDATE_CHECK=true

# Tokens of the local stack carry this issuer; tools/local_stack.py validates it as the program will.
ISSUER=${ISSUER:-http://localhost:9999}
KEY_FILE=$ROOT/.local/local-signing-key.pem
PROXY_URL=${PROXY_URL:-http://localhost:8000}
ADMIN_URL=${KONG_ADMIN_ADDR:-http://localhost:8001}
ROUTE_PATH=${ROUTE_PATH:-/test}  # tools/local_stack.py ROUTE_PATH

# Name every missing prerequisite with where to get it, then stop before touching anything.
check_prerequisites() {
  local missing=()
  if [[ ! -x "$PY" ]]; then
    missing+=("the project virtualenv ($PY): run \`make install\`")
  fi
  if ! command -v pulumi >/dev/null 2>&1; then
    missing+=("the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/ (no account needed)")
  fi
  if ! command -v docker >/dev/null 2>&1; then
    missing+=("Docker: https://docs.docker.com/engine/install/ (or Docker Desktop)")
  else
    if ! docker compose version >/dev/null 2>&1; then
      missing+=("the Docker Compose v2 plugin (\`docker compose\`): https://docs.docker.com/compose/install/")
    fi
    if ! docker info >/dev/null 2>&1; then
      missing+=("a reachable Docker engine: start Docker Desktop or the docker service (\`sudo systemctl start docker\`), or check DOCKER_HOST")
    fi
  fi
  if ((${#missing[@]})); then
    echo "Missing prerequisites:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}
