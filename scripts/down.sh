#!/usr/bin/env bash
# `make down`: destroy the `local` stack, then stop the containers and drop Kong's database.
set -euo pipefail
# shellcheck source=scripts/local-env.sh
source "$(dirname "$0")/local-env.sh"

check_prerequisites

if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  # Destroy talks to the Admin API, so Kong must be up (a no-op when it already is).
  echo "==> Destroying the stack '$STACK'"
  "${COMPOSE[@]}" up -d --wait
  pulumi destroy --yes --stack "$STACK" --non-interactive
else
  echo "==> No stack '$STACK' in $PULUMI_BACKEND_URL: nothing to destroy"
fi

echo "==> Stopping the containers and removing Kong's database volume"
"${COMPOSE[@]}" down --volumes
