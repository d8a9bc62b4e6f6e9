#!/usr/bin/env bash
# `make up`: a local Kong in Docker, the `local` stack deployed to it with Pulumi, then the gateway verifier.
# Needs no Frontegg account: tools/local_stack.py stands in a throwaway signing key for the workspace.
set -euo pipefail
# shellcheck source=scripts/local-env.sh
source "$(dirname "$0")/local-env.sh"

check_prerequisites

echo "==> Starting Postgres, Kong migrations and Kong 3.9 (docker-compose.yml)"
"${COMPOSE[@]}" up -d --wait

echo "==> Writing the local stack's config (Pulumi.$STACK.yaml; private key in .local/)"
"$PY" -m tools.local_stack --issuer "$ISSUER" --key-file "$KEY_FILE"

echo "==> Deploying the stack '$STACK' (state: $PULUMI_BACKEND_URL)"
mkdir -p "$ROOT/.pulumi-state"
pulumi stack select --create "$STACK" --non-interactive
pulumi up --yes --stack "$STACK" --non-interactive

echo "==> Checking that $PROXY_URL$ROUTE_PATH admits only trusted tokens"
"$PY" -m tools.verify_gateway --proxy-url "$PROXY_URL" --path "$ROUTE_PATH" --private-key "$KEY_FILE" --issuer "$ISSUER"

echo
echo "Kong Admin API: $ADMIN_URL   proxy: $PROXY_URL$ROUTE_PATH   tear down with: make down"
